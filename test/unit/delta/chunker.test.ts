import { createHash } from 'node:crypto';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Chunker, DEFAULT_CHUNKER, jsRoll, parseChunkSizes } from '../../../dsl/delta/chunker.js';
import { wasmRoll } from '../../../dsl/delta/gear-wasm.js';
import type { ChunkerParams } from '../../../dsl/delta/cidx.js';
import { GEAR } from '../../../dsl/delta/gear.js';
import { TarMembers } from '../../../dsl/delta/tar-members.js';
import { noise, TAR_END, tarHeader, tarMember, textLike } from '../../kit/delta.js';
import { sh, tmpDir } from '../../kit/tarfix.js';

/*
 * The chunker's boundaries: a function of the bytes alone (not of how they arrive), within min/max, at tar
 * member starts past min, and content-defined: an insertion changes only the segments near it.
 */

const SMALL: ChunkerParams = { min: 2048, avg: 8192, max: 32768, gear: 1 };

/** The cuts of data fed in pieces of `piece` bytes, the tar tracking on (as the compressor runs it). */
function cutsOf(data: Buffer, params: ChunkerParams = SMALL, piece = 65536): number[] {
  const ch = new Chunker(params);
  const tm = new TarMembers(
    (at) => ch.member(at),
    (start, end) => ch.directory(start, end),
  );
  const out: number[] = [];
  for (let i = 0; i < data.length; i += piece) {
    const end = Math.min(i + piece, data.length);
    tm.feed(data.subarray(i, end));
    ch.cuts(data, 0, end, tm.settled, out);
  }
  tm.end();
  ch.finish(data, 0, data.length, out);
  return out;
}

/** Segment lengths from cuts. */
const lengths = (cuts: number[]): number[] => cuts.map((c, i) => c - (i ? cuts[i - 1] : 0));

/** The sha256 of each segment's bytes. */
const segmentHashes = (data: Buffer, cuts: number[]): string[] =>
  cuts.map((c, i) => createHash('sha256').update(data.subarray(i ? cuts[i - 1] : 0, c)).digest('hex'));

/** Where members start, by TarMembers fed in pieces. */
function membersOf(tar: Buffer, piece: number): number[] {
  const seen: number[] = [];
  const tm = new TarMembers((at) => seen.push(at));
  for (let i = 0; i < tar.length; i += piece) tm.feed(tar.subarray(i, i + piece));
  return seen;
}

const tmp = tmpDir('chunker');
afterAll(tmp.cleanup);

describe('gear table', () => {
  it('is the fixed table of id 1 (changing it would move every boundary of every published file)', () => {
    expect(GEAR.length).toBe(256);
    expect(new Set(GEAR).size).toBe(256);
    expect(createHash('sha256').update(Buffer.from(GEAR.buffer)).digest('hex').slice(0, 16)).toBe('bc6291cfbb807832');
  });
});

describe('parseChunkSizes', () => {
  it('reads MIN:AVG:MAX or AVG in bytes, K (KiB) or M (MiB), and refuses what the chunker cannot use', () => {
    expect(parseChunkSizes('32K:64K:256K')).toEqual({ min: 32768, avg: 65536, max: 262144 });
    expect(parseChunkSizes('4096:8k:1M')).toEqual({ min: 4096, avg: 8192, max: 1 << 20 });
    expect(parseChunkSizes('64K')).toEqual({ min: 16384, avg: 65536, max: 262144 });
    for (const bad of ['', '64K:', 'a:b:c', '1K:2K', '8K:12K:32K', '16K:8K:32K', '8K:32K:16K', '32:64:128', '1.5K', '-8K', '8K:32K:65M']) {
      expect(() => parseChunkSizes(bad), bad).toThrow(RangeError);
    }
    expect(parseChunkSizes('64K:64M:64M')).toEqual({ min: 65536, avg: 64 << 20, max: 64 << 20 });
  });
});

describe('gear loop', () => {
  it('stops where the JavaScript loop does in WebAssembly, across its window and with the hash carried over', () => {
    const roll = wasmRoll();
    expect(roll).toBeDefined();
    const data = Buffer.concat([noise(3, 700_000), textLike(4, 300_000), Buffer.alloc(5000)]);
    for (const bits of [0, 4, 12, 18, 32]) {
      const mask = bits === 0 ? 0 : bits === 32 ? -1 : (-1 << (32 - bits)) | 0;
      for (const [from, to, h] of [[0, data.length, 0], [123, 600_000, -7], [262_100, 262_200, 99], [5, 5, 1]]) {
        const a = Int32Array.of(h);
        const b = Int32Array.of(h);
        let i = from;
        let j = from;
        // Every stop up to `to`, each resuming after the last, as the chunker does within a segment.
        for (let n = 0; n < 50 && i >= 0 && i < to; n++) {
          i = jsRoll(data, i, to, mask, a);
          j = roll!(data, j, to, mask, b);
          expect([j, b[0]]).toEqual([i, a[0]]);
          if (i >= 0) i = j = i + 1;
        }
      }
    }
  });
});

