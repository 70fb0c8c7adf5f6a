import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashSpill } from '../../../dsl/core/hashworker.js';

const data = randomBytes(20 << 20);

describe('HashSpill', () => {
  it.each([
    ['empty', 0, 1 << 20],
    ['small', 1000, 100],
    ['just under the spill size', (8 << 20) - 1, 1 << 20],
    ['exactly the spill size', 8 << 20, 1 << 19],
    ['past the spill size, odd chunks', 20 << 20, 777_777],
    ['past the spill size, one chunk', 20 << 20, 20 << 20],
  ])('equals node:crypto sha256 (%s)', async (_what, size, chunk) => {
    const h = new HashSpill();
    const bytes = data.subarray(0, size);
    for (let i = 0; i < size; i += chunk) await h.update(bytes.subarray(i, i + chunk));
    expect(await h.digest()).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it.each([
    ['small', 1000],
    ['past the spill size', 20 << 20],
  ])('computes a sha512 too (%s)', async (_what, size) => {
    const h = new HashSpill('sha512');
    const bytes = data.subarray(0, size);
    for (let i = 0; i < size; i += 65_536) await h.update(bytes.subarray(i, i + 65_536));
    expect(await h.digest()).toBe(createHash('sha512').update(bytes).digest('hex'));
  });

  it.each([
    ['empty', 0, 'sha256'],
    ['small', 1000, 'sha512'],
    ['past the spill size, odd chunks', 20 << 20, 'sha256'],
    ['past the spill size', 20 << 20, 'sha512'],
  ] as const)('told the input is big, hashes it on the thread from the first byte: the same digest (%s, %s)', async (_what, size, algorithm) => {
    const h = new HashSpill(algorithm, true);
    const bytes = data.subarray(0, size);
    for (let i = 0; i < size; i += 777_777) await h.update(bytes.subarray(i, i + 777_777));
    expect(await h.digest()).toBe(createHash(algorithm).update(bytes).digest('hex'));
  });

  it('hashes only the bytes of a view, not the rest of its buffer', async () => {
    const h = new HashSpill();
    const pool = randomBytes(12 << 20);
    const view = pool.subarray(100, (9 << 20) + 100);
    await h.update(view);
    await h.update(pool.subarray(5, 10));
    expect(await h.digest()).toBe(createHash('sha256').update(view).update(pool.subarray(5, 10)).digest('hex'));
  });
});
