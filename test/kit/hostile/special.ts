// Device nodes and setuid files (as root and rootless), and duplicate entries (the last one wins).
import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { C, D, F, L } from './entries.js';
import { DRIVERS, layerCase, rel } from './layer-case.js';
import { sha } from './tar.js';
import type { HostileCase } from './types.js';

/** The host uid of a uid of this process' user namespace (identity outside one). */
function hostUid(uid: number): number {
  for (const line of readFileSync('/proc/self/uid_map', 'utf8').trim().split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (uid >= inside && uid < inside + count) return outside + (uid - inside);
  }
  return 65534;
}

const deviceLines = (stderr: string): string[] => stderr.split('\n').filter((l) => /warning: .*device node/i.test(l));

/** Device nodes and setuid files. */
export const special: HostileCase[] = [
  ...layerCase({
    klass: 'special', id: 'devices-rootless', outcome: 'confined', only: 'rootless',
    what: 'a character and a block device, rootless: skipped with one warning',
    layers: () => [D('dev/'), C('dev/mynull'), { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660 }, C('dev/zero2', 1, 5), F('dev/after', 'after\n')],
    lands: () => [{ path: 'dev/mynull', type: 'absent' }, { path: 'dev/sda', type: 'absent' }, { path: 'dev/after', file: 'after\n' }],
    after: (_c, r) => (r.status === 0 && deviceLines(r.stderr).length !== 1 ? [`expected one device warning, got ${deviceLines(r.stderr).length}`] : []),
  }),
  ...layerCase({
    klass: 'special', id: 'devices-root', outcome: 'confined', only: 'root',
    what: 'a character device as real root: made inside the root only',
    layers: () => [D('dev/'), C('dev/mynull')],
    lands: () => [{ path: 'dev/mynull', type: 'char' }],
  }),
  ...layerCase({
    klass: 'special', id: 'setuid-file', outcome: 'confined', sources: DRIVERS,
    what: 'a setuid-root program: kept inside the root, owned by the user when rootless',
    layers: () => [D('bin/'), F('bin/su', '#!/bin/sh\n', { mode: 0o4755 }), F('bin/sg', '#!/bin/sh\n', { mode: 0o2755, uid: 1000, gid: 1000 })],
    lands: () => [{ path: 'bin/su', file: '#!/bin/sh\n', mode: 0o4755 }],
    after: (c, r, source, layers) => {
      if (r.status !== 0 || process.getuid?.() !== 0) return [];
      const f = path.join(c.root, 'layers', sha(layers[0]).slice(7), 'bin/su');
      const owner = hostUid(lstatSync(f).uid);
      const rootless = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') !== '0 0 4294967295';
      return rootless && owner === 0 ? [`${source}: a setuid file owned by the host's root`] : [];
    },
  }),
  ...layerCase({
    klass: 'special', id: 'setuid-through-link', outcome: 'confined',
    what: 'b → CANARY, then a setuid file b/su',
    layers: (c) => [L('b', c.canary), F('b/su', '#!/bin/sh\n', { mode: 0o4755 })],
    lands: (c) => [{ path: `${rel(c.canary)}/su`, mode: 0o4755 }],
  }),
];

/** Duplicate entries: the last one wins, whatever the types. */
export const duplicates: HostileCase[] = [
  ...layerCase({
    klass: 'duplicates', id: 'file-twice', outcome: 'confined',
    what: 'x twice: the second content stays',
    layers: () => [F('x', 'one\n'), F('x', 'two\n')],
    lands: () => [{ path: 'x', file: 'two\n' }],
  }),
  ...layerCase({
    klass: 'duplicates', id: 'dir-then-file', outcome: 'confined',
    what: 'x/ with x/y, then a file x',
    layers: () => [D('x/'), F('x/y'), F('x', 'file\n')],
    lands: () => [{ path: 'x', file: 'file\n' }],
  }),
  ...layerCase({
    klass: 'duplicates', id: 'file-then-dir', outcome: 'confined',
    what: 'a file x, then x/ and x/y',
    layers: () => [F('x', 'file\n'), D('x/'), F('x/y', 'y\n')],
    lands: () => [{ path: 'x', type: 'dir' }, { path: 'x/y', file: 'y\n' }],
  }),
  ...layerCase({
    klass: 'duplicates', id: 'link-twice', outcome: 'confined',
    what: 'x → CANARY, then x → /elsewhere, then x/victim',
    layers: (c) => [L('x', c.canary), L('x', '/elsewhere'), F('x/victim')],
    lands: () => [{ path: 'x', symlink: '/elsewhere' }, { path: 'elsewhere/victim', file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'duplicates', id: 'file-then-link', outcome: 'confined',
    what: 'a file x, then x → CANARY, then x/victim',
    layers: (c) => [F('x', 'file\n'), L('x', c.canary), F('x/victim')],
    lands: (c) => [{ path: 'x', symlink: c.canary }, { path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
];
