import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resolveIn } from './sysroot.js';

/** The directories of /etc/ld.so.conf under root, following `include` globs; a missing file is no directories. */
export async function ldSoConf(root: string): Promise<string[]> {
  const dirs: string[] = [];
  const seen = new Set<string>();
  const visit = async (file: string): Promise<void> => {
    if (seen.has(file)) return;
    seen.add(file);
    const real = await resolveIn(root, file);
    const text = real ? await fs.readFile(real, 'utf8').catch(() => '') : '';
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line || line.startsWith('hwcap ')) continue;
      const inc = /^include\s+(.*)$/.exec(line);
      if (!inc) {
        const d = path.posix.normalize(line).replace(/(.)\/$/, '$1');
        if (d.startsWith('/') && !dirs.includes(d)) dirs.push(d);
        continue;
      }
      for (const pat of inc[1].split(/\s+/)) {
        for (const f of await glob(root, path.posix.resolve(path.posix.dirname(file), pat))) await visit(f);
      }
    }
  };
  await visit('/etc/ld.so.conf');
  return dirs;
}

/** Expands `*`, `?` and `[...]` in an absolute in-root pattern, sorted like glob(3). */
async function glob(root: string, pattern: string): Promise<string[]> {
  let acc = ['/'];
  for (const part of pattern.split('/').filter(Boolean)) {
    if (!/[*?[]/.test(part)) { acc = acc.map((a) => path.posix.join(a, part)); continue; }
    const src = part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.').replace(/\[!/g, '[^');
    const re = (() => { try { return new RegExp(`^${src}$`); } catch { return /$^/; } })();
    const next: string[] = [];
    for (const a of acc) {
      const real = await resolveIn(root, a);
      const names = real ? await fs.readdir(real).catch(() => [] as string[]) : [];
      for (const n of names.sort()) if (!n.startsWith('.') && re.test(n)) next.push(path.posix.join(a, n));
    }
    acc = next;
  }
  return acc;
}
