import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { decompress } from '../../../dsl/layer/compress.js';
import { extractLayer } from '../../../dsl/layer/extract.js';
import { readDockerArchive } from '../../../dsl/transport/docker-archive.js';
import { readOciArchive } from '../../../dsl/transport/oci-archive.js';
import { cairnOrValue, fuzz, fuzzTimeout, onlyCairnErrors } from '../../kit/fuzz.js';
import { dockerArchiveDocs, ociArchiveDocs, validDocs } from '../../kit/fuzz-image.js';
import { Sandbox } from '../../kit/fuzz-sandbox.js';
import { entriesWithCanary, fixChecksums, onlyCairnOrOpen, openSeen, layerEntries, mutate, mutations, packLayer, type FuzzEntry, type Mutation } from '../../kit/fuzz-tar.js';
import { tmpDir } from '../../kit/tarfix.js';

/**
 * The tar reader (dsl/layer/tar-read.ts with its PAX handling, the trailer stripper, decompression) under raw random
 * bytes and damaged valid layers: extraction ends in success or a CairnError, never another exception, never
 * a hang, and nothing beside dest changes.
 */

const tmp = tmpDir('fuzz-tar');
afterAll(tmp.cleanup);
let serial = 0;
const docs = validDocs();

/** How the bytes reach the extractor. */
type Wrap = 'plain' | 'decompress' | 'gzip-then-damage' | 'damage-then-gzip';

async function check(bytes: (canary: string) => Promise<Buffer>, whiteouts: 'overlay' | 'apply', wrap: Wrap, tolerate = true): Promise<void> {
  const sb = new Sandbox(tmp.dir, serial++);
  try {
    let b = await bytes(sb.canary);
    if (wrap === 'damage-then-gzip') b = gzipSync(b);
    const src = Readable.from([b]);
    sb.seal();
    await extractLayer(wrap === 'plain' ? src : decompress(src), sb.dest, { whiteouts }).catch(tolerate ? onlyCairnOrOpen : onlyCairnErrors);
    sb.verify(`extract (${whiteouts}, ${wrap})`);
  } finally {
    sb.remove();
  }
}

/** Packs, then damages (for gzip-then-damage the damage hits the compressed stream). */
async function damaged(entries: FuzzEntry[], ms: Mutation[], fix: boolean, wrap: Wrap, canary: string): Promise<Buffer> {
  const tar = await packLayer(entriesWithCanary(entries, canary));
  if (wrap === 'gzip-then-damage') return mutate(gzipSync(tar), ms);
  const m = mutate(tar, ms);
  return fix ? fixChecksums(m) : m;
}

const wrap = fc.constantFrom<Wrap>('plain', 'decompress', 'gzip-then-damage', 'damage-then-gzip');
const whiteouts = fc.constantFrom('overlay' as const, 'apply' as const);

/** Fixed inputs replayed on every run: edge cases, and failures found by fuzzing once fixed (moved from OPEN). */
const FOUND: { why: string; bytes: () => Buffer; wrap: Wrap }[] = [
  { why: 'nothing at all', bytes: () => Buffer.alloc(0), wrap: 'plain' },
  { why: 'a gzip header alone', bytes: () => Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3]), wrap: 'decompress' },
  { why: 'a zstd magic alone', bytes: () => Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), wrap: 'decompress' },
  { why: 'one zero block', bytes: () => Buffer.alloc(512), wrap: 'plain' },
];

/** A one-file tar whose size field is replaced by raw bytes (checksum fixed). */
async function withSizeField(field: number[]): Promise<Buffer> {
  const tar = Buffer.from(await packLayer([{ name: 'a', content: '' }]));
  Buffer.from(field).copy(tar, 124);
  return fixChecksums(tar);
}

/** Fails when p has not settled after ms (the replayed hang must end the test, not the suite). */
async function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Found by fuzzing, fixed: a size field the reader (then tar-stream) decoded as null made the reader wait forever. */
const HANGS: { why: string; bytes: () => Promise<Buffer> }[] = [
  { why: 'a base-256 size field with first byte 0xa4', bytes: () => withSizeField([0xa4, ...Buffer.from('0000000000 ')]) },
  { why: 'a base-256 size field with first byte 0xc0', bytes: () => withSizeField([0xc0, ...Buffer.from('0000000000 ')]) },
];

describe('fuzz: the tar reader', () => {
  it.each(FOUND)('replayed: $why', async ({ bytes, wrap: w }) => {
    for (const m of ['overlay', 'apply'] as const) await check(async () => bytes(), m, w, false);
  });

  it.each(HANGS)('replayed (was a hang): $why', async ({ bytes }) => {
    await within(5000, check(bytes, 'apply', 'plain', false));
  });

  it('raw random bytes', async () => {
    await fuzz('tar reader (random bytes)', fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), whiteouts, wrap, (bytes, m, w) => check(async () => Buffer.from(bytes), m, w)), { runs: 12, hangMs: 20_000, openSeen });
  }, fuzzTimeout(12));

  it('damaged image archives (docker-archive, oci-archive) are read or refused', async () => {
    const prop = fc.asyncProperty(fc.constantFrom('docker-archive' as const, 'oci-archive' as const), mutations, fc.boolean(), fc.boolean(), async (kind, ms, fix, gz) => {
      const plain = kind === 'docker-archive' ? await dockerArchiveDocs(await docs) : await ociArchiveDocs(await docs, true);
      const m = fix ? fixChecksums(mutate(plain, ms)) : mutate(plain, ms);
      const bytes = gz ? gzipSync(m) : m;
      const file = path.join(tmp.dir, `archive-${serial++}.tar`);
      writeFileSync(file, bytes);
      try {
        const read = kind === 'docker-archive' ? readDockerArchive : readOciArchive;
        const img = await cairnOrValue(() => read(file, undefined, path.join(tmp.dir, 'work')));
        await img?.close();
      } finally {
        rmSync(file, { force: true });
      }
    });
    await fuzz('image archives (damaged)', prop, { runs: 12, hangMs: 20_000, openSeen });
  }, fuzzTimeout(12));

  it('damaged valid layers', async () => {
    const prop = fc.asyncProperty(layerEntries(6), mutations, fc.boolean(), whiteouts, wrap, (entries, ms, fix, m, w) => check((canary) => damaged(entries, ms, fix, w, canary), m, w));
    await fuzz('tar reader (damaged layers)', prop, { runs: 15, hangMs: 20_000, openSeen });
  }, fuzzTimeout(15));
});
