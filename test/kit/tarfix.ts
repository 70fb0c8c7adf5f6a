import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';

/** One entry of a hand-made tar; the name is written exactly as given (so fixtures can be malicious). */
export interface FixEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
}

/** Builds an uncompressed tar from entries with tar-stream, names untouched. */
export async function tarOf(entries: FixEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const out = collect(pack as unknown as Readable);
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    await new Promise<void>((resolve, reject) => {
      const h = { name: e.name, type, mode: (e.mode ?? (type === 'directory' ? 0o755 : 0o644)) | 0o100000, uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date((e.mtime ?? 1_600_000_000) * 1000), linkname: e.linkname };
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (body) pack.entry(h, body, cb);
      else pack.entry(h, cb);
    });
  }
  pack.finalize();
  return out;
}

/** Reads a whole stream into a buffer. */
export async function collect(s: Readable | AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s as AsyncIterable<Buffer>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** Rewrites the size field (and checksum) of the header of entry `name` in a tar. */
export function withLyingSize(tar: Buffer, name: string, size: number): Buffer {
  const buf = Buffer.from(tar);
  for (let off = 0; off + 512 <= buf.length; off += 512) {
    const n = buf.toString('latin1', off, off + 100).replace(/\0.*$/s, '');
    if (n !== name) continue;
    buf.write(size.toString(8).padStart(11, '0') + '\0', off + 124, 'latin1');
    buf.fill(0x20, off + 148, off + 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += buf[off + i];
    buf.write(sum.toString(8).padStart(6, '0') + '\0 ', off + 148, 'latin1');
    return buf;
  }
  throw new Error(`no entry ${name} in tar`);
}

/** A fresh temp dir and its remover. */
export function tmpDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `cairn-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs a shell command (fixtures only). */
export function sh(cmd: string, cwd?: string): string {
  return execFileSync('sh', ['-ec', cmd], { cwd, encoding: 'utf8' });
}

/** One object of a tree as tests compare it (hardlinks shown as the first name of their inode). */
export interface TreeItem {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  mtime: number;
  content?: string;
  linkname?: string;
  rdev?: number;
  hardlinkOf?: string;
  xattrs?: Record<string, string>;
}

function readAllXattrs(dir: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  const text = execFileSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', dir], { encoding: 'latin1' });
  let cur: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = {};
      out.set(path.relative(dir, line.slice(8)), cur);
    } else if (cur && line.includes('=')) {
      const [k, v] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
      if (!k.includes('.overlay.')) cur[k] = v;
    }
  }
  return out;
}

/** Every object below dir with its metadata, content hash and xattrs, sorted; the tree's mtimes included unless told not to. */
export function treeState(dir: string, opts: { mtimes?: boolean; dirMtimes?: boolean } = {}): TreeItem[] {
  const xattrs = readAllXattrs(dir);
  const items: TreeItem[] = [];
  const inodes = new Map<number, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = lstatSync(abs);
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : 'other';
      const it: TreeItem = { path: r, type, mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      if (opts.mtimes === false || (type === 'dir' && opts.dirMtimes === false)) it.mtime = 0;
      if (type === 'file') it.content = createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16);
      if (type === 'symlink') it.linkname = readlinkSync(abs);
      if (type === 'char') it.rdev = st.rdev;
      if (type === 'file' && st.nlink > 1) {
        const first = inodes.get(st.ino);
        if (first) it.hardlinkOf = first;
        else inodes.set(st.ino, r);
      }
      const xa = xattrs.get(r);
      if (xa && Object.keys(xa).length) it.xattrs = xa;
      items.push(it);
      if (type === 'dir') walk(r);
    }
  };
  walk('');
  return items;
}

/** sha256 of a host file, for checking the host was not touched. */
export function fileHash(p: string): string {
  return createHash('sha256').update(readFileSync(p)).digest('hex');
}

/** Mounts an overlay (read-only when upper is omitted). */
export function mountOverlay(o: { lowers: string[]; upper?: string; work?: string; merged: string; userxattr?: boolean }): void {
  const opts = [`lowerdir=${o.lowers.join(':')}`];
  if (o.upper) opts.push(`upperdir=${o.upper}`, `workdir=${o.work}`);
  if (o.userxattr) opts.push('userxattr');
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', opts.join(','), o.merged]);
}

/** Unmounts a mount point. */
export function umount(dir: string): void {
  execFileSync('umount', [dir]);
}

/** True for real root (initial user namespace): trusted.* xattrs and device nodes work only there. */
export const realRoot = process.getuid?.() === 0 && readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295';
