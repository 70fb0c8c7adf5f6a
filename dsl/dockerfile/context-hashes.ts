import { createHash } from 'node:crypto';
import { createReadStream, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { readJson, writeJsonAtomic } from '../core/atomic.js';
import { makeDirs } from '../core/fsutil.js';

/*
 * The digests of a build context's files, remembered by their stat, so a rebuild reads only what changed (as the
 * exec cache finds a file again): STORE/cache/dockerfile-context/NAME.json per context directory, each file's
 * device, inode, size, mtime and ctime (nanoseconds) with the sha256 of its bytes. A file whose stamp differs is
 * read again; ctime cannot be set back, so content written with the old size and mtime put back is still seen.
 * A file changed less than RACY_NS before it was looked at is not remembered: a write in the same clock tick
 * after the look would leave its times as they were (git's "racily clean" entries).
 */

/** How recent (ns) a change may be for its file's digest not to be remembered: more than a clock tick or the coarsest file times (FAT's 2 s). */
const RACY_NS = 2_000_000_000n;

interface Entry {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  sha256: string;
}

interface CacheFile {
  dir: string;
  files: Record<string, Entry>;
}

/** The remembered digests of one context directory; `digest` reads a file only when its stamp changed. */
export class ContextHashes {
  private files: Record<string, Entry> | undefined;
  private changed = false;

  /** @param file the cache file; @param dir the context's real path; @param now the clock (ns), for tests. */
  constructor(private readonly file: string, private readonly dir: string, private readonly now: () => bigint = () => BigInt(Date.now()) * 1_000_000n) {}

  /** The hex sha256 of the regular file abs (context-relative rel), lstat'ed as st (bigint). */
  async digest(rel: string, abs: string, st: BigIntStats): Promise<string> {
    const files = await this.load();
    const stamp = { dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
    const known = files[rel];
    if (known && known.dev === stamp.dev && known.ino === stamp.ino && known.size === stamp.size && known.mtimeNs === stamp.mtimeNs && known.ctimeNs === stamp.ctimeNs) return known.sha256;
    const h = createHash('sha256');
    for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
    const sha256 = h.digest('hex');
    const newest = st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs;
    if (this.now() - newest > RACY_NS) {
      files[rel] = { ...stamp, sha256 };
      this.changed = true;
    } else if (known) {
      delete files[rel];
      this.changed = true;
    }
    return sha256;
  }

  /** Writes the cache file when digests were added (atomically; a concurrent build's write may win, which is only a miss later). */
  async save(): Promise<void> {
    if (!this.changed || !this.files) return;
    await makeDirs(path.dirname(this.file));
    await writeJsonAtomic(this.file, { dir: this.dir, files: this.files } satisfies CacheFile);
    this.changed = false;
  }

  private async load(): Promise<Record<string, Entry>> {
    if (this.files) return this.files;
    const f = await readJson<CacheFile>(this.file).catch(() => undefined);
    this.files = f && f.dir === this.dir && f.files && typeof f.files === 'object' ? f.files : {};
    return this.files;
  }
}

/** The remembered digests of context directory dir (a real path) in the store at root. */
export function contextHashes(root: string, dir: string): ContextHashes {
  const name = createHash('sha256').update(dir).digest('hex').slice(0, 32);
  return new ContextHashes(path.join(root, 'cache', 'dockerfile-context', `${name}.json`), dir);
}
