import { existsSync, lstatSync, mkdirSync, mkfifoSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { InRoot, MAX_SYMLINKS, resolveInRoot } from '../../../dsl/layer/inroot.js';
import { tmpDir } from '../../kit/tarfix.js';

const tmp = tmpDir('inroot');
afterAll(tmp.cleanup);

// ROOT holds links of every kind; OUTSIDE is a host canary beside it that nothing may resolve into.
let root: string;
let outside: string;
beforeAll(() => {
  root = path.join(tmp.dir, 'root');
  outside = path.join(tmp.dir, 'outside');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'canary'), 'host');
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  const links: [string, string][] = [
    ['toroot', '/'], ['up', '../../..'], ['abs-etc', '/etc'], ['rel-etc', 'etc'], ['host', outside],
    ['missing-dotdot', '/nonexistent/../up'], ['loop', 'loop'], ['ping', 'pong'], ['pong', 'ping'],
    ['lib', 'usr/lib'], ['chain', 'abs-etc/../lib/../toroot/etc'], ['file-parent', 'etc/passwd/x'],
  ];
  for (const [name, target] of links) symlinkSync(target, path.join(root, name));
  symlinkSync('../../../../..', path.join(root, 'usr/lib/deep-up'));
  mkfifoSync(path.join(root, 'fifo'));
});

function mkfifoSync(p: string): void {
  execFileSync('mkfifo', [p]);
}

const cases: [string, string, string | 'refused'][] = [
  ['/etc/passwd', 'a plain path', 'etc/passwd'],
  ['etc/../etc/./passwd', 'dots', 'etc/passwd'],
  ['/../../../etc/passwd', '.. above the root is clamped', 'etc/passwd'],
  ['/toroot/etc/passwd', 'a link to /', 'etc/passwd'],
  ['/up/etc', 'a link climbing out', 'etc'],
  ['/host/canary', 'an absolute link to a host dir', 'tmp-outside'],
  ['/abs-etc/passwd', 'an absolute link', 'etc/passwd'],
  ['/rel-etc/passwd', 'a relative link', 'etc/passwd'],
  ['/missing-dotdot/escaped', 'a missing component then ..', 'escaped'],
  ['/nonexistent/../up/escaped', 'a missing component then .. in the path itself', 'escaped'],
  ['/nonexistent/deeper/../../up/x', 'two missing components then ..', 'x'],
  ['/chain/passwd', 'a chain of links (.. is physical: after lib, it is usr)', 'usr/toroot/etc/passwd'],
  ['/usr/lib/deep-up/etc', 'a relative link climbing from deep down', 'etc'],
  ['/lib/deep-up/lib', 'links within links', 'usr/lib'],
  ['/loop/x', 'a loop', 'refused'],
  ['/ping', 'a two-link loop', 'refused'],
  ['/etc/passwd/x', 'a file as a directory', 'refused'],
  ['/file-parent', 'a link through a file', 'refused'],
];

describe('InRoot.resolve', () => {
  it.each(cases)('%s (%s)', (p, _what, want) => {
    const r = InRoot.open(root);
    try {
      if (want === 'refused') {
        expect(() => r.resolve(p)).toThrow(BadInputError);
        return;
      }
      const rel = r.resolve(p);
      // A host dir named by an absolute link is looked up inside the root: it does not exist there.
      if (want === 'tmp-outside') expect(rel).toBe(path.join(outside, 'canary').slice(1));
      else expect(rel).toBe(want);
      expect(path.join(root, rel).startsWith(root + path.sep) || rel === '').toBe(true);
    } finally {
      r.close();
    }
  });

  it('does not follow the last component without follow', async () => {
    await expect(InRoot.with(root, (r) => r.resolve('/toroot', { follow: false }))).resolves.toBe('toroot');
  });

  it('answers the root for /, .. and the empty path', async () => {
    for (const p of ['/', '..', '', '/up']) expect(await resolveInRoot(root, p)).toBe(root);
  });

  it(`allows ${MAX_SYMLINKS} expansions and refuses more`, () => {
    const r = InRoot.open(root);
    try {
      mkdirSync(path.join(root, 'hops'));
      for (let i = 0; i < MAX_SYMLINKS + 1; i++) symlinkSync(`l${i + 1}`, path.join(root, 'hops', `l${i}`));
      mkdirSync(path.join(root, 'hops', `l${MAX_SYMLINKS + 1}`));
      expect(r.resolve(`/hops/l1`)).toBe(`hops/l${MAX_SYMLINKS + 1}`);
      expect(() => r.resolve(`/hops/l0`)).toThrow(/too many levels/);
    } finally {
      r.close();
    }
  });
});

describe('InRoot.locate', () => {
  it('creates missing parents inside the root, through links', () => {
    const r = InRoot.open(root);
    try {
      const loc = r.locate('/missing-dotdot/new/a/b', { create: true });
      expect(loc.rel).toBe('new/a/b');
      expect(loc.stat).toBeUndefined();
      writeFileSync(loc.path, 'x', { flag: 'wx' });
      expect(readFileSync(path.join(root, 'new/a/b'), 'utf8')).toBe('x');
    } finally {
      r.close();
    }
  });

  it('pins the parent: a parent swapped for a link after the lookup is not followed', () => {
    const r = InRoot.open(root);
    try {
      mkdirSync(path.join(root, 'swap'));
      const loc = r.locate('/swap/f');
      // Someone replaces /swap by a link to the host directory.
      execFileSync('mv', [path.join(root, 'swap'), path.join(root, 'swapped')]);
      symlinkSync(outside, path.join(root, 'swap'));
      writeFileSync(loc.path, 'pinned', { flag: 'wx' });
      expect(readFileSync(path.join(root, 'swapped/f'), 'utf8')).toBe('pinned');
      expect(readdirSync(outside)).toEqual(['canary']);
    } finally {
      r.close();
    }
  });

  it('never lets a stale cached directory lead outside', () => {
    const r = InRoot.open(root);
    try {
      mkdirSync(path.join(root, 'cached/sub'), { recursive: true });
      expect(r.resolve('/cached/sub')).toBe('cached/sub');
      execFileSync('rm', ['-rf', path.join(root, 'cached')]);
      symlinkSync(outside, path.join(root, 'cached'));
      r.forget('cached');
      const loc = r.locate('/cached/sub/x');
      expect(loc.rel).toBe(path.join(outside, 'sub/x').slice(1));
      expect(loc.dir).toBe('');
    } finally {
      r.close();
    }
  });
});

describe('InRoot.readFile', () => {
  it('reads regular files only, bounded', () => {
    const r = InRoot.open(root);
    try {
      expect(r.readFile('/abs-etc/passwd', 1000)?.toString()).toMatch(/^root:/);
      expect(r.readFile('/etc/none', 1000)).toBeUndefined();
      expect(() => r.readFile('/fifo', 1000)).toThrow(/not a regular file/);
      expect(() => r.readFile('/etc/passwd', 3)).toThrow(/too large/);
      expect(() => r.readFile('/host/canary', 1000)).not.toThrow();
      expect(r.readFile('/host/canary', 1000)).toBeUndefined();
    } finally {
      r.close();
    }
  });
});

it('leaves the host canary alone', () => {
  expect(readdirSync(outside)).toEqual(['canary']);
  expect(readFileSync(path.join(outside, 'canary'), 'utf8')).toBe('host');
  expect(existsSync(path.join(tmp.dir, 'escaped'))).toBe(false);
  expect(lstatSync(outside).isDirectory()).toBe(true);
});
