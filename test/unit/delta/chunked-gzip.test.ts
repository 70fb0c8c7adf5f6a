import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chunkedGzip, DEFAULT_LEVEL, GZIP_HEAD, type ChunkedGzipOptions, type GzipLayout } from '../../../dsl/delta/chunked-gzip.js';
import { compressor } from '../../../dsl/delta/compress.js';
import { decompress } from '../../../dsl/layer/compress.js';
import { noise, TAR_END, tarMember, textLike } from '../../kit/delta.js';
import { collect } from '../../kit/tarfix.js';

/*
 * The chunked gzip is one ordinary gzip member (gunzip, zlib and cairn's decompress read it) made of segments
 * that each inflate on their own; its bytes depend only on the input, never on threads or on how input arrives.
 */

/** Compresses data (fed in pieces) and returns the file and its layout. */
async function gz(data: Buffer, opts: ChunkedGzipOptions = {}, piece = 65536): Promise<{ file: Buffer; layout: GzipLayout }> {
  const z = chunkedGzip(opts);
  const pieces = function* (): Generator<Buffer> {
    for (let i = 0; i < data.length; i += piece) yield data.subarray(i, i + piece);
  };
  const [file] = await Promise.all([collect(z), pipeline(Readable.from(pieces()), z)]);
  return { file, layout: z.layout() };
}

/** A tar of text-like and random files, about `mib` MiB. */
function tarFixture(mib: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0, n = 0; n < mib << 20; i++) {
    const body = i % 3 ? textLike(i, 500 + ((i * 7919) % 90_000)) : noise(i, 200 + ((i * 104729) % 40_000));
    parts.push(tarMember(`usr/share/f${i}`, body));
    n += body.length;
  }
  return Buffer.concat([...parts, TAR_END]);
}

const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

