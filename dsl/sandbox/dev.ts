import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The host devices bound into a minimal /dev (never the host's whole devtmpfs). */
export const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * Makes a /dev skeleton at dev: empty files to bind the DEVICES onto, pts, shm and mqueue directories, and the
 * usual links (fd, stdin, stdout, stderr, core, ptmx). Synchronous: sixteen small calls, each cheaper than a trip
 * through the thread pool (this is on every run step's path).
 */
export function devSkeleton(dev: string): void {
  mkdirSync(dev, { mode: 0o755 });
  for (const n of DEVICES) writeFileSync(path.join(dev, n), '', { mode: 0o666 });
  for (const d of ['pts', 'shm', 'mqueue']) mkdirSync(path.join(dev, d));
  for (const [target, name] of [['/proc/self/fd', 'fd'], ['/proc/self/fd/0', 'stdin'], ['/proc/self/fd/1', 'stdout'], ['/proc/self/fd/2', 'stderr'], ['/proc/kcore', 'core'], ['pts/ptmx', 'ptmx']]) {
    symlinkSync(target, path.join(dev, name));
  }
  // mkdir's mode is masked by the umask; shm must be world-writable and sticky.
  chmodSync(path.join(dev, 'shm'), 0o1777);
}
