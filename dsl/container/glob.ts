import { promises as fsp } from 'node:fs';
import path from 'node:path';

const MAGIC = /[*?[]/;

function toRegex(part: string): RegExp {
  let re = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + part.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** True when p has glob characters. */
export function isGlob(p: string): boolean {
  return MAGIC.test(p);
}

/** Expands a glob pattern (`*`, `?`, `[…]` per path component; no `**`) relative to cwd; sorted matches. */
export async function glob(pattern: string, cwd: string): Promise<string[]> {
  const abs = path.resolve(cwd, pattern);
  const parts = abs.split('/').filter(Boolean);
  let bases = ['/'];
  for (const part of parts) {
    const next: string[] = [];
    for (const b of bases) {
      if (!MAGIC.test(part)) {
        const p = path.join(b, part);
        try {
          await fsp.lstat(p);
          next.push(p);
        } catch {
          /* no match */
        }
        continue;
      }
      const re = toRegex(part);
      let names: string[] = [];
      try {
        names = await fsp.readdir(b);
      } catch {
        /* not a dir */
      }
      for (const n of names.sort()) if (re.test(n) && (n[0] !== '.' || part[0] === '.')) next.push(path.join(b, n));
    }
    bases = next;
  }
  return bases;
}
