import { constants, promises as fsp } from 'node:fs';
import { BadInputError, NotFoundError } from './errors.js';

/*
 * Opening files an image source names (layout blobs, index.json) without trusting them: no symlink is
 * followed as the last component (O_NOFOLLOW), a FIFO does not block the open (O_NONBLOCK) and is then
 * refused with anything else that is not a regular file (fstat after open, so what is checked is what is
 * read), and nothing is read past the size the caller expects.
 */

/** The largest JSON document (index, manifest, config, docker manifest.json) cairn reads, as containers/image's limit for manifests. */
export const JSON_LIMIT = 4 << 20;

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** How to open: `nofollow` refuses a symlink as the last component; `within` is the directory the file must really be in. */
export interface OpenRegularOptions {
  nofollow?: boolean;
  within?: string;
}

function kindOf(st: { isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean; isDirectory(): boolean }): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/**
 * Opens file for reading as a regular file; `what` names it in errors ("manifest sha256:…"). Missing →
 * NotFoundError; a symlink (with nofollow), a FIFO, a device, a directory, or a file reached outside
 * `within` → BadInputError.
 */
export async function openRegular(file: string, what: string, o: OpenRegularOptions = {}): Promise<fsp.FileHandle> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, FLAGS | (o.nofollow ? constants.O_NOFOLLOW : 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${what} is missing (${file})`, { hint: 'the image is incomplete; copy it again' });
    if (code === 'ELOOP' && o.nofollow) throw new BadInputError(`${what} is a symbolic link (${file})`, { hint: 'an image\'s files are regular files: the image is hostile or damaged' });
    throw err;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new BadInputError(`${what} is ${kindOf(st)}, not a regular file (${file})`, { hint: 'an image\'s files are regular files: the image is hostile or damaged' });
    if (o.within) {
      // What was opened, whatever the path went through (a parent swapped for a symlink after it was checked).
      // Never skipped: a check that cannot be made refuses, rather than passes (readlink's own error is thrown).
      const real = await fsp.readlink(`/proc/self/fd/${fh.fd}`);
      if (!real.startsWith(o.within + '/')) throw new BadInputError(`${what} is reached through a symbolic link, outside ${o.within} (${file})`, { hint: 'the image is hostile or damaged' });
    }
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Reads exactly n bytes from the start of an open file: BadInputError naming `what` when it is shorter. */
export async function readExactly(fh: fsp.FileHandle, n: number, what: string): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, got);
    if (bytesRead === 0) throw new BadInputError(`${what} has ${got} bytes, fewer than the ${n} expected`, { hint: 'the image is truncated or corrupt' });
    got += bytesRead;
  }
  return buf;
}

/**
 * Reads a small file whole (index.json, a docker manifest.json): a regular file of at most `limit`
 * bytes, read to at most that (a file that grows while it is read cannot make cairn read more).
 */
export async function readSmallFile(file: string, what: string, limit = JSON_LIMIT, o: OpenRegularOptions = {}): Promise<Buffer> {
  const fh = await openRegular(file, what, o);
  try {
    const { size } = await fh.stat();
    if (size > limit) throw new BadInputError(`${what} is ${size} bytes, more than cairn accepts (${limit})`, { hint: 'the image is corrupt or hostile' });
    return await readExactly(fh, size, what);
  } finally {
    await fh.close();
  }
}
