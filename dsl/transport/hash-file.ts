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
  const digest = outer.digest();
  return { digest, size: outer.size, compression, mediaType: layerMediaType(compression), diffID: compression === 'none' ? digest : inner.digest() };
}
