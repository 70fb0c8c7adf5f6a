import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { analyzeLayers, cacheDirOf, humanBytes, type LayerInput, type LayerItem } from '../../../dsl/container/layer-view.js';
import { tarItems } from '../../../dsl/container/layer-read.js';
import { tarOf } from '../../kit/tarfix.js';

/*
 * The dive view's analysis (dsl/container/layer-view.ts) on layers built in code: what each layer adds, changes
 * and deletes, the bytes later layers overwrite or delete, the caches left behind, and the suggestions; and the
 * tar reader that gives a layer's changeset from its headers.
 */

const file = (path: string, size: number): LayerItem => ({ path, type: 'file', size });
const dir = (path: string): LayerItem => ({ path, type: 'directory', size: 0 });
const wh = (path: string): LayerItem => ({ path, type: 'file', size: 0 });

const base: LayerInput = {
  kind: 'base', diffID: 'sha256:b',
  entries: [
    dir('bin'), file('bin/sh', 1000), file('bin/sleep', 500), dir('etc'), file('etc/passwd', 100),
    dir('usr'), dir('usr/share'), dir('usr/share/doc'), file('usr/share/doc/a', 50), file('usr/share/doc/b', 70),
    dir('var'), dir('var/cache'), dir('var/cache/apt'), file('var/cache/apt/x', 200), dir('home'), dir('home/al'),
  ],
};
const cp1: LayerInput = {
  kind: 'checkpoint', index: 1, message: 'one', diffID: 'sha256:c1',
  entries: [
    dir('bin'), wh('bin/.wh.sleep'), dir('etc'), file('etc/passwd', 120), dir('usr'), dir('usr/share'), wh('usr/share/.wh.doc'),
    dir('var'), dir('var/cache'), dir('var/cache/apt'), file('var/cache/apt/y', 3000), dir('opt'), file('opt/app', 10), file('opt/keep', 7),
    dir('home/al/.cache'), file('home/al/.cache/pip', 64), dir('srv'),
  ],
};
const cp2: LayerInput = {
  kind: 'checkpoint', index: 2, message: '', diffID: 'sha256:c2',
  entries: [dir('opt'), wh('opt/.wh..wh..opq'), file('opt/new', 5), file('opt/keep', 8)],
};
const pending: LayerInput = {
  kind: 'pending',
  entries: [dir('home'), dir('home/al'), wh('home/al/.wh..cache'), dir('lib'), dir('lib/py'), dir('lib/py/__pycache__'), file('lib/py/__pycache__/m.pyc', 2048)],
};

