// Hardlinks out of the root, to symlinks, to directories, to missing names; deferred hardlinks to FIFOs and
// devices whose parent directory is swapped for a symlink before the end of the layer.
import { C, D, F, H, L, P, TRICK } from './entries.js';
import { DRIVERS, layerCase, rel } from './layer-case.js';
import type { HostileCase } from './types.js';

const UP = '../'.repeat(12);

/** Hardlink targets. */
export const hardlinks: HostileCase[] = [
  ...layerCase({
    klass: 'hardlinks', id: 'absolute-host-file', outcome: 'refused',
    what: 'pw hardlinked to /CANARY/secret, which the layer does not hold',
    layers: (c) => [H('pw', `${c.canary}/secret`)],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'dotdot', outcome: 'refused',
    what: 'pw hardlinked to ../../…/CANARY/secret',
    layers: (c) => [H('pw', `${UP}${rel(c.canary)}/secret`)],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'through-link-out', outcome: 'refused',
    what: 'h → /, pw hardlinked to h/CANARY/secret (not in the root)',
    layers: (c) => [L('h', '/'), H('pw', `h/${rel(c.canary)}/secret`)],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'through-link-inside', outcome: 'confined', sources: DRIVERS,
    what: 'h → /, etc/passwd, then hl hardlinked to h/etc/passwd: resolved in the root',
    layers: () => [L('h', '/'), D('etc/'), F('etc/passwd', 'root:x:0:0::/:/bin/sh\n'), H('hl', 'h/etc/passwd')],
    lands: () => [{ path: 'hl', file: 'root:x:0:0::/:/bin/sh\n' }],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'missing-component', outcome: 'refused', sources: ['tarball', 'tarball-vfs', 'exec'],
    what: 'the missing-component trick: pw hardlinked to a/CANARY/secret',
    layers: (c) => [...TRICK, H('pw', `a/${rel(c.canary)}/secret`)],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'to-symlink', outcome: 'confined',
    what: 's → CANARY/secret, hl hardlinked to s: links the symlink itself',
    layers: (c) => [L('s', `${c.canary}/secret`), H('hl', 's')],
    lands: (c) => [{ path: 'hl', symlink: `${c.canary}/secret` }],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'to-dir', outcome: 'refused',
    what: 'hl hardlinked to the directory d',
    layers: () => [D('d/'), H('hl', 'd')],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'to-root', outcome: 'refused',
    what: 'hl hardlinked to / (the root directory)',
    layers: () => [H('hl', '/')],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'to-missing', outcome: 'refused',
    what: 'hl hardlinked to a name the layer never had',
    layers: () => [H('hl', 'nothere')],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'to-itself', outcome: 'refused',
    what: 'x hardlinked to x, which does not exist',
    layers: () => [H('x', 'x')],
  }),
  ...layerCase({
    klass: 'hardlinks', id: 'then-overwritten', outcome: 'confined',
    what: 'b hardlinked to a, then b written again: a keeps its content',
    layers: () => [F('a', 'orig\n'), H('b', 'a'), F('b', 'new\n')],
    lands: () => [{ path: 'a', file: 'orig\n' }, { path: 'b', file: 'new\n' }],
  }),
];

/** Hardlinks to special files, made only at the end of the layer. */
export const deferred: HostileCase[] = [
  ...layerCase({
    klass: 'deferred', id: 'fifo-link-after-swap', outcome: 'confined', sources: DRIVERS,
    what: 'd/fifo (FIFO), d/hl hardlinked to it, then d → CANARY: nothing is made in CANARY',
    layers: (c) => [D('d/'), P('d/fifo'), H('d/hl', 'd/fifo'), L('d', c.canary)],
  }),
  ...layerCase({
    klass: 'deferred', id: 'fifo-target-swapped', outcome: 'confined', sources: ['tarball', 'tarball-vfs', 'exec'],
    what: 't/fifo (FIFO), hl hardlinked to it, then t → CANARY (which has a 0600 file named fifo)',
    layers: (c) => [D('t/'), P('t/fifo'), H('hl', 't/fifo'), L('t', c.canary)],
  }),
  ...layerCase({
    klass: 'deferred', id: 'device-target-swapped', outcome: 'confined', only: 'root', sources: DRIVERS,
    what: 't/null (char 1:3), hl hardlinked to it, then t → CANARY',
    layers: (c) => [D('t/'), C('t/null'), H('hl', 't/null'), L('t', c.canary)],
  }),
  ...layerCase({
    klass: 'deferred', id: 'fifo-grandparent-swapped', outcome: 'confined',
    what: 'a/vdir/fifo, hl hardlinked to it, then a → CANARY (which has vdir/)',
    layers: (c) => [D('a/'), D('a/vdir/'), P('a/vdir/fifo'), H('hl', 'a/vdir/fifo'), L('a', c.canary)],
  }),
  ...layerCase({
    klass: 'deferred', id: 'fifo-through-link', outcome: 'confined',
    what: 'd → CANARY, then a FIFO d/newfifo',
    layers: (c) => [L('d', c.canary), P('d/newfifo')],
    lands: (c) => [{ path: `${rel(c.canary)}/newfifo`, type: 'fifo' }],
  }),
  ...layerCase({
    klass: 'deferred', id: 'device-through-link', outcome: 'confined', only: 'root',
    what: 'd → CANARY, then a character device d/null',
    layers: (c) => [L('d', c.canary), C('d/null')],
    lands: (c) => [{ path: `${rel(c.canary)}/null`, type: 'char' }],
  }),
];
