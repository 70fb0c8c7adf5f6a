import type { Transform } from 'node:stream';
import { compressor as layerCompressor, type Compression } from '../layer/compress.js';
import { chunkedGzip, type ChunkedGzipOptions } from './chunked-gzip.js';

/**
 * The compressing transform cairn writes every layer and archive with: gzip is always the chunked gzip (an
 * ordinary gzip stream whose segments a later file can reuse, docs/delta.md); zstd and none as layer/ makes them.
 */
export function compressor(kind: Compression, opts: ChunkedGzipOptions = {}): Transform {
  return kind === 'gzip' ? chunkedGzip(opts) : layerCompressor(kind);
}
