import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { homeOf, resolveUser } from '../../../dsl/container/users.js';

const base = mkdtempSync(path.join(os.tmpdir(), 'cairn-users-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function root(name: string, files: Record<string, string>): string {
  const r = path.join(base, name);
  mkdirSync(path.join(r, 'etc'), { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(r, 'etc', f), text);
  return r;
}

const good = root('good', {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nbroken:x:12\napp:x:1000:100:App:/home/app:/bin/sh\nnohome:x:1001:1001\n',
  group: 'root:x:0:\nusers:x:100:\nstaff:x:50:app\n',
});

describe('resolveUser (the container\'s /etc/passwd and /etc/group, as buildah)', () => {
  it.each([
    [undefined, { uid: 0, gid: 0 }],
    ['', { uid: 0, gid: 0 }],
    ['app', { uid: 1000, gid: 100 }],
    ['1000', { uid: 1000, gid: 100 }],
    ['4242', { uid: 4242, gid: 0 }],
    ['app:staff', { uid: 1000, gid: 50 }],
    ['app:7', { uid: 1000, gid: 7 }],
    ['12', { uid: 12, gid: 0 }],
  ])('%j → %j', async (spec, want) => {
    expect(await resolveUser(good, spec)).toEqual(want);
  });

  it('homeOf: the passwd home, undefined when none is named', async () => {
    expect(await homeOf(good, 1000)).toBe('/home/app');
    expect(await homeOf(good, 1001)).toBeUndefined();
    expect(await homeOf(good, 5)).toBeUndefined();
  });

  it('an unknown user or group is NotFoundError; a malformed line never matches', async () => {
    await expect(resolveUser(good, 'nobody')).rejects.toThrow(NotFoundError);
    await expect(resolveUser(good, 'broken')).rejects.toThrow(NotFoundError);
    await expect(resolveUser(good, 'app:wheel')).rejects.toThrow(/group wheel is not in the container's \/etc\/group/);
  });

  it('without /etc/passwd, numbers still work and names are not found', async () => {
    const bare = root('bare', {});
    expect(await resolveUser(bare, '5:6')).toEqual({ uid: 5, gid: 6 });
    await expect(resolveUser(bare, 'app')).rejects.toThrow(NotFoundError);
  });

  it('an /etc/passwd that cannot be read is an error, never "user not found"', async () => {
    const fifo = root('fifo', {});
    execFileSync('mkfifo', [path.join(fifo, 'etc', 'passwd')]);
    const err = await resolveUser(fifo, 'app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect(err).not.toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toBe('/etc/passwd in the image is not a regular file');
    const dir = root('dir', {});
    mkdirSync(path.join(dir, 'etc', 'passwd'));
    await expect(resolveUser(dir, '1000')).rejects.toThrow(BadInputError);
  });
});
