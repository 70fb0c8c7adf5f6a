import { constants, createReadStream, promises as fsp } from 'node:fs';
import { isMissing, makeDirs } from '../core/fsutil.js';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { uniqueSuffix } from '../core/unique.js';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { checkDigest, digestHex } from '../oci/digest.js';
import { StorePaths } from './paths.js';
import { readDirOrEmpty } from '../core/atomic.js';
import { crashPoint } from '../core/crash.js';

/** How blobs are read whole: not through a symlink, and a FIFO never blocks. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A blob that has been written: its digest and size. */
export interface BlobInfo {
  digest: string;
  size: number;
}

/** The content-addressed blob store below a storage root. */
export class BlobStore {
  constructor(readonly paths: StorePaths) {}

  /** The file path of a blob (the digest is validated first). */
  path(digest: string): string {
    return this.paths.blob(digestHex(digest));
  }

  /** True when the blob is present. */
  async has(digest: string): Promise<boolean> {
    try {
      await fsp.access(this.path(digest));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** The size of a present blob. */
  async size(digest: string): Promise<number> {
    return (await fsp.stat(this.path(digest))).size;
  }

  /** A read stream of a present blob. */
  open(digest: string): Readable {
    const p = this.path(digest);
    const s = createReadStream(p, { highWaterMark: 1 << 20 });
    s.on('error', () => undefined);
    return s;
  }

  /** Reads a whole (small) blob: a regular file, opened without following a symlink. */
  async read(digest: string): Promise<Buffer> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.path(digest), READ_FLAGS);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`blob ${digest} is missing from the store`, { hint: 'pull the image again' });
      throw err;
    }
    try {
      if (!(await fh.stat()).isFile()) throw new BadInputError(`blob ${digest} in the store is not a regular file`, { hint: 'run `cairn check --repair`' });
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  /** A temp file path inside the store, on the blobs' filesystem. */
  async tempPath(): Promise<string> {
    await makeDirs(this.paths.tmp);
    return path.join(this.paths.tmp, `blob-${uniqueSuffix()}`);
  }

  /** Moves a fully written temp file into place under digest (skipped when already present). */
  async commitTemp(tmp: string, digest: string): Promise<void> {
    const dst = this.path(digest);
    await makeDirs(path.dirname(dst));
    if (await this.has(digest)) {
      await fsp.rm(tmp, { force: true });
      return;
    }
    crashPoint('store.blob.before-rename');
    await fsp.rename(tmp, dst);
  }

  /**
   * Streams src into the store. When expected is given the content must hash to it (and have
   * expectedSize, if given), else nothing is stored and BadInputError is thrown.
   */
  async put(src: Readable | Buffer | string, expected?: string, expectedSize?: number): Promise<BlobInfo> {
    if (expected) {
      checkDigest(expected);
      if (await this.has(expected)) {
        if (!(typeof src === 'string' || Buffer.isBuffer(src))) src.destroy();
        return { digest: expected, size: await this.size(expected) };
      }
    }
    const tmp = await this.tempPath();
    // Streams and hashing are loaded on first use: a verb that only reads the store never pays for them.
    const [{ HashCounter }, { Readable }, { pipeline }, { fileSink }] = await Promise.all([import('./hash.js'), import('node:stream'), import('node:stream/promises'), import('../core/file-sink.js')]);
    const hc = new HashCounter();
    try {
      const input = typeof src === 'string' || Buffer.isBuffer(src) ? Readable.from([Buffer.from(src)]) : src;
      await pipeline(input, hc, fileSink(tmp));
      const digest = hc.digest();
      if (expected && digest !== expected) {
        throw new BadInputError(`blob digest mismatch: expected ${expected}, got ${digest}`, { hint: 'the source is corrupt or was tampered with' });
      }
      if (expectedSize !== undefined && hc.size !== expectedSize) {
        throw new BadInputError(`blob ${digest} has ${hc.size} bytes, the descriptor says ${expectedSize}`, { hint: 'the source is corrupt or truncated' });
      }
      await this.commitTemp(tmp, digest);
      return { digest, size: hc.size };
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
  }

  /** Writes a JSON value as a blob, returning its descriptor fields. */
  async putJson(value: unknown): Promise<BlobInfo & { bytes: Buffer }> {
    const bytes = Buffer.from(JSON.stringify(value));
    const info = await this.put(bytes);
    return { ...info, bytes };
  }

  /** Digests of all blobs present (an unreadable blobs directory throws: a listing never fails open). */
  async list(): Promise<string[]> {
    return (await readDirOrEmpty(this.paths.blobs)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => 'sha256:' + n);
  }

  /** Removes a blob. */
  async remove(digest: string): Promise<void> {
    await fsp.rm(this.path(digest), { force: true });
  }
}
