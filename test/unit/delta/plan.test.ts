import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChunkIndex } from '../../../dsl/delta/cidx.js';
import { checkBounds, MAX_RANGES, MAX_SEGMENT, planUpdate } from '../../../dsl/delta/plan.js';

/** An index of segments named by letters (same letter, same bytes), each of clen bytes. */
function index(names: string, clen = 100): ChunkIndex {
  const segments = [...names].map((n) => ({ ulen: clen * 3, clen, hash: createHash('sha256').update(n).digest().subarray(0, 16) }));
  return {
    chunker: { min: 1, avg: 2, max: 3, gear: 1 },
    compressor: 'test',
    hashLen: 16,
    fileSha256: Buffer.alloc(32),
    fileSize: 10 + 10 + segments.length * clen,
    head: Buffer.alloc(10),
    tail: Buffer.alloc(10),
    segments,
  };
}

describe('planUpdate', () => {
  it.each([
    // new, old, runs as [start, end) of the new file, reused bytes
    ['abcdef', 'abcdef', [], 600],
    ['abcdef', '', [[10, 610]], 0],
    ['abXdef', 'abcdef', [[210, 310]], 500],
    ['abXYef', 'abcdef', [[210, 410]], 400],
    ['XbcdeY', 'abcdef', [[10, 110], [510, 610]], 400],
    ['abcdefg', 'abcdef', [[610, 710]], 600],
    ['aaaa', 'a', [], 400],
  ])('%s from %s', (now, old, runs, reused) => {
    const p = planUpdate(index(now), old ? [{ file: '/old', index: index(old) }] : []);
    expect(p.runs.map((r) => [r.start, r.end])).toEqual(runs);
    expect(p.reused).toBe(reused);
    expect(p.download).toBe(now.length * 100 - reused);
    expect(p.requests).toBe(Math.ceil(runs.length / MAX_RANGES));
  });

  it('reads a reused segment from where the old file holds it', () => {
    const p = planUpdate(index('Xcab'), [{ file: '/old', index: index('abc') }]);
    expect(p.sources.map((s) => s && s.at)).toEqual([undefined, 210, 10, 110]);
  });

  it('matches a segment only with the same length', () => {
    const p = planUpdate(index('abc', 100), [{ file: '/old', index: index('abc', 101) }]);
    expect(p.reused).toBe(0);
  });

  it('asks for MAX_RANGES runs a request', () => {
    const now = 'Xa'.repeat(MAX_RANGES + 1);
    const p = planUpdate(index(now), [{ file: '/old', index: index('a') }]);
    expect([p.runs.length, p.requests]).toEqual([MAX_RANGES + 1, 2]);
  });
});

describe('checkBounds', () => {
  it('refuses a segment larger than MAX_SEGMENT in one line', () => {
    const idx = index('a');
    idx.segments[0].clen = MAX_SEGMENT + 1;
    expect(() => checkBounds(idx, 'x.cidx')).toThrow(/x\.cidx: a segment of \d+ bytes is larger than cairn accepts/);
    expect(() => checkBounds(index('abc'), 'x.cidx')).not.toThrow();
  });
});
