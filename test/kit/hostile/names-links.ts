// Entry names that climb out, and symlinked parents (absolute, relative, to '/', to '..', chains, loops, the
// missing-component trick), each aiming at the host canary directory or the user's HOME.
import { D, F, L, TRICK } from './entries.js';
import { DRIVERS, layerCase, rel } from './layer-case.js';
import type { RawEntry } from './tar.js';
import type { HostileCase } from './types.js';

const UP = '../'.repeat(12);

/** A chain of n links l0 → l1 → … → l(n-1) → target. */
function chain(n: number, target: string): RawEntry[] {
  return Array.from({ length: n }, (_, i) => L(`l${i}`, i === n - 1 ? target : `l${i + 1}`));
}

/** '..' and absolute names. */
export const names: HostileCase[] = [
  ...layerCase({
    klass: 'names', id: 'dotdot-file', outcome: 'refused', sources: ['tarball', 'oci-archive', 'docker-archive', 'exec'],
    what: 'a file named ../../…/CANARY/victim',
    layers: (c) => [F(`${UP}${rel(c.canary)}/victim`)],
  }),
  ...layerCase({
    klass: 'names', id: 'dotdot-inner', outcome: 'refused',
    what: 'a/../../CANARY/victim: climbs above the root after an inner ..',
    layers: (c) => [F(`a/../../${rel(c.canary)}/victim`)],
  }),
  ...layerCase({
    klass: 'names', id: 'dotdot-dir', outcome: 'refused',
    what: 'a directory named ../x/',
    layers: () => [D('../x/')],
  }),
  ...layerCase({
    klass: 'names', id: 'dotdot-symlink-name', outcome: 'refused',
    what: 'a symlink named ../evil',
    layers: () => [L('../evil', '/')],
  }),
  ...layerCase({
    klass: 'names', id: 'dotdot-normalized', outcome: 'confined',
    what: 'a/b/../c stays inside: normalized to a/c',
    layers: () => [F('a/b/../c', 'in\n')],
    lands: () => [{ path: 'a/c', file: 'in\n' }],
  }),
  ...layerCase({
    klass: 'names', id: 'absolute-file', outcome: 'confined', sources: DRIVERS,
    what: 'a file named /CANARY/victim: the leading / is stripped',
    layers: (c) => [F(`${c.canary}/victim`)],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'names', id: 'absolute-dir', outcome: 'confined',
    what: '/CANARY/ as a 0700 directory with a new file',
    layers: (c) => [D(`${c.canary}/`, { mode: 0o700, mtime: 0 }), F(`${c.canary}/new`)],
    lands: (c) => [{ path: `${rel(c.canary)}/new`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'names', id: 'absolute-home', outcome: 'confined',
    what: '/HOME/.bashrc by its absolute name',
    layers: (c) => [F(`${c.home}/.bashrc`)],
  }),
  ...layerCase({
    klass: 'names', id: 'dot-names', outcome: 'confined',
    what: './, . and ././x',
    layers: () => [D('./'), D('.'), F('././x', 'x\n')],
    lands: () => [{ path: 'x', file: 'x\n' }],
  }),
];

/** Symlinked parents. */
export const symlinks: HostileCase[] = [
  ...layerCase({
    klass: 'symlinks', id: 'absolute-parent', outcome: 'confined', sources: [...DRIVERS, 'oci', 'oci-archive', 'docker-archive'],
    what: 'evil → CANARY, then evil/victim and evil/new',
    layers: (c) => [L('evil', c.canary), F('evil/victim'), F('evil/new')],
    lands: (c) => [{ path: 'evil', symlink: c.canary }, { path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'relative-parent', outcome: 'confined', sources: DRIVERS,
    what: 'up → ../../…, then up/CANARY/victim',
    layers: (c) => [L('up', UP.slice(0, -1)), F(`up/${rel(c.canary)}/victim`)],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'link-to-root', outcome: 'confined', sources: DRIVERS,
    what: 'h → /, then h/CANARY/victim',
    layers: (c) => [L('h', '/'), F(`h/${rel(c.canary)}/victim`)],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'link-to-dotdot', outcome: 'confined',
    what: 'p → .., then p/CANARY/victim',
    layers: (c) => [L('p', '..'), F(`p/${rel(c.canary)}/victim`)],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'nested-dotdot', outcome: 'confined',
    what: 'd/l → ../../.., then d/l/CANARY/victim',
    layers: (c) => [D('d/'), L('d/l', '../../..'), F(`d/l/${rel(c.canary)}/victim`)],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'chain', outcome: 'confined',
    what: 'a → b → c → CANARY, then a/victim',
    layers: (c) => [L('a', 'b'), L('b', 'c'), L('c', c.canary), F('a/victim')],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'deep-parent', outcome: 'confined',
    what: 'a/b/c → CANARY, then a/b/c/d/e/victim',
    layers: (c) => [L('a/b/c', c.canary), F('a/b/c/d/e/victim')],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'link-to-file-as-dir', outcome: 'confined',
    what: 'f → CANARY/victim (a host file), then f/x',
    layers: (c) => [L('f', `${c.canary}/victim`), F('f/x')],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'loop', outcome: 'refused',
    what: 'a → b, b → a, then a/x',
    layers: () => [L('a', 'b'), L('b', 'a'), F('a/x')],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'self-loop', outcome: 'refused',
    what: 's → s, then s/x',
    layers: () => [L('s', 's'), F('s/x')],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'long-chain', outcome: 'refused',
    what: '300 links l0 → l1 → … → CANARY, then l0/victim (too many expansions)',
    layers: (c) => [...chain(300, c.canary), F('l0/victim')],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'missing-component', outcome: 'confined', sources: ['tarball', 'tarball-vfs', 'exec'],
    what: 'h → /, a → /nonexistent/../h, then a/CANARY/victim: lands at ROOT/CANARY/victim',
    layers: (c) => [...TRICK, F(`a/${rel(c.canary)}/victim`)],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'missing-component-home', outcome: 'confined', sources: DRIVERS,
    what: 'the missing-component trick aimed at HOME/.bashrc',
    layers: (c) => [...TRICK, L('b', `/nonexistent/../h${c.home}`), F('b/.bashrc')],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'missing-component-relative', outcome: 'confined',
    what: 'u → ../../…, r → nonexistent/../u, then r/CANARY/victim',
    layers: (c) => [L('u', UP.slice(0, -1)), L('r', 'nonexistent/../u'), F(`r/${rel(c.canary)}/victim`)],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'final-link-replaced', outcome: 'confined', sources: DRIVERS,
    what: 'x → CANARY/victim, then a file x: the link is replaced, never followed',
    layers: (c) => [L('x', `${c.canary}/victim`), F('x', 'mine\n')],
    lands: () => [{ path: 'x', file: 'mine\n' }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'final-link-replaced-by-dir', outcome: 'confined',
    what: 'x → CANARY, then a 0700 directory x/ with time 0',
    layers: (c) => [L('x', c.canary), D('x/', { mode: 0o700, mtime: 0 })],
    lands: () => [{ path: 'x', type: 'dir', mode: 0o700 }],
  }),
  ...layerCase({
    klass: 'symlinks', id: 'dir-replaced-by-link', outcome: 'confined', sources: DRIVERS,
    what: 'a 0777 directory d/ (mode set at the end), then d → CANARY/vdir',
    layers: (c) => [D('d/', { mode: 0o777, mtime: 0 }), F('d/f'), L('d', `${c.canary}/vdir`)],
    lands: (c) => [{ path: 'd', symlink: `${c.canary}/vdir` }],
  }),
];
