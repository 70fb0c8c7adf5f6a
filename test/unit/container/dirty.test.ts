import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { overlayDriver } from '../../../dsl/container/drivers/overlay.js';
import type { ContainerRecord } from '../../../dsl/store/containers.js';
import type { Store } from '../../../dsl/store/store.js';

/*
 * The overlay driver's dirty(): commit seals pending changes only when it says so, so an upper dir it cannot
 * read must fail the verb, never read as "nothing pending". Only the driver's own directory layout is used
 * (upper/ below the container's directory), so the store is a stand-in naming that directory.
 */

const base = mkdtempSync(path.join(os.tmpdir(), 'cairn-dirty-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

function container(): { store: Store; rec: ContainerRecord; upper: string } {
  const dir = path.join(base, `c${n++}`);
  mkdirSync(dir);
  const store = { paths: { container: () => dir } } as unknown as Store;
  return { store, rec: { id: 'x' } as ContainerRecord, upper: path.join(dir, 'upper') };
}

describe('overlay dirty()', () => {
  it('a missing or empty upper dir: nothing pending', async () => {
    const a = container();
    expect(await overlayDriver.dirty(a.store, a.rec)).toBe(false);
    const b = container();
    mkdirSync(b.upper);
    expect(await overlayDriver.dirty(b.store, b.rec)).toBe(false);
  });

  it('a file anywhere in the upper dir: pending', async () => {
    const c = container();
    mkdirSync(path.join(c.upper, 'a', 'b'), { recursive: true });
    writeFileSync(path.join(c.upper, 'a', 'b', 'f'), 'x');
    expect(await overlayDriver.dirty(c.store, c.rec)).toBe(true);
  });

  it('an upper dir that cannot be read as a directory throws (it does not read as "not dirty")', async () => {
    const c = container();
    writeFileSync(c.upper, 'not a directory');
    await expect(overlayDriver.dirty(c.store, c.rec)).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable directory inside it throws (as a normal user)', async () => {
    const c = container();
    mkdirSync(path.join(c.upper, 'locked'), { recursive: true, mode: 0o000 });
    try {
      await expect(overlayDriver.dirty(c.store, c.rec)).rejects.toMatchObject({ code: 'EACCES' });
    } finally {
      rmSync(path.join(c.upper, 'locked'), { recursive: true, force: true });
    }
  });
});
