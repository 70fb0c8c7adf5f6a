import { existsSync, lstatSync, readFileSync, readdirSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { extractLayer } from '../../../dsl/layer/extract.js';
import { resolveInRoot } from '../../../dsl/layer/inroot.js';
import { tarOf, tmpDir, type FixEntry } from '../../kit/tarfix.js';

const tmp = tmpDir('extract');
afterAll(tmp.cleanup);

let n = 0;
async function applyLayers(...layers: FixEntry[][]): Promise<string> {
  const dest = path.join(tmp.dir, `root-${++n}`);
  for (const l of layers) await extractLayer(Readable.from([await tarOf(l)]), dest, { whiteouts: 'apply' });
  return dest;
}

const read = (root: string, p: string): string => readFileSync(path.join(root, p), 'utf8');
const ls = (root: string, p: string): string[] => readdirSync(path.join(root, p)).sort();

const base: FixEntry[] = [
  { name: 'a/', type: 'directory' },
  { name: 'a/x', content: 'x0' },
  { name: 'a/y', content: 'y0' },
  { name: 'd/', type: 'directory' },
  { name: 'd/sub/', type: 'directory' },
  { name: 'd/sub/f', content: 'f0' },
  { name: 'd/old', content: 'old' },
  { name: 'r/', type: 'directory' },
  { name: 'r/child', content: 'c' },
  { name: 'file', content: 'plain' },
  { name: 'h1', content: 'shared' },
  { name: 'h2', type: 'link', linkname: 'h1' },
  { name: '-x', content: 'lower' },
];

describe('extractLayer apply (OCI changeset rules)', () => {
  it('removes whited-out paths of earlier layers', async () => {
    const root = await applyLayers(base, [{ name: 'a/.wh.x' }, { name: '.wh.d' }]);
    expect(ls(root, 'a')).toEqual(['y']);
    expect(existsSync(path.join(root, 'd'))).toBe(false);
  });

  it.each([
    ['before', [{ name: 'd/.wh..wh..opq' }, { name: 'd/new', content: 'n' }, { name: 'd/sub/g', content: 'g' }]],
    ['after', [{ name: 'd/new', content: 'n' }, { name: 'd/sub/g', content: 'g' }, { name: 'd/.wh..wh..opq' }]],
  ] as [string, FixEntry[]][])('an opaque whiteout %s the new entries keeps only this layer\'s children', async (_, layer) => {
    const root = await applyLayers(base, layer);
    expect(ls(root, 'd')).toEqual(['new', 'sub']);
    expect(ls(root, 'd/sub')).toEqual(['g']);
  });

  it('keeps an entry of the same layer that its whiteout names', async () => {
    const root = await applyLayers(base, [{ name: '-x', content: 'upper' }, { name: '.wh.-x' }]);
    expect(read(root, '-x')).toBe('upper');
  });

  it.each([
    ['a file replaces a directory', [{ name: 'r', content: 'now a file' }], (root: string) => expect(read(root, 'r')).toBe('now a file')],
    ['a directory replaces a file', [{ name: 'file/', type: 'directory' }, { name: 'file/in', content: 'i' }], (root: string) => expect(ls(root, 'file')).toEqual(['in'])],
    ['a symlink replaces a directory', [{ name: 'r', type: 'symlink', linkname: '/a' }], (root: string) => expect(lstatSync(path.join(root, 'r')).isSymbolicLink()).toBe(true)],
    ['a hardlink may point to an earlier layer', [{ name: 'a/z', type: 'link', linkname: '/a/y' }], (root: string) => expect(lstatSync(path.join(root, 'a/z')).ino).toBe(lstatSync(path.join(root, 'a/y')).ino)],
    ['rewriting one name of a hardlinked file leaves the other', [{ name: 'h1', content: 'changed' }], (root: string) => {
      expect(read(root, 'h1')).toBe('changed');
      expect(read(root, 'h2')).toBe('shared');
    }],
  ] as [string, FixEntry[], (root: string) => void][])('%s', async (_, layer, check) => {
    check(await applyLayers(base, layer));
  });

  it('applies modes including setuid and sticky, owners and mtimes, even on read-only dirs', async () => {
    const root = await applyLayers([
      { name: 'ro/', type: 'directory', mode: 0o555, mtime: 1_000_000 },
      { name: 'ro/suid', content: 'x', mode: 0o4711, uid: 12, gid: 34, mtime: 2_000_000 },
      { name: 'tmp/', type: 'directory', mode: 0o1777 },
      { name: 'zero', content: 'z', mode: 0 },
    ]);
    const st = (p: string) => lstatSync(path.join(root, p));
    expect([st('ro').mode & 0o7777, st('ro').mtimeMs / 1000]).toEqual([0o555, 1_000_000]);
    expect([st('ro/suid').mode & 0o7777, st('ro/suid').uid, st('ro/suid').gid, st('ro/suid').mtimeMs / 1000]).toEqual([0o4711, 12, 34, 2_000_000]);
    expect(st('tmp').mode & 0o7777).toBe(0o1777);
    expect(st('zero').mode & 0o7777).toBe(0);
  });

  it('refuses a hardlink to a path the layer has not written yet', async () => {
    await expect(applyLayers([{ name: 'l', type: 'link', linkname: 'later' }, { name: 'later', content: '' }])).rejects.toBeInstanceOf(BadInputError);
  });
});

describe('resolveInRoot', () => {
  const root = path.join(tmp.dir, 'resolve');
  mkdirSync(path.join(root, 'etc', 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'file'), '');
  symlinkSync('/etc', path.join(root, 'abs'));
  symlinkSync('../../..', path.join(root, 'etc', 'sub', 'up'));
  symlinkSync('abs/sub', path.join(root, 'chain'));
  symlinkSync('loop', path.join(root, 'loop'));
  it.each([
    ['/abs/passwd', 'etc/passwd'],
    ['abs', 'etc'],
    ['/etc/sub/up/x', 'x'],
    ['/../../../x', 'x'],
    ['/chain/up/etc', 'etc'],
    ['/missing/../etc/./sub', 'etc/sub'],
    ['/new/dir/file', 'new/dir/file'],
  ])('%s → ROOT/%s', async (p, want) => {
    expect(await resolveInRoot(root, p)).toBe(path.join(root, want));
  });
  it.each(['/loop', '/loop/x', '/file/x'])('%s is refused', async (p) => {
    await expect(resolveInRoot(root, p)).rejects.toBeInstanceOf(BadInputError);
  });
});
