import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CairnError } from '../../../dsl/core/errors.js';
import { BlobStore } from '../../../dsl/store/blobs.js';
import { ContainerRecords } from '../../../dsl/store/containers.js';
import { ImageRecords } from '../../../dsl/store/images.js';
import { StorePaths } from '../../../dsl/store/paths.js';
import { suffixCreator, uniqueSuffix } from '../../../dsl/core/unique.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});
const fresh = () => new StorePaths((dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-listing-'))));

describe('listing the store fails closed', () => {
  it('gives [] for a store that has nothing yet', async () => {
    const p = fresh();
    expect(await new ImageRecords(p).list()).toEqual([]);
    expect(await new ContainerRecords(p).list()).toEqual([]);
    expect(await new BlobStore(p).list()).toEqual([]);
  });

  it.each([
    ['a directory', (f: string) => mkdirSync(f)],
    ['not JSON', (f: string) => writeFileSync(f, '{"id": "')],
    ['malformed', (f: string) => writeFileSync(f, '{"id": "x"}')],
  ])('throws on an image record that is %s, naming it', async (_what, make) => {
    const p = fresh();
    mkdirSync(p.images, { recursive: true });
    make(path.join(p.images, 'a'.repeat(64) + '.json'));
    await expect(new ImageRecords(p).list()).rejects.toThrow(new RegExp(`${'a'.repeat(64)}\\.json`));
  });

  it('throws on a container record that cannot be read, and on a blobs directory that is not one', async () => {
    const p = fresh();
    mkdirSync(p.container('c'.repeat(64)), { recursive: true });
    writeFileSync(path.join(p.container('c'.repeat(64)), 'container.json'), '[]');
    await expect(new ContainerRecords(p).list()).rejects.toBeInstanceOf(CairnError);
    mkdirSync(path.dirname(p.blobs), { recursive: true });
    writeFileSync(p.blobs, '');
    await expect(new BlobStore(p).list()).rejects.toThrow(/cannot list .*blobs\/sha256: ENOTDIR/);
  });
});

describe('temporary names', () => {
  it('carry the PID and time of the verb that made them', () => {
    const t0 = Date.now();
    for (const name of [`blob-${uniqueSuffix()}`, `.tmp-container.json-${uniqueSuffix()}`, `meta.json.${uniqueSuffix()}.tmp`]) {
      const c = suffixCreator(name);
      expect(c?.pid).toBe(process.pid);
      expect(Math.abs(c!.time - t0)).toBeLessThan(5000);
    }
    expect(suffixCreator('run-Ab12Cd')).toBeUndefined();
    expect(suffixCreator('oci-archive-XyZ123')).toBeUndefined();
  });
});