describe('analyzeLayers', () => {
  const [b, c1, c2, p] = analyzeLayers([base, cp1, cp2, pending]);

  it('lists each layer with what it adds, changes and deletes (files; a directory only when new and empty)', () => {
    expect([b, c1, c2, p].map((v) => [v.kind, v.index, v.message, v.diffID])).toEqual([
      ['base', undefined, undefined, 'sha256:b'], ['checkpoint', 1, 'one', 'sha256:c1'], ['checkpoint', 2, '', 'sha256:c2'], ['pending', undefined, undefined, undefined],
    ]);
    expect(b.added.map((a) => a.path)).toEqual(['/bin/sh', '/bin/sleep', '/var/cache/apt/x', '/etc/passwd', '/usr/share/doc/b', '/usr/share/doc/a', '/home/al']);
    expect(b.size).toBe(1920);
    expect(c1.added).toEqual([
      { kind: 'A', path: '/var/cache/apt/y', size: 3000 }, { kind: 'A', path: '/home/al/.cache/pip', size: 64 },
      { kind: 'A', path: '/opt/app', size: 10 }, { kind: 'A', path: '/opt/keep', size: 7 }, { kind: 'A', path: '/srv', size: 0 },
    ]);
    expect(c1.changed).toEqual([{ kind: 'C', path: '/etc/passwd', size: 120 }]);
    expect(c1.deleted).toEqual([{ kind: 'D', path: '/bin/sleep', size: 0 }, { kind: 'D', path: '/usr/share/doc', size: 0 }]);
    expect(c1.size).toBe(3201);
    // An opaque directory deletes what it hides, and what it holds again is a change.
    expect(c2.added).toEqual([{ kind: 'A', path: '/opt/new', size: 5 }]);
    expect(c2.changed).toEqual([{ kind: 'C', path: '/opt/keep', size: 8 }]);
    expect(c2.deleted).toEqual([{ kind: 'D', path: '/opt/app', size: 0 }]);
    expect(p.added).toEqual([{ kind: 'A', path: '/lib/py/__pycache__/m.pyc', size: 2048 }]);
    expect(p.deleted).toEqual([{ kind: 'D', path: '/home/al/.cache', size: 0 }]);
  });

  it('counts the bytes later layers overwrite or delete, a deleted directory as one path', () => {
    expect(b.wasted).toEqual({ bytes: 720, paths: ['/bin/sleep', '/usr/share/doc', '/etc/passwd'] });
    expect(c1.wasted).toEqual({ bytes: 81, paths: ['/home/al/.cache', '/opt/app', '/opt/keep'] });
    expect(c2.wasted).toEqual({ bytes: 0, paths: [] });
    expect(p.wasted).toEqual({ bytes: 0, paths: [] });
  });

  it('finds the caches each layer leaves behind that no later layer removes', () => {
    expect(b.caches).toEqual([{ path: '/var/cache/apt', bytes: 200 }]);
    // /home/al/.cache is deleted by the pending changes: only apt's cache is left.
    expect(c1.caches).toEqual([{ path: '/var/cache/apt', bytes: 3000 }]);
    expect(p.caches).toEqual([{ path: '**/__pycache__', bytes: 2048 }]);
  });

  it('suggests what to do, in one line each, the most bytes first', () => {
    expect(b.suggestions).toEqual([
      '720 B of base layer 1 is overwritten or deleted by checkpoint 1 (/bin/sleep, /usr/share/doc, /etc/passwd): a later layer only hides them, the image still carries them',
      'base layer 1 leaves 200 B in /var/cache/apt: it comes with the base image (deleting it in a later layer hides it but does not shrink the image)',
    ]);
    expect(c1.suggestions).toEqual([
      'checkpoint 1 leaves 2.9 KB in /var/cache/apt: `rollback 0`, then delete it (apt-get clean) in the same step before `checkpoint`',
      '64 B of checkpoint 1 is overwritten or deleted by the pending changes (/home/al/.cache): `rollback 0` and redo the step without them, so the image does not carry them twice',
      '17 B of checkpoint 1 is overwritten or deleted by checkpoint 2 (/opt/app, /opt/keep): `rollback 0` and redo the step without them, so the image does not carry them twice',
    ]);
    expect(c2.suggestions).toEqual([]);
    expect(p.suggestions).toEqual([
      'the pending changes leave 2.0 KB in **/__pycache__: delete it (find / -name __pycache__ -prune -exec rm -rf {} +, or PYTHONDONTWRITEBYTECODE=1) before `checkpoint`',
    ]);
  });

  it('takes a non-directory over a directory (and back) as replacing the whole subtree', () => {
    const [l0, l1, l2] = analyzeLayers([
      { kind: 'base', entries: [dir('x'), file('x/a', 10), dir('x/d'), file('x/d/b', 20), file('y', 3)] },
      { kind: 'checkpoint', index: 1, entries: [{ path: 'x', type: 'symlink', size: 0 }, dir('y'), file('y/c', 4)] },
      { kind: 'checkpoint', index: 2, entries: [file('x', 1)] },
    ]);
    expect(l0.wasted).toEqual({ bytes: 33, paths: ['/x', '/y'] });
    expect(l1.changed).toEqual([{ kind: 'C', path: '/x', size: 0 }]);
    expect(l1.added).toEqual([{ kind: 'A', path: '/y/c', size: 4 }]);
    expect(l2.changed).toEqual([{ kind: 'C', path: '/x', size: 1 }]);
  });

  it('counts a hardlink (a link entry) as no bytes, and a whiteout of nothing as no deletion', () => {
    const [l0, l1] = analyzeLayers([
      { kind: 'base', entries: [file('a', 100), { path: 'b', type: 'link', size: 0 }] },
      { kind: 'checkpoint', index: 1, entries: [wh('.wh.b'), wh('.wh.nothing'), wh('gone/.wh.x')] },
    ]);
    expect(l0.size).toBe(100);
    expect(l1.deleted).toEqual([{ kind: 'D', path: '/b', size: 0 }]);
    expect(l0.wasted.bytes).toBe(0);
  });

  it('handles a Debian-sized base in one pass', () => {
    const n = 12_000;
    const entries: LayerItem[] = [dir('usr'), dir('usr/share')];
    for (let i = 0; i < n / 100; i++) entries.push(dir(`usr/share/p${i}`));
    for (let i = 0; i < n; i++) entries.push(file(`usr/share/p${i % (n / 100)}/f${i}`, 1000));
    const del: LayerItem[] = [dir('usr'), dir('usr/share')];
    for (let i = 0; i < n / 200; i++) del.push(wh(`usr/share/.wh.p${i}`));
    const [l0, l1] = analyzeLayers([{ kind: 'base', entries }, { kind: 'checkpoint', index: 1, entries: del }]);
    expect(l0.added).toHaveLength(n);
    expect(l0.wasted.bytes).toBe((n / 2) * 1000);
    expect(l0.wasted.paths).toHaveLength(n / 200);
    expect(l1.deleted).toHaveLength(n / 200);
  });
});

