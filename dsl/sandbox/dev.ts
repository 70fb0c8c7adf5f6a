import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** The host devices bound into a minimal /dev (never the host's whole devtmpfs). */
export const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * Makes a /dev skeleton at dev: empty files to bind the DEVICES onto, pts, shm and mqueue directories, and the
 * usual links (fd, stdin, stdout, stderr, core, ptmx).
 */
export async function devSkeleton(dev: string): Promise<void> {
  await fsp.mkdir(dev, { mode: 0o755 });
  await Promise.all([
    ...DEVICES.map((n) => fsp.writeFile(path.join(dev, n), '', { mode: 0o666 })),
    fsp.mkdir(path.join(dev, 'pts')),
    fsp.mkdir(path.join(dev, 'shm')),
    fsp.mkdir(path.join(dev, 'mqueue')),
    fsp.symlink('/proc/self/fd', path.join(dev, 'fd')),
    fsp.symlink('/proc/self/fd/0', path.join(dev, 'stdin')),
    fsp.symlink('/proc/self/fd/1', path.join(dev, 'stdout')),
    fsp.symlink('/proc/self/fd/2', path.join(dev, 'stderr')),
    fsp.symlink('/proc/kcore', path.join(dev, 'core')),
    fsp.symlink('pts/ptmx', path.join(dev, 'ptmx')),
  ]);
  // mkdir's mode is masked by the umask; shm must be world-writable and sticky.
  await fsp.chmod(path.join(dev, 'shm'), 0o1777);
}
