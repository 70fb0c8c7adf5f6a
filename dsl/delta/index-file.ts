import { promises as fsp } from 'node:fs';
import { writeFileAtomic } from '../core/atomic.js';
import { encodeIndex, type ChunkIndex } from './cidx.js';
import type { GzipLayout } from './chunked-gzip.js';

/** The index of FILE is FILE + this suffix (image.tar.gz → image.tar.gz.cidx). */
export const INDEX_SUFFIX = '.cidx';

/**
 * Bytes of each segment's sha256 an index keeps: the first 20 (160 bits). The directory segments take a Debian
 * export's table past 0.2% of the file with whole hashes (docs/decisions.md); what is rebuilt is checked against
 * the whole file's sha256 and its signature anyway.
 */
export const INDEX_HASH_LEN = 20;

/** The path of file's index. */
export function indexPath(file: string): string {
  return file + INDEX_SUFFIX;
}

/** The index of a chunked gzip file: its layout, and the sha256 ('sha256:…' or hex) and size of the whole file. */
export function buildIndex(layout: GzipLayout, fileDigest: string, fileSize: number, hashLen = INDEX_HASH_LEN): ChunkIndex {
  if (layout.segments.some((s) => s.hash.length < hashLen)) throw new Error('the chunked gzip kept no segment hashes (make it with index: true)');
  return {
    chunker: layout.chunker,
    compressor: layout.compressor,
    hashLen,
    fileSha256: Buffer.from(fileDigest.replace(/^sha256:/, ''), 'hex'),
    fileSize,
    head: layout.head,
    tail: layout.tail,
    segments: layout.segments,
  };
}

/** Writes the index beside file (temp file, fsync, rename); returns its path. */
export async function writeIndex(file: string, idx: ChunkIndex): Promise<string> {
  const out = indexPath(file);
  await writeFileAtomic(out, encodeIndex(idx));
  return out;
}

/** Removes file's index, if any (an index left from an earlier file would describe other bytes). */
export async function removeIndex(file: string): Promise<void> {
  await fsp.rm(indexPath(file), { force: true });
}