describe('cacheDirOf and humanBytes', () => {
  it('places a file in the cache directory it lies in', () => {
    expect(cacheDirOf('var/cache/apt/archives/x.deb')?.path).toBe('/var/cache/apt');
    expect(cacheDirOf('var/lib/apt/lists/deb.debian.org_dists')?.path).toBe('/var/lib/apt/lists');
    expect(cacheDirOf('home/alice/.cache/pip/x')?.path).toBe('/home/alice/.cache');
    expect(cacheDirOf('root/.npm/_cacache/x')?.path).toBe('/root/.npm');
    expect(cacheDirOf('tmp/x')?.path).toBe('/tmp');
    expect(cacheDirOf('usr/lib/python3/__pycache__/a.pyc')?.path).toBe('**/__pycache__');
    expect(cacheDirOf('tmp')).toBeUndefined();
    expect(cacheDirOf('var/cache/aptitude/x')).toBeUndefined();
    expect(cacheDirOf('usr/lib/__pycache__')).toBeUndefined();
    expect(cacheDirOf('home/.cache')).toBeUndefined();
  });

  it('writes bytes as du -h does', () => {
    expect([0, 812, 1024, 5000, 40 * 1024 * 1024, 3 * 1024 ** 3].map(humanBytes)).toEqual(['0 B', '812 B', '1.0 KB', '4.9 KB', '40 MB', '3.0 GB']);
  });
});

describe('tarItems', () => {
  it('gives a layer tar\'s changeset from its headers, whiteouts and opaque markers included', async () => {
    const tar = await tarOf([
      { name: './', type: 'directory' }, { name: './etc/', type: 'directory' }, { name: './etc/passwd', content: 'root\n' },
      { name: './etc/.wh.group' }, { name: './opt/.wh..wh..opq' }, { name: './l', type: 'symlink', linkname: 'etc' },
      { name: './h', type: 'link', linkname: 'etc/passwd' }, { name: './big', content: Buffer.alloc(70_000) },
    ]);
    expect(await tarItems(Readable.from([tar]))).toEqual([
      dir('etc'), file('etc/passwd', 5), wh('etc/.wh.group'), wh('opt/.wh..wh..opq'), { path: 'l', type: 'symlink', size: 0 },
      { path: 'h', type: 'link', size: 0 }, file('big', 70_000),
    ]);
  });

  it('fails on a truncated tar', async () => {
    const tar = await tarOf([{ name: 'big', content: Buffer.alloc(10_000) }]);
    await expect(tarItems(Readable.from([tar.subarray(0, 3000)]))).rejects.toThrow();
  });
});
