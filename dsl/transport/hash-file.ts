import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { promises as fsp } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { decompress, layerMediaType, sniffCompression, type Compression } from '../layer/compress.js';
import { strictTarExtract } from '../layer/tar-read.js';
import { HashCounter, nullSink } from '../store/hash.js';
import { isFormatError } from '../oci/validate.js';

/** What a layer file is: its digest and size as stored, its compression and its diff ID. */
export interface LayerFileInfo {
  digest: string;
  size: number;
  compression: Compression;
  mediaType: string;
  diffID: string;
}

/** A sink that parses a tar stream and drops its contents: fails on anything that is not a tar. */
function tarChecker(): Writable {
  const ex = strictTarExtract();
  ex.on('entry', (_h, s, next) => {
    s.on('error', () => undefined); // the extract's own error says it (a stream cut or refused mid-entry)
    s.on('end', () => next());
    s.resume();
  });
  return ex as unknown as Writable;
}

/**
 * Hashes a layer file in one streaming pass: sha256 and size as stored, and (for compressed files)
 * the sha256 of the decompressed tar. With checkTar the decompressed bytes must also parse as a tar.
 */
export async function hashFile(file: string, opts: { checkTar?: boolean } = {}): Promise<LayerFileInfo> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${file} does not exist`, { hint: 'check the path' });
    throw err;
  }
  const head = Buffer.alloc(4);
  const { bytesRead } = await fh.read(head, 0, 4, 0);
  const compression = sniffCompression(head.subarray(0, bytesRead));
  const outer = new HashCounter();
  const inner = new HashCounter();
  const sink = opts.checkTar ? tarChecker() : nullSink();
  try {
    if (compression === 'none') {
      await pipeline(fh.createReadStream({ start: 0, highWaterMark: 1 << 20 }), outer, sink);
    } else {
      await pipeline(fh.createReadStream({ start: 0, highWaterMark: 1 << 20 }), outer, (src: AsyncIterable<Buffer>) => decompress(Readable.from(src)), inner, sink);
    }
  } catch (err) {
    if (!isFormatError(err)) throw err;
    throw new BadInputError(`${file} is not a tar archive: ${(err as Error).message}`, { cause: err, hint: 'give a .tar or .tar.gz of a root filesystem' });
  } finally {
    await fh.close().catch(() => undefined);
  }
  return layerInfo(outer.digest(), outer.size, compression, () => inner.digest());
}

/** A layer file's description from its digest and size as stored, its compression, and the digest of its tar when compressed. */
function layerInfo(digest: string, size: number, compression: Compression, innerDigest: () => string): LayerFileInfo {
  return { digest, size, compression, mediaType: layerMediaType(compression), diffID: compression === 'none' ? digest : innerDigest() };
}

/**
 * hashFile's answer from another pass over the file: a verification's (flat/trailer.ts verifyStream), whose
 * StreamWatch this is, so that a tarball is read once to judge and describe it. Gives nothing (call hashFile then)
 * unless it saw a whole plain or gzip file, whose uncompressed bytes parse as a tar when checkTar: whatever else
 * hashFile would say (an error, zstd) it says on its own pass.
 */
export class LayerFileWatch {
  private head = Buffer.alloc(0);
  private size = 0;
  private compression: Compression | undefined;
  private readonly inner = createHash('sha256');
  private readonly check = tarChecker();
  private readonly checked: Promise<boolean>;
  private failed = false;

  constructor() {
    this.checked = new Promise((resolve) => {
      this.check.on('error', () => {
        this.failed = true;
        resolve(false);
      });
      this.check.on('finish', () => resolve(true));
      this.check.on('close', () => resolve(false));
    });
  }

  /** The next raw bytes. */
  raw(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.head.length < 4) this.head = Buffer.concat([this.head, chunk.subarray(0, 4 - this.head.length)]);
  }

  /** The next uncompressed bytes: hashed (for a compressed file), and parsed as a tar (waits while the parser is behind). */
  async plain(chunk: Buffer): Promise<void> {
    this.compression ??= sniffCompression(this.head);
    if (this.compression !== 'none') this.inner.update(chunk);
    if (this.failed) return;
    if (!this.check.write(chunk)) await Promise.race([once(this.check, 'drain').catch(() => undefined), this.checked]);
  }

  /** What hashFile(file, { checkTar }) would give for the file whose raw bytes hash to digest (the verification's), or undefined. */
  async info(digest: string | undefined, checkTar: boolean): Promise<LayerFileInfo | undefined> {
    const compression = this.compression ?? sniffCompression(this.head);
    const usable = digest !== undefined && compression !== 'zstd' && !(checkTar && this.failed);
    if (!usable || !checkTar) this.check.destroy();
    else this.check.end();
    if (!usable || (checkTar && !(await this.checked))) return undefined;
    return layerInfo(digest, this.size, compression, () => 'sha256:' + this.inner.digest('hex'));
  }
}
