import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractLayer } from '../../../dsl/layer/extract.js';
import { overlayChanges, scanUpper } from '../../../dsl/layer/scan.js';
import { packEntries } from '../../../dsl/layer/tarwriter.js';
import { Readable } from 'node:stream';
import { mountOverlay, realRoot, sh, tarOf, tmpDir, treeState, umount, type FixEntry } from '../../kit/tarfix.js';

const tmp = tmpDir('overlay');
const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted.reverse()) {
    try {
      umount(m);
    } catch {
      /* already unmounted */
    }
  }
  tmp.cleanup();
});

describe.each((realRoot ? ['trusted', 'user'] : ['user']) as ('trusted' | 'user')[])('a real overlay mount (%s.overlay.* xattrs)', (flavor) => {
  const dir = path.join(tmp.dir, flavor);
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => path.join(dir, d));
  const userxattr = flavor === 'user';
  mkdirSync(dir, { recursive: true });
  sh(`
    mkdir -p lower upper work merged && cd lower
    mkdir -p keep edit rdir/deep gone
    echo k > keep/k && echo e > edit/file && echo o1 > rdir/old1 && echo o2 > rdir/deep/old2 && echo g > gone/g && echo d > del
    find . -exec touch -h -d @1500000000 {} +
  `, dir);
  mountOverlay({ lowers: [lower], upper, work, merged, userxattr });
  mounted.push(merged);
  sh(`
    rm del && rm -rf gone rdir && mkdir rdir && echo n > rdir/new
    echo more >> edit/file && echo a > added && mkdir -p newdir && echo f > newdir/f
    ln added added-link
  `, merged);
  const mergedView = treeState(merged);
  umount(merged);
  mounted.pop();

  it('scanUpper turns whiteout devices and opaque dirs into OCI whiteouts', async () => {
    const entries = await scanUpper(upper, flavor);
    expect(entries.map((e) => `${e.type} ${e.path}`)).toEqual([
      'file .wh.del',
      'file .wh.gone',
      'file added',
      'link added-link',
      'directory edit',
      'file edit/file',
      'directory newdir',
      'file newdir/f',
      'directory rdir',
      'file rdir/.wh..wh..opq',
      'file rdir/new',
    ]);
    expect(entries.find((e) => e.path === 'added-link')?.linkname).toBe('added');
    expect(entries.flatMap((e) => Object.keys(e.xattrs ?? {})).filter((k) => k.includes('overlay'))).toEqual([]);
  });

  it('overlayChanges reports A/C/D, not copied-up parents', async () => {
    const changes = await overlayChanges(upper, [lower], flavor);
    expect(changes.map((c) => `${c.kind} ${c.path}`)).toEqual([
      'A /added',
      'A /added-link',
      'D /del',
      'C /edit/file',
      'D /gone',
      'A /newdir',
      'A /newdir/f',
      'C /rdir',
      'D /rdir/deep',
      'A /rdir/new',
      'D /rdir/old1',
    ]);
  });

  it('a layer extracted in overlay mode is honoured by a real mount on top of the lower', async () => {
    const layerDir = path.join(dir, 'layer');
    await extractLayer(packEntries(await scanUpper(upper, flavor)), layerDir, { whiteouts: 'overlay', flavor });
    const wh = lstatSync(path.join(layerDir, 'del'));
    expect([wh.isCharacterDevice(), wh.rdev]).toEqual([true, 0]);
    expect(execFileSync('getfattr', ['--absolute-names', '--only-values', '-n', `${flavor}.overlay.opaque`, path.join(layerDir, 'rdir')], { encoding: 'utf8' })).toBe('y');
    const view = path.join(dir, 'view');
    mkdirSync(view);
    mountOverlay({ lowers: [layerDir, lower], merged: view, userxattr });
    mounted.push(view);
    try {
      expect(treeState(view)).toEqual(mergedView);
    } finally {
      umount(view);
      mounted.pop();
    }
  });
});

const lowerLayer: FixEntry[] = [
  { name: 'a/', type: 'directory' },
  { name: 'a/x', content: 'x' },
  { name: 'a/y', content: 'y' },
  { name: 'd/', type: 'directory' },
  { name: 'd/old', content: 'old' },
  { name: 'x/', type: 'directory' },
  { name: 'x/old', content: 'old' },
  { name: 'r/', type: 'directory' },
  { name: 'r/child', content: 'c' },
  { name: 'file', content: 'f' },
];

describe('overlay mode and apply mode give the same tree', () => {
  it.each([
    ['a whiteout and an opaque dir', [{ name: 'a/.wh.x' }, { name: 'd/.wh..wh..opq' }, { name: 'd/new', content: 'n' }]],
    ['a whiteout before the new directory', [{ name: '.wh.x' }, { name: 'x/', type: 'directory' }, { name: 'x/new', content: 'n' }]],
    ['a whiteout after the new directory', [{ name: 'x/', type: 'directory' }, { name: 'x/new', content: 'n' }, { name: '.wh.x' }]],
    ['an opaque marker after the entries', [{ name: 'd/new', content: 'n' }, { name: 'd/.wh..wh..opq' }]],
    ['a file replacing a dir and a dir replacing a file', [{ name: 'r', content: 'file now' }, { name: 'file/', type: 'directory' }, { name: 'file/in', content: 'i' }]],
  ] as [string, FixEntry[]][])('%s', async (name, layer) => {
    const dir = path.join(tmp.dir, 'modes', name.replace(/\W+/g, '-'));
    const [applied, l1, l2, view] = ['applied', 'l1', 'l2', 'view'].map((d) => path.join(dir, d));
    const tars = [await tarOf(lowerLayer), await tarOf(layer)];
    const flavor = realRoot ? 'trusted' : 'user';
    for (const t of tars) await extractLayer(Readable.from([t]), applied, { whiteouts: 'apply' });
    await extractLayer(Readable.from([tars[0]]), l1, { whiteouts: 'overlay', flavor });
    await extractLayer(Readable.from([tars[1]]), l2, { whiteouts: 'overlay', flavor });
    mkdirSync(view);
    mountOverlay({ lowers: [l2, l1], merged: view, userxattr: !realRoot });
    mounted.push(view);
    try {
      expect(treeState(view, { dirMtimes: false })).toEqual(treeState(applied, { dirMtimes: false }));
    } finally {
      umount(view);
      mounted.pop();
    }
  });
});
