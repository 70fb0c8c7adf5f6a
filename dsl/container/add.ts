import { spawn } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BadInputError, CairnError } from '../core/errors.js';
import { download } from '../core/fetch.js';
import { InRoot } from '../layer/inroot.js';
import { extractLayer } from '../layer/extract.js';
import { copyInto, type CopyOptions } from './copy.js';

/*
 * `add`, as buildah's and Docker's ADD: a URL is fetched into the container (mode 0600, as Docker), a local tar
 * archive (plain, gzip, bzip2, xz or zstd, told by its first bytes) is unpacked into the destination directory,
 * anything else is copied as `copy` copies it. Archives are unpacked by the layer extractor, so nothing in one
 * can reach outside the destination; their '.wh.' names are plain files here.
 */

/** The compression of a tar archive by its first bytes ('tar' for a plain one), or undefined for any other file. */
export function archiveKind(head: Buffer): 'tar' | 'gzip' | 'bzip2' | 'xz' | 'zstd' | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

/** The first 512 bytes of a regular file ([] for anything else). */
async function headOf(file: string): Promise<Buffer> {
  const st = await fsp.stat(file);
  if (!st.isFile()) return Buffer.alloc(0);
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(512);
    const { bytesRead } = await fh.read(b, 0, 512, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The uncompressed tar of an archive file: zlib for gzip, the host's bzip2, xz or zstd for the others. */
function tarStream(file: string, kind: NonNullable<ReturnType<typeof archiveKind>>): Readable {
  const raw = createReadStream(file);
  if (kind === 'tar') return raw;
  if (kind === 'gzip') {
    const gz = createGunzip();
    raw.on('error', (e) => gz.destroy(e));
    return raw.pipe(gz);
  }
  const out = new PassThrough();
  const child = spawn(kind, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d));
  child.on('error', (e: NodeJS.ErrnoException) => {
    out.destroy(e.code === 'ENOENT' ? new BadInputError(`cannot unpack ${file}: ${kind} is not installed`, { hint: `install ${kind}, or give a gzip or plain tar` }) : e);
  });
  child.on('close', (code) => {
    if (code !== 0 && code !== null) out.destroy(new BadInputError(`cannot unpack ${file}: ${kind} says ${err.trim().split('\n')[0] || `exit ${code}`}`));
  });
  raw.on('error', (e) => out.destroy(e));
  raw.pipe(child.stdin).on('error', () => undefined);
  child.stdout.pipe(out);
  return out;
}

/** The file name a URL's content gets in the container: its path's last component (index.html for none). */
export function urlFileName(url: string): string {
  const name = path.posix.basename(new URL(url).pathname);
  return name && name !== '/' ? decodeURIComponent(name) : 'index.html';
}

/** Options of addInto: copy's, and where a download waits. */
export interface AddOptions extends CopyOptions {
  /** A directory on the store's filesystem for downloads. */
  tmpDir: string;
}

/** Adds sources to the container tree at root (see the top of this file); returns the sources as history names them. */
export async function addInto(root: string, sources: string[], dest: string, o: AddOptions): Promise<void> {
  const ctrDest = path.posix.resolve(o.workdir ?? '/', dest);
  for (const src of sources) {
    if (/^https?:\/\//.test(src)) {
      const dir = await fsp.mkdtemp(path.join(o.tmpDir, 'add-'));
      try {
        const file = path.join(dir, urlFileName(src));
        await download(src, file);
        await copyInto(root, [file], sources.length > 1 && !dest.endsWith('/') ? dest + '/' : dest, { ...o, mode: o.mode ?? 0o600 });
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
      continue;
    }
    const local = path.resolve(o.sourceRoot ?? process.cwd(), src);
    const kind = o.contained ? undefined : archiveKind(await headOf(local).catch(() => Buffer.alloc(0)));
    if (!kind) {
      await copyInto(root, [src], sources.length > 1 && !dest.endsWith('/') ? dest + '/' : dest, o);
      continue;
    }
    if (o.owner || o.mode !== undefined) {
      throw new BadInputError(`${src} is an archive: it is unpacked with its own owners and modes`, { hint: 'leave out --chown and --chmod, or use copy to copy the archive file itself' });
    }
    const r = InRoot.open(root);
    let into: string;
    try {
      into = path.join(root, r.mkdirp(ctrDest).rel);
    } catch (err) {
      throw err instanceof CairnError ? err : new BadInputError(`cannot unpack ${src} into ${dest}: ${(err as Error).message}`);
    } finally {
      r.close();
    }
    await extractLayer(tarStream(local, kind), into, { whiteouts: 'none', devices: false });
  }
}
