import zlib from 'node:zlib';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BadInputError, CairnError } from '../errors.js';
import { MediaType } from '../image/types.js';

/** A layer compression cairn knows. */
export type Compression = 'gzip' | 'zstd' | 'none';

type ZstdZlib = typeof zlib & { createZstdCompress?: (o?: object) => Transform; createZstdDecompress?: () => Transform };
const z = zlib as ZstdZlib;

/** True when this Node's zlib has zstd. */
export function hasZstd(): boolean {
  return typeof z.createZstdCompress === 'function';
}

function noZstd(): CairnError {
  return new CairnError(`zstd layers need a Node.js whose zlib has zstd (22.15 or later); this is ${process.version}`, {
    hint: 'use gzip layers (the default) or run cairn on a newer Node.js',
  });
}

/** A compressing transform for kind (gzip is deterministic: no name, mtime 0). */
export function compressor(kind: Compression): Transform {
  if (kind === 'gzip') return zlib.createGzip({ level: 6 });
  if (kind === 'zstd') {
    if (!z.createZstdCompress) throw noZstd();
    return z.createZstdCompress();
  }
  return new PassThrough();
}

/** The OCI layer media type for a compression. */
export function layerMediaType(kind: Compression): string {
  return kind === 'gzip' ? MediaType.layerGzip : kind === 'zstd' ? MediaType.layerZstd : MediaType.layerTar;
}

/** The compression a layer media type declares (undefined when it does not say). */
export function compressionOfMediaType(mt: string): Compression | undefined {
  if (mt.endsWith('+gzip') || mt.endsWith('.tar.gzip')) return 'gzip';
  if (mt.endsWith('+zstd')) return 'zstd';
  if (mt.endsWith('.tar') || mt === MediaType.dockerLayerTar) return 'none';
  return undefined;
}

/** The compression found from the first bytes of a stream. */
export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Returns the decompressed stream of src, detecting gzip, zstd or plain tar from its magic bytes. */
export function decompress(src: Readable): Readable {
  const out = new PassThrough();
  (async () => {
    const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let head = Buffer.alloc(0);
    while (head.length < 4) {
      const r = await it.next();
      if (r.done) break;
      head = Buffer.concat([head, r.value]);
    }
    const kind = sniffCompression(head);
    let dec: Transform;
    if (kind === 'gzip') dec = zlib.createGunzip();
    else if (kind === 'zstd') {
      if (!z.createZstdDecompress) throw noZstd();
      dec = z.createZstdDecompress();
    } else dec = new PassThrough();
    const rest = Readable.from((async function* () {
      if (head.length) yield head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    })());
    // out stays outside the pipeline: pipeline would destroy it with the raw zlib error before it is mapped below.
    const forward = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (out.write(chunk)) return cb();
        const done = (): void => { out.off('drain', done); out.off('close', done); cb(out.destroyed ? new Error('output closed') : null); };
        out.on('drain', done);
        out.on('close', done);
      },
      final(cb) {
        out.end();
        cb();
      },
    });
    try {
      await pipeline(rest, dec, forward);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code?.startsWith('Z_') || err.code === 'ERR_ZLIB_INITIALIZATION_FAILED' || /unexpected end|incorrect header|invalid/.test(err.message)) {
        throw new BadInputError(`corrupt ${kind} stream: ${err.message}`, { hint: 'the archive is truncated or damaged; fetch it again' });
      }
      throw err;
    }
  })().catch((e) => out.destroy(e));
  return out;
}