describe('Chunker', () => {
  const data = noise(7, 3 << 20);

  it('cuts where it always has (boundaries of published files must not move)', () => {
    expect(cutsOf(noise(7, 400_000)).slice(0, 8)).toEqual([9618, 17783, 26891, 37240, 51444, 60631, 69763, 79807]);
  });

  it('cuts the same bytes the same way however they are fed', () => {
    const whole = cutsOf(data, SMALL, data.length);
    for (const piece of [1 << 16, 4093, 511]) expect(cutsOf(data, SMALL, piece)).toEqual(whole);
    expect(cutsOf(data.subarray(0, 200_000), SMALL, 1)).toEqual(cutsOf(data.subarray(0, 200_000), SMALL, 200_000));
    expect(whole[whole.length - 1]).toBe(data.length);
  });

  it('keeps every segment but the last within min and max, and near avg on average', () => {
    for (const params of [SMALL, DEFAULT_CHUNKER]) {
      const lens = lengths(cutsOf(data, params));
      for (const n of lens.slice(0, -1)) {
        expect(n).toBeGreaterThanOrEqual(params.min);
        expect(n).toBeLessThanOrEqual(params.max);
      }
      const mean = data.length / lens.length;
      expect(mean).toBeGreaterThan(params.avg * 0.7);
      expect(mean).toBeLessThan(params.avg * 1.6);
    }
  });

  it('cuts at max where the hash never matches (a run of one byte)', () => {
    const zeros = Buffer.alloc(5 * SMALL.max + 100);
    expect(lengths(cutsOf(zeros))).toEqual([SMALL.max, SMALL.max, SMALL.max, SMALL.max, SMALL.max, 100]);
  });

  it('changes only the segments near an insertion (content-defined boundaries)', () => {
    const at = 1_500_000;
    const changed = Buffer.concat([data.subarray(0, at), noise(99, 100), data.subarray(at)]);
    const a = segmentHashes(data, cutsOf(data));
    const b = segmentHashes(changed, cutsOf(changed));
    const old = new Set(a);
    const fresh = b.filter((h) => !old.has(h));
    expect(a.length).toBeGreaterThan(200);
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    expect(fresh.length).toBeLessThanOrEqual(3);
  });

  it('cuts where a tar member starts once the segment has min bytes, and nowhere inside a member of its own', () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 60; i++) parts.push(tarMember(`f${i}`, textLike(i, 1000 + ((i * 977) % 6000))));
    parts.push(TAR_END);
    const tar = Buffer.concat(parts);
    const members = membersOf(tar, tar.length);
    expect(members).toHaveLength(61);
    const cuts = cutsOf(tar);
    for (const m of members) {
      const start = [0, ...cuts].filter((c) => c <= m).pop()!;
      // m is a cut, or the segment holding it started less than min before it.
      if (!cuts.includes(m)) expect(m - start).toBeLessThan(SMALL.min);
    }
    expect(cuts.filter((c) => members.includes(c)).length).toBeGreaterThan(10);
  });

  it('changes only the segments of a changed member and its neighbours in a tar', () => {
    const files = Array.from({ length: 80 }, (_, i) => textLike(100 + i, 3000 + ((i * 1237) % 9000)));
    const tarOf = (fs: Buffer[]): Buffer => Buffer.concat([...fs.map((f, i) => tarMember(`dir/file-${i}`, f)), TAR_END]);
    const a = tarOf(files);
    const edited = [...files];
    edited[40] = Buffer.concat([files[40], Buffer.from('one more line\n')]);
    const b = tarOf(edited);
    const old = new Set(segmentHashes(a, cutsOf(a)));
    const fresh = segmentHashes(b, cutsOf(b)).filter((h) => !old.has(h));
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    expect(fresh.length).toBeLessThanOrEqual(2);
  });

  it('refuses parameters it cannot use', () => {
    expect(() => new Chunker({ ...SMALL, avg: 5000 })).toThrow(/power of two/);
    expect(() => new Chunker({ ...SMALL, min: 40000 })).toThrow(/chunker parameters/);
    expect(() => new Chunker({ ...SMALL, gear: 2 })).toThrow(/gear/);
  });
});

