import { describe, expect, it } from 'vitest';
import { randomHex, suffixCreator, uniqueSuffix } from '../../../dsl/core/unique.js';

describe('randomHex', () => {
  it('gives the asked number of random bytes as hex, different each time', () => {
    const a = randomHex(32);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(randomHex(32)).not.toBe(a);
    expect(randomHex(1)).toMatch(/^[0-9a-f]{2}$/);
  });
});

describe('uniqueSuffix', () => {
  it('names this process and the time it was made, as suffixCreator reads them back', () => {
    const before = Date.now();
    const s = uniqueSuffix();
    const c = suffixCreator(`blob-${s}`);
    expect(c?.pid).toBe(process.pid);
    expect(c!.time).toBeGreaterThanOrEqual(before);
    expect(c!.time).toBeLessThanOrEqual(Date.now());
    expect(uniqueSuffix()).not.toBe(s);
  });
});