describe('chunked gzip', () => {
  // Three batches of input (BATCH is 1 MiB), so that the threads below share the work.
  const tar = tarFixture(3);

  it('is a gzip file that zlib, gunzip and cairn read back to the input', async () => {
    const { file } = await gz(tar);
    expect(file.subarray(0, 10)).toEqual(GZIP_HEAD);
    expect(zlib.gunzipSync(file).equals(tar)).toBe(true);
    const r = spawnSync('gunzip', ['-c'], { input: file, maxBuffer: 64 << 20 });
    expect(r.status).toBe(0);
    expect(r.stdout.equals(tar)).toBe(true);
    expect(spawnSync('gzip', ['-t'], { input: file }).status).toBe(0);
    expect((await collect(decompress(Readable.from([file])))).equals(tar)).toBe(true);
  });

  it('lays out head, segments and tail as the layout says, each segment inflating alone to its part of the input', async () => {
    const { file, layout } = await gz(tar, { index: true });
    expect(layout.segments.length).toBeGreaterThan(20);
    let at = layout.head.length;
    let u = 0;
    for (const s of layout.segments) {
      const seg = file.subarray(at, at + s.clen);
      expect(s.hash.equals(sha(seg))).toBe(true);
      expect(zlib.inflateRawSync(seg, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).equals(tar.subarray(u, u + s.ulen))).toBe(true);
      // A full flush ends every segment: the empty stored block 00 00 FF FF.
      expect(seg.subarray(-4)).toEqual(Buffer.from([0x00, 0x00, 0xff, 0xff]));
      at += s.clen;
      u += s.ulen;
    }
    expect(u).toBe(tar.length);
    expect(file.subarray(at)).toEqual(layout.tail);
    expect(layout.tail.subarray(0, 2)).toEqual(Buffer.from([0x03, 0x00]));
    expect(layout.tail.readUInt32LE(2)).toBe(zlib.crc32(tar));
    expect(layout.tail.readUInt32LE(6)).toBe(tar.length);
    expect(layout.compressor).toBe(`deflate-${DEFAULT_LEVEL}/zlib-${process.versions.zlib}`);
  });

  it('makes segments that can be laid end to end in another order into a valid deflate stream', async () => {
    const { file, layout } = await gz(tar);
    const offs: number[] = [];
    let at = layout.head.length;
    for (const s of layout.segments) offs.push((at += s.clen) - s.clen);
    const order = layout.segments.map((_, i) => i).reverse();
    const body = Buffer.concat([...order.map((i) => file.subarray(offs[i], offs[i] + layout.segments[i].clen)), Buffer.from([0x03, 0x00])]);
    const want = Buffer.concat(order.map((i) => { const u = layout.segments.slice(0, i).reduce((n, s) => n + s.ulen, 0); return tar.subarray(u, u + layout.segments[i].ulen); }));
    expect(zlib.inflateRawSync(body).equals(want)).toBe(true);
  });

  it('gives the same bytes in this thread, on one thread or on all, whatever the input pieces', async () => {
    const ref = (await gz(tar, { threads: 0 })).file;
    expect((await gz(tar, { threads: 1 }, 1000)).file.equals(ref)).toBe(true);
    expect((await gz(tar, {}, 333_333)).file.equals(ref)).toBe(true);
    expect((await gz(tar, { threads: 8 }, tar.length)).file.equals(ref)).toBe(true);
  });

  it('compresses an empty input and inputs under one segment to valid gzip', async () => {
    for (const data of [Buffer.alloc(0), Buffer.from('x'), textLike(5, 5000)]) {
      const { file, layout } = await gz(data);
      expect(zlib.gunzipSync(file).equals(data)).toBe(true);
      expect(layout.segments.length).toBe(data.length ? 1 : 0);
      expect(spawnSync('gzip', ['-t'], { input: file }).status).toBe(0);
    }
  });

  it('stores runs of random bytes as they are, deflates the text around them, and deflates random bytes that repeat', async () => {
    const rnd = noise(11, 100_000);
    const text = textLike(12, 40_000);
    const data = Buffer.concat([
      tarMember('random', rnd),
      tarMember('twice', Buffer.concat([rnd.subarray(0, 30_000), rnd.subarray(0, 30_000)])),
      tarMember('mixed', Buffer.concat([text, noise(13, 50_000), text])),
      TAR_END,
    ]);
    // Segments cut at the members only: [header, random], [header, repeated half twice], [header, text, random, text], [end].
    const { file, layout } = await gz(data, { chunker: { min: 8192, avg: 1 << 20, max: 1 << 20 } });
    expect(zlib.gunzipSync(file).equals(data)).toBe(true);
    expect(layout.segments.map((s) => s.ulen)).toEqual([100_864, 60_928, 130_560, 1024]);
    const [first, second, third] = layout.segments;
    // The header's block is deflated, the random bytes stored (BTYPE 00 blocks): a few bytes more than they hold.
    expect(Math.abs(first.clen - first.ulen)).toBeLessThan(600);
    const seg = file.subarray(layout.head.length, layout.head.length + first.clen);
    expect(zlib.inflateRawSync(seg, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).equals(data.subarray(0, first.ulen))).toBe(true);
    // The repeated half is found by deflate: well under its size.
    expect(second.clen).toBeLessThan(second.ulen * 0.6);
    // The random run's whole 4 KiB blocks (from 40,960 to 90,112 in the segment) are one stored piece, there as
    // they are; the text on both sides is deflated: the segment is well under its size, over its random bytes.
    const at3 = layout.head.length + first.clen + second.clen;
    const u3 = first.ulen + second.ulen;
    expect(file.subarray(at3, at3 + third.clen).includes(data.subarray(u3 + 40_960, u3 + 90_112))).toBe(true);
    expect(third.clen).toBeGreaterThan(50_000);
    expect(third.clen).toBeLessThan(50_000 + 0.5 * 2 * text.length);
  });

  it('honours levels and segment bounds from its options', async () => {
    const { file: best, layout } = await gz(tar, { level: 9, chunker: { min: 4096, avg: 16384, max: 65536 } });
    expect(zlib.gunzipSync(best).equals(tar)).toBe(true);
    expect(layout.compressor).toMatch(/^deflate-9\//);
    expect(layout.chunker).toMatchObject({ min: 4096, avg: 16384, max: 65536, gear: 1 });
    expect(Math.max(...layout.segments.map((s) => s.ulen))).toBeLessThanOrEqual(65536);
    expect(() => chunkedGzip({ level: 0 })).toThrow(/level/);
  });

  it('passes an error of its input on, and stops', async () => {
    const failing = new Readable({
      read() {
        this.push(tar.subarray(0, 3 << 20));
        this.destroy(new Error('disk gone'));
      },
    });
    await expect(pipeline(failing, chunkedGzip(), async function* (src) { for await (const _ of src) yield* []; })).rejects.toThrow(/disk gone/);
  });

  it('keeps memory bounded when nobody reads (backpressure)', async () => {
    const big = noise(3, 12 << 20);
    // In this thread, so that nothing but backpressure can hold the input back.
    const z = chunkedGzip({ threads: 0 });
    let fed = 0;
    const src = Readable.from((function* () {
      for (let i = 0; i < big.length; i += 1 << 16) {
        fed += 1 << 16;
        yield big.subarray(i, i + (1 << 16));
      }
    })());
    const done = pipeline(src, z);
    // Until the input stops moving: the compressor must stop taking input after a few batches.
    for (let still = 0, last = -1; still < 200; still = fed === last ? still + 1 : 0, last = fed) await new Promise((r) => setImmediate(r));
    expect(fed).toBeGreaterThan(1 << 20);
    expect(fed).toBeLessThan(8 << 20);
    const out = await collect(z);
    await done;
    expect(zlib.gunzipSync(out).equals(big)).toBe(true);
  });

  it('is what delta/compress gives for gzip, and layer/compress still makes zstd and plain', async () => {
    const g = compressor('gzip');
    const [file] = await Promise.all([collect(g), pipeline(Readable.from([tar]), g)]);
    expect(file.equals((await gz(tar)).file)).toBe(true);
    const p = compressor('none');
    const [plain] = await Promise.all([collect(p), pipeline(Readable.from([tar]), p)]);
    expect(plain.equals(tar)).toBe(true);
  });
});
