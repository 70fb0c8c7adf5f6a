import { createWriteStream, promises as fsp } from 'node:fs';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobStore } from './blobs.js';
import { HashCounter } from './hash.js';
import { compressor, layerMediaType, type Compression } from '../layer/compress.js';

/** The compressor for a layer: gzip is delta/'s chunked gzip (loaded only when a layer is gzipped). */
async function layerCompressor(kind: Compression): Promise<Transform> {
  return kind === 'gzip' ? (await import('../delta/chunked-gzip.js')).chunkedGzip() : compressor(kind);
}

/** A layer blob written to the store: its compressed digest and size, and the digest of the uncompressed tar. */
export interface WrittenLayer {
  diffID: string;
  digest: string;
  size: number;
  mediaType: string;
  uncompressedSize: number;
}

/** Streams a tar into the blob store in one pass: tar → sha256 (diffID) → compressor → sha256 (digest) → temp file → blob. */
export async function writeLayer(tar: Readable, blobs: BlobStore, compression: Compression): Promise<WrittenLayer> {
  const tmp = await blobs.tempPath();
  const diff = new HashCounter();
  const blob = new HashCounter();
  try {
    await pipeline(tar, diff, await layerCompressor(compression), blob, createWriteStream(tmp, { flags: 'wx' }));
    const digest = blob.digest();
    await blobs.commitTemp(tmp, digest);
    return { diffID: diff.digest(), digest, size: blob.size, mediaType: layerMediaType(compression), uncompressedSize: diff.size };
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
