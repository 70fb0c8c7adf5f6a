import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { direntsOrEmpty, isMissing, lstatOrUndefined, makeDirs, makeDirsSync, readTextOrUndefined, readTextOrUndefinedSync, statOrUndefined } from '../../../dsl/core/fsutil.js';
import { asCairnError } from '../../../dsl/core/errors.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-fsutil-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'file');
writeFileSync(file, 'text');
const loop = path.join(dir, 'loop');
symlinkSync('loop', loop);
mkdirSync(path.join(dir, 'sub'));
writeFileSync(path.join(dir, 'sub', 'a'), '');
const asRoot = process.getuid?.() === 0;

describe('only "not found" is absent', () => {
  it('isMissing: ENOENT and ENOTDIR only', () => {
    for (const code of ['ENOENT', 'ENOTDIR']) expect(isMissing(Object.assign(new Error(code), { code }))).toBe(true);
    for (const code of ['EACCES', 'ELOOP', 'EIO', 'EISDIR', undefined]) expect(isMissing(Object.assign(new Error(String(code)), { code }))).toBe(false);
  });

  it('lstatOrUndefined: missing and below a file → undefined; the link itself, not its target; bigint on request', async () => {
    expect(await lstatOrUndefined(path.join(dir, 'nope'))).toBeUndefined();
    expect(await lstatOrUndefined(path.join(file, 'below'))).toBeUndefined();
    expect((await lstatOrUndefined(loop))?.isSymbolicLink()).toBe(true);
    expect(typeof (await lstatOrUndefined(file, { bigint: true }))?.size).toBe('bigint');
  });

  it('statOrUndefined: missing → undefined, a symlink loop throws ELOOP', async () => {
    expect(await statOrUndefined(path.join(dir, 'nope'))).toBeUndefined();
    expect((await statOrUndefined(file))?.size).toBe(4);
    await expect(statOrUndefined(loop)).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it('readTextOrUndefined (async and sync): missing → undefined, a directory throws EISDIR', async () => {
    expect(await readTextOrUndefined(file)).toBe('text');
    expect(readTextOrUndefinedSync(file)).toBe('text');
    expect(await readTextOrUndefined(path.join(dir, 'nope'))).toBeUndefined();
    expect(readTextOrUndefinedSync(path.join(dir, 'nope'))).toBeUndefined();
    await expect(readTextOrUndefined(dir)).rejects.toMatchObject({ code: 'EISDIR' });
    expect(() => readTextOrUndefinedSync(dir)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
  });

  it('direntsOrEmpty: missing → [], a file where the dir should be throws ENOTDIR', async () => {
    expect((await direntsOrEmpty(path.join(dir, 'sub'))).map((d) => d.name)).toEqual(['a']);
    expect(await direntsOrEmpty(path.join(dir, 'nope'))).toEqual([]);
    await expect(direntsOrEmpty(file)).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(direntsOrEmpty(loop)).rejects.toMatchObject({ code: 'ELOOP' });
  });

  it.skipIf(asRoot)('an unreadable directory throws EACCES (as a normal user)', async () => {
    const locked = path.join(dir, 'locked');
    mkdirSync(locked, { mode: 0o000 });
    await expect(direntsOrEmpty(locked)).rejects.toMatchObject({ code: 'EACCES' });
    await expect(statOrUndefined(path.join(locked, 'x'))).rejects.toMatchObject({ code: 'EACCES' });
  });
});

describe('makeDirs: mkdir -p that always ends', () => {
  it('makes the missing directories with the mode given, and accepts what is there', async () => {
    const deep = path.join(dir, 'mk', 'a', 'b');
    await makeDirs(deep, 0o700);
    expect(statSync(deep).mode & 0o777).toBe(0o700);
    await makeDirs(deep);
    makeDirsSync(path.join(dir, 'mk', 'a', 'c'));
    expect(statSync(path.join(dir, 'mk', 'a', 'c')).isDirectory()).toBe(true);
  });

  it('throws ENOTDIR for a file in the way, sync and async', async () => {
    await expect(makeDirs(path.join(file, 'x', 'y'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(() => makeDirsSync(path.join(file, 'x'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it('throws where a parent refuses new entries (Node.js recursive mkdir loops there forever)', async () => {
    await expect(makeDirs('/proc/cairn-no/such')).rejects.toMatchObject({ code: 'ENOENT', path: '/proc/cairn-no' });
    expect(() => makeDirsSync('/proc/cairn-no/such')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });

  it('a failed system call becomes one line naming the path, with what to do', async () => {
    const err = await makeDirs('/proc/cairn-no').catch((e: unknown) => e);
    const e = asCairnError(err);
    expect(e.message).toBe('cannot create directory /proc/cairn-no: no such file or directory (or the place does not accept new files)');
    expect(e.hint).toMatch(/directory must exist/);
  });
});
