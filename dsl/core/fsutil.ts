import { promises as fsp, readSync, type Stats } from 'node:fs';

/** lstat that answers undefined for a missing path (other errors are thrown). */
export async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Reads up to size bytes of an open file from its start (fewer when it is shorter), in one buffer. */
export function readFd(fd: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  let n = 0;
  while (n < buf.length) {
    const r = readSync(fd, buf, n, buf.length - n, n);
    if (r === 0) break;
    n += r;
  }
  return buf.subarray(0, n);
}
