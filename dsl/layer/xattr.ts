import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CairnError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { runCommand, type CommandResult } from '../core/spawn.js';

let warnedMissing = false;

function missingTool(tool: string): void {
  if (warnedMissing) return;
  warnedMissing = true;
  warn(`${tool} not found (package attr): extended attributes are neither read nor written`);
}

/** Runs a command to completion, or returns undefined when it is not installed. */
async function run(cmd: string, args: string[]): Promise<CommandResult | undefined> {
  return runCommand(cmd, args).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
}

/** Undoes getfattr's quoting: a backslash and three octal digits stand for one byte. */
function unquote(s: Buffer): Buffer {
  if (!s.includes(0x5c)) return s;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === 0x5c && i + 3 < s.length && /^[0-7]{3}$/.test(s.subarray(i + 1, i + 4).toString('latin1'))) {
      out.push(parseInt(s.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else out.push(s[i]);
  }
  return Buffer.from(out);
}

/** Quotes what setfattr --restore would misread: backslash, newline, carriage return and (in names) '='. */
function quote(s: Buffer, extra: number[] = []): Buffer {
  const special = [0x5c, 0x0a, 0x0d, ...extra];
  if (!s.some((b) => special.includes(b))) return s;
  const parts: Buffer[] = [];
  for (const b of s) {
    parts.push(special.includes(b) ? Buffer.from('\\' + b.toString(8).padStart(3, '0'), 'latin1') : Buffer.of(b));
  }
  return Buffer.concat(parts);
}

function decodeValue(v: string): Buffer {
  if (v.startsWith('0s')) return Buffer.from(v.slice(2), 'base64');
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex');
  if (v.startsWith('"') && v.endsWith('"')) return Buffer.from(v.slice(1, -1));
  return Buffer.from(v);
}

/** Reads the extended attributes of every object below dir (only dir's own when not recursive; symlinks not followed), keyed by relative path ('' is dir). */
export async function readXattrs(dir: string, recursive = true): Promise<Map<string, Record<string, Buffer>>> {
  const root = path.resolve(dir);
  const result = new Map<string, Record<string, Buffer>>();
  const r = await run('getfattr', [...(recursive ? ['-R'] : []), '-P', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', '--', root]);
  if (!r) {
    missingTool('getfattr');
    return result;
  }
  if (r.code !== 0 && r.stderr.trim()) warn(`reading extended attributes below ${root}: ${r.stderr.trim().split('\n')[0]}`);
  const rootBytes = Buffer.from(root);
  let current: Record<string, Buffer> | undefined;
  let start = 0;
  const out = r.stdout;
  while (start < out.length) {
    let end = out.indexOf(0x0a, start);
    if (end < 0) end = out.length;
    const line = out.subarray(start, end);
    start = end + 1;
    if (line.length === 0) {
      current = undefined;
      continue;
    }
    if (line.subarray(0, 8).toString('latin1') === '# file: ') {
      const p = unquote(line.subarray(8));
      if (!p.subarray(0, rootBytes.length).equals(rootBytes)) {
        current = undefined;
        continue;
      }
      const rel = p.subarray(rootBytes.length).toString().replace(/^\/+/, '');
      current = {};
      result.set(rel, current);
      continue;
    }
    if (!current) continue;
    const eq = line.indexOf(0x3d);
    const name = unquote(eq < 0 ? line : line.subarray(0, eq)).toString();
    current[name] = eq < 0 ? Buffer.alloc(0) : decodeValue(line.subarray(eq + 1).toString('latin1'));
  }
  for (const [k, v] of result) if (Object.keys(v).length === 0) result.delete(k);
  return result;
}

/** Sets extended attributes on host paths (never following a final symlink) with one setfattr process. */
export async function writeXattrs(items: { path: string; name: string; value: Buffer }[]): Promise<void> {
  if (items.length === 0) return;
  const parts: Buffer[] = [];
  let last: string | undefined;
  for (const it of items) {
    if (it.path !== last) {
      if (last !== undefined) parts.push(Buffer.from('\n'));
      parts.push(Buffer.from('# file: '), quote(Buffer.from(path.resolve(it.path))), Buffer.from('\n'));
      last = it.path;
    }
    parts.push(quote(Buffer.from(it.name), [0x3d]), Buffer.from('=0s' + it.value.toString('base64') + '\n'));
  }
  parts.push(Buffer.from('\n'));
  const file = path.join(os.tmpdir(), `cairn-xattrs-${process.pid}-${randomBytes(6).toString('hex')}`);
  await fsp.writeFile(file, Buffer.concat(parts), { mode: 0o600 });
  try {
    const r = await run('setfattr', ['-h', `--restore=${file}`]);
    if (!r) return missingTool('setfattr');
    if (r.code !== 0) {
      throw new CairnError(`setting extended attributes failed: ${r.stderr.trim().split('\n').slice(0, 3).join('; ')}`, {
        hint: 'the file system may not support these attributes (user.* needs xattr support; trusted.* needs root)',
      });
    }
  } finally {
    await fsp.rm(file, { force: true });
  }
}