/** A directory's tar header with its mtime field set to t (checksum made again). */
function dirHeader(name: string, t: number): Buffer {
  const h = tarHeader(name, 0, { type: '5' });
  h.write(t.toString(8).padStart(11, '0') + '\0', 136, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

describe('directory members', () => {
  const files = (dir: string, seed: number) => Buffer.concat(Array.from({ length: 6 }, (_, i) => tarMember(`${dir}/f${i}`, textLike(seed + i, 3000))));
  const tarWith = (t: number) => Buffer.concat([dirHeader('a/', 1), dirHeader('a/b/', 1), files('a/b', 10), dirHeader('a/c/', t), files('a/c', 20), TAR_END]);

  it('get a segment of their own, a run of them one together, whatever min says', () => {
    const tar = tarWith(1);
    const cDir = 1024 + files('a/b', 10).length;
    for (const piece of [tar.length, 700, 1]) {
      const cuts = cutsOf(tar, SMALL, piece);
      expect(cuts[0]).toBe(1024);
      expect(cuts).toContain(cDir);
      expect(cuts).toContain(cDir + 512);
    }
  });

  it('whose times changed change only their own segment: the files around them are reused', () => {
    const [a, b] = [tarWith(1), tarWith(0o777)];
    const [ha, hb] = [segmentHashes(a, cutsOf(a)), segmentHashes(b, cutsOf(b))];
    expect(hb.length).toBe(ha.length);
    expect(hb.filter((h) => !ha.includes(h))).toHaveLength(1);
  });
});

describe('TarMembers', () => {
  it('follows octal and base-256 sizes, header-only types, and stops at the end-of-archive blocks', () => {
    const a = tarMember('a', textLike(1, 700));
    const b = tarMember('b', textLike(2, 1500), { base256: true });
    const link = tarHeader('l', 4096, { type: '2' });
    const dir = tarHeader('d/', 0, { type: '5' });
    const c = tarMember('c', Buffer.alloc(0));
    const tar = Buffer.concat([a, b, link, dir, c, TAR_END, Buffer.alloc(9000), Buffer.from('trailer')]);
    const want = [0, a.length, a.length + b.length, a.length + b.length + 512, a.length + b.length + 1024, a.length + b.length + 1536];
    for (const piece of [tar.length, 100, 1]) expect(membersOf(tar, piece)).toEqual(want);
  });

  it('takes a PAX header or a GNU long-name header as the start of the member it describes', () => {
    const longName = 'x'.repeat(150);
    const pax = tarMember('PaxHeader/f', Buffer.from(`${String(20 + longName.length).padStart(3, '0')} path=${longName}\n`), { type: 'x' });
    const gnu = tarMember('././@LongLink', Buffer.from(longName + '\0'), { type: 'L' });
    const f1 = tarMember('f1', textLike(3, 100));
    const f2 = tarMember('f2', textLike(4, 100));
    const tar = Buffer.concat([pax, f1, gnu, f2, TAR_END]);
    expect(membersOf(tar, 7)).toEqual([0, pax.length + f1.length, tar.length - 1024]);
  });

  it('stops following a stream whose header does not check (not a tar: no member boundaries)', () => {
    const bad = tarHeader('a', 10);
    bad[0] ^= 1;
    expect(membersOf(Buffer.concat([bad, Buffer.alloc(512), tarMember('b', Buffer.from('b'))]), 512)).toEqual([]);
    expect(membersOf(noise(1, 5000), 999)).toEqual([]);
  });

  it('finds the members GNU tar writes, in gnu and pax formats alike, with long names', () => {
    const long = 'd'.repeat(120);
    sh(`mkdir -p t/${long} && for i in 1 2 3; do head -c $((i * 700)) /dev/zero > t/${long}/file-$i; done; ln -s file-1 t/${long}/link`, tmp.dir);
    for (const format of ['gnu', 'pax']) {
      const file = path.join(tmp.dir, `${format}.tar`);
      sh(`tar --format=${format} --sort=name -cf ${file} t`, tmp.dir);
      const listed = sh(`tar -tvf ${file} | wc -l`, tmp.dir).trim();
      const tar = readFileSync(file);
      // Every entry tar lists is one member, and the end-of-archive blocks start one more.
      expect(membersOf(tar, 1000)).toHaveLength(Number(listed) + 1);
    }
  });
});
