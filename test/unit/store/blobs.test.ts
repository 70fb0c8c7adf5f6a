import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../../dsl/store/blobs.js';
import { StorePaths } from '../../../dsl/store/paths.js';
import { BadInputError } from '../../../dsl/core/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-blobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BlobStore', () => {
  const store = new BlobStore(new StorePaths(dir));
  it('stores content under its sha256 and reads it back', async () => {
    const info = await store.put(Buffer.from('hello'));
    expect(info.digest).toBe('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect((await store.read(info.digest)).toString()).toBe('hello');
  });
  it('refuses content that does not match the expected digest and stores nothing', async () => {
    const wrong = 'sha256:' + '0'.repeat(64);
    const before = await store.list();
    await expect(store.put(Buffer.from('x'), wrong)).rejects.toBeInstanceOf(BadInputError);
    expect(await store.has(wrong)).toBe(false);
    expect(await store.list()).toEqual(before);
  });
  it.each(['sha256:../../etc/passwd', 'sha256:ABC', 'md5:00', ''])('never uses %j as a path', (d) => {
    expect(() => store.path(d)).toThrow(BadInputError);
  });
});
