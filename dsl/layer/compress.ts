import zlib from 'node:zlib';
import { PassThrough, Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BadInputError, CairnError } from '../core/errors.js';
import { MediaType } from '../oci/media-types.js';

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

/**
 * A compressing transform for zstd or none. gzip is not made here: every gzip cairn writes is delta/'s chunked
 * gzip (delta/compress.ts), whose segments a later file can reuse.
 */
export function compressor(kind: Exclude<Compression, 'gzip'>): Transform {
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

/** How far one compressed stream may expand: an absolute bound, or (by default) a bound on its ratio. */
export interface ExpandLimit {
  /** The most bytes the stream may expand to (CAIRN_MAX_LAYER_SIZE); replaces the ratio bound. */
  maxBytes?: number;
  /** Past `grace` bytes out, at most `ratio` bytes out per byte in. */
  ratio: number;
  grace: number;
}

/**
 * The default bound: deflate expands at most ~1032:1 (zstd far more) and real layers 2 to 10:1, so a stream
 * that has given more than 256 MiB at over 100:1 is a bomb, not a layer. CAIRN_MAX_LAYER_SIZE=SIZE (K, M, G, T
 * suffixes) replaces it by an absolute bound, for layers of zeros that really are that big.
 */
export function expandLimit(env: NodeJS.ProcessEnv = process.env): ExpandLimit {
  const base = { ratio: 100, grace: 256 << 20 };
  const v = env.CAIRN_MAX_LAYER_SIZE?.trim();
  if (!v) return base;
  const m = /^([0-9]+)([KMGT]?)i?B?$/i.exec(v);
  if (!m) throw new BadInputError(`CAIRN_MAX_LAYER_SIZE=${v} is not a size`, { hint: 'give bytes, or a number with K, M, G or T (powers of 1024)' });
  return { ...base, maxBytes: Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase()) };
}

function tooBig(kind: Compression, out: number, lim: ExpandLimit): BadInputError {
  const why = lim.maxBytes !== undefined ? `past CAIRN_MAX_LAYER_SIZE (${lim.maxBytes} bytes)` : `to over ${out} bytes at more than ${lim.ratio}:1`;
  return new BadInputError(`the ${kind} stream expands ${why}: a compression bomb`, {
    hint: lim.maxBytes !== undefined ? 'raise CAIRN_MAX_LAYER_SIZE if the layer really is this large' : 'if the layer really is this large and compressible, set CAIRN_MAX_LAYER_SIZE to its size',
  });
}

/**
 * Returns the decompressed stream of src, detecting gzip, zstd or plain tar from its magic bytes. A compressed
 * stream must expand within `limit` (see expandLimit) and end where its data ends: bytes after the last gzip
 * member are refused (zlib would skip those starting with a zero byte unseen; Go's gzip, as containerd reads
 * layers, refuses them too). `as` skips the detection for a caller that has decided (signature verification
 * and exec gunzip exactly what they verified, never a zstd stream the magic bytes would pick).
 */
export function decompress(src: Readable, limit: ExpandLimit = expandLimit(), as?: Compression): Readable {
  const out = new PassThrough();
  // When out closes (read to its end, failed, or left by its consumer) src is destroyed: a source left part read
  // would otherwise hold its file or connection until garbage collection.
  out.once('close', () => src.destroy());
  (async () => {
    const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let head = Buffer.alloc(0);
    while (head.length < 4) {
      const r = await it.next();
      if (r.done) break;
      head = Buffer.concat([head, r.value]);
    }
    const kind = as ?? sniffCompression(head);
    let dec: Transform;
    if (kind === 'gzip') dec = zlib.createGunzip({ chunkSize: 256 * 1024 });
    else if (kind === 'zstd') {
      if (!z.createZstdDecompress) throw noZstd();
      dec = z.createZstdDecompress();
    } else dec = new PassThrough();
    let bytesIn = 0;
    let bytesOut = 0;
    const rest = Readable.from((async function* () {
      bytesIn += head.length;
      if (head.length) yield head;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        bytesIn += r.value.length;
        yield r.value;
      }
    })());
    const bounded = kind !== 'none';
    // out stays outside the pipeline: pipeline would destroy it with the raw zlib error before it is mapped below.
    const forward = new Writable({
      write(chunk: Buffer, _enc, cb) {
        bytesOut += chunk.length;
        if (bounded && (limit.maxBytes !== undefined ? bytesOut > limit.maxBytes : bytesOut > limit.grace && bytesOut > limit.ratio * bytesIn)) {
          return cb(tooBig(kind, bytesOut, limit));
        }
        if (out.write(chunk)) return cb();
        const done = (): void => { out.off('drain', done); out.off('close', done); cb(out.destroyed ? new Error('output closed') : null); };
        out.on('drain', done);
        out.on('close', done);
      },
    });
    try {
      await pipeline(rest, dec, forward);
      // zlib stops at the end of the last member: what it did not take is data after the stream.
      if (kind === 'gzip') {
        for (let r = await it.next(); !r.done; r = await it.next()) bytesIn += r.value.length;
        const taken = (dec as Transform & { bytesWritten: number }).bytesWritten;
        if (taken < bytesIn) throw new BadInputError(`${bytesIn - taken} bytes of data after the end of the gzip stream`, { hint: 'the file is damaged or was tampered with; fetch it again' });
      }
    } catch (e) {
      if (e instanceof CairnError) throw e;
      const err = e as NodeJS.ErrnoException;
      if (err.code?.startsWith('Z_') || err.code === 'ERR_ZLIB_INITIALIZATION_FAILED' || /unexpected end|incorrect header|invalid/.test(err.message)) {
        throw new BadInputError(`corrupt ${kind} stream: ${err.message}`, { cause: err, hint: 'the archive is truncated or damaged; fetch it again' });
      }
      throw err;
    }
    // Ended only now: a consumer must never see the end of a stream that is then refused for what follows it.
    out.end();
  })().catch((e) => out.destroy(e));
  return out;
}
