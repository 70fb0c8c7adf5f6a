import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCairnError } from '../../../dsl/core/errors.js';
import { mountPoints, overlayOptions } from '../../../dsl/core/mounts.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-mounts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('overlayOptions: the one writer of overlayfs options', () => {
  it.each([
    ['a read-only stack (export)', { lower: ['b', 'a'], userxattr: false }, 'lowerdir=b:a'],
    ['a read-only stack as a user', { lower: ['b', 'a'], userxattr: true }, 'lowerdir=b:a,userxattr'],
    ['a sealable container tree (root)', { lower: ['l'], upper: '/u', work: '/w', userxattr: false, sealable: true }, 'lowerdir=l,upperdir=/u,workdir=/w,redirect_dir=off,metacopy=off,index=off'],
    ['a sealable container tree (user: userxattr never makes what sealing fears)', { lower: ['l'], upper: '/u', work: '/w', userxattr: true, sealable: true }, 'lowerdir=l,upperdir=/u,workdir=/w,userxattr'],
    ['a throwaway writable root (exec)', { lower: ['/r'], upper: '/o/u', work: '/o/w', userxattr: false }, 'lowerdir=/r,upperdir=/o/u,workdir=/o/w'],
    ['a layer given twice is kept at its uppermost place', { lower: ['c', 'b', 'c', 'a', 'b'], userxattr: false }, 'lowerdir=c:b:a'],
  ])('%s', (_n, layout, want) => {
    expect(overlayOptions(layout)).toBe(want);
  });
});

describe('mountPoints', () => {
  it('reads the mount points of a mountinfo table, octal escapes undone', async () => {
    const f = path.join(dir, 'mountinfo');
    writeFileSync(f, [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '40 22 0:35 / /mnt/with\\040space rw - tmpfs tmpfs rw',
      '',
    ].join('\n'));
    expect([...(await mountPoints(f))]).toEqual(['/', '/mnt/with space']);
  });

  it('a table that cannot be read throws a CairnError, never "nothing is mounted"', async () => {
    for (const bad of [path.join(dir, 'missing'), dir]) {
      let err: unknown;
      try {
        await mountPoints(bad);
      } catch (e) {
        err = e;
      }
      expect(isCairnError(err)).toBe(true);
      expect((err as Error).message).toMatch(/^cannot read the mount table .*: (ENOENT|EISDIR)$/);
    }
  });

  it('this process has a table', async () => {
    expect((await mountPoints()).has('/')).toBe(true);
  });
});
