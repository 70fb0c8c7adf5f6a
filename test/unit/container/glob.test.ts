import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { componentMatcher, glob, isGlob } from '../../../dsl/container/glob.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-glob-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const n of ['a.txt', 'b.txt', '.hidden.txt', 'c.md', 'x1', 'x2', 'xa', '{a,b}', 'a*b', 'sub/one.txt', 'sub/two.md', 'other/one.txt']) {
  const p = path.join(dir, n);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, '');
}
symlinkSync('loop', path.join(dir, 'loop'));
const rel = (hits: string[]) => hits.map((h) => path.relative(dir, h));

describe('componentMatcher (picomatch, one path component, shell rules)', () => {
  it.each([
    ['*.txt', 'a.txt', true], ['*.txt', '.hidden.txt', false], ['.*', '.hidden.txt', true], ['?', '.', false],
    ['x?', 'x1', true], ['x[0-9]', 'xa', false], ['x[!0-9]', 'xa', true], ['x[^0-9]', 'x1', false],
    ['{a,b}', 'a', false], ['{a,b}', '{a,b}', true], ['a\\*b', 'a*b', true], ['a\\*b', 'axb', false],
    ['@(a)', 'a', false], ['!(a)', 'b', false], ['+(a)', '+(a)', true], ['*', 'a/b', false], ['[abc', '[abc', true],
  ])('%s ~ %s → %s', (pattern, name, want) => {
    expect(componentMatcher(pattern)(name)).toBe(want);
  });

  it('isGlob', () => {
    expect(['*', 'a?', '[ab]'].map(isGlob)).toEqual([true, true, true]);
    expect(['a', '{a,b}', 'a.txt'].map(isGlob)).toEqual([false, false, false]);
  });
});

describe('glob', () => {
  it('expands per component, sorted, relative to cwd, dotfiles only for a dot pattern', async () => {
    expect(rel(await glob('*.txt', dir))).toEqual(['a.txt', 'b.txt']);
    expect(rel(await glob('.*.txt', dir))).toEqual(['.hidden.txt']);
    expect(rel(await glob('*/one.txt', dir))).toEqual(['other/one.txt', 'sub/one.txt']);
    expect(rel(await glob(path.join(dir, 'sub', '*')))).toEqual(['sub/one.txt', 'sub/two.md']);
    expect(rel(await glob('x[12]', dir))).toEqual(['x1', 'x2']);
    expect(rel(await glob('a\\*b', dir))).toEqual(['a*b']);
  });

  it('no match is an empty list (a missing directory, or a file where one is wanted)', async () => {
    expect(await glob('nope/*', dir)).toEqual([]);
    expect(await glob('a.txt/*', dir)).toEqual([]);
    expect(await glob('*.none', dir)).toEqual([]);
  });

  it('a symlink loop names nothing: no match, as a shell\'s glob', async () => {
    expect(await glob('loop/*', dir)).toEqual([]);
    expect(rel(await glob('*/one.txt', dir))).toEqual(['other/one.txt', 'sub/one.txt']);
  });

  it.skipIf(process.getuid?.() === 0)('a directory that cannot be read is an error, not "no match" (as a normal user)', async () => {
    const locked = path.join(dir, 'locked');
    mkdirSync(locked, { mode: 0o000 });
    try {
      await expect(glob('locked/*', dir)).rejects.toMatchObject({ code: 'EACCES' });
      await expect(glob('locked/x/*', dir)).rejects.toMatchObject({ code: 'EACCES' });
    } finally {
      rmSync(locked, { recursive: true, force: true });
    }
  });
});
