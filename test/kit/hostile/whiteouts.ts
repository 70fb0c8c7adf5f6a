// Whiteouts and opaque markers aimed at '..', '.', nothing or the root, and applied under symlinked parents
// (in one layer, and across layers where the copying driver applies them onto one tree).
import { D, F, L, TRICK } from './entries.js';
import { LAYERED, layerCase, rel } from './layer-case.js';
import type { HostileCase, Source } from './types.js';

/** Where whiteouts are applied on a tree rather than kept as overlay markers: the copying driver and exec. */
const APPLIED: Source[] = ['tarball', 'tarball-vfs'];

/** Whiteouts. */
export const whiteouts: HostileCase[] = [
  ...layerCase({
    klass: 'whiteouts', id: 'name-dotdot', outcome: 'refused',
    what: '.wh... (a whiteout of ..)',
    layers: () => [D('a/'), F('a/.wh...', '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'name-dot', outcome: 'refused',
    what: 'a/.wh.. (a whiteout of .)',
    layers: () => [D('a/'), F('a/.wh..', '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'name-empty', outcome: 'refused',
    what: 'a/.wh. (a whiteout of nothing)',
    layers: () => [D('a/'), F('a/.wh.', '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'opaque-root', outcome: 'refused',
    what: '/.wh..wh..opq: the root marked opaque',
    layers: () => [F('.wh..wh..opq', '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'under-absolute-link', outcome: 'confined', sources: APPLIED,
    what: 's → CANARY, then s/.wh.victim',
    layers: (c) => [L('s', c.canary), F('s/.wh.victim', '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'under-root-link', outcome: 'confined', sources: ['tarball-vfs'],
    what: 'h → /, then h/CANARY/.wh.victim and h/CANARY/.wh.vdir',
    layers: (c) => [L('h', '/'), F(`h/${rel(c.canary)}/.wh.victim`, ''), F(`h/${rel(c.canary)}/.wh.vdir`, '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'missing-component', outcome: 'confined', sources: [...APPLIED, 'exec'],
    what: 'the missing-component trick: a/CANARY/.wh.victim and a/CANARY/.wh.vdir',
    layers: (c) => [...TRICK, F(`a/${rel(c.canary)}/.wh.victim`, ''), F(`a/${rel(c.canary)}/.wh.vdir`, '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'missing-component-home', outcome: 'confined', sources: ['tarball-vfs'],
    what: 'the missing-component trick: a/HOME/.wh..bashrc',
    layers: (c) => [...TRICK, F(`a/${rel(c.home)}/.wh..bashrc`, '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'opaque-under-link', outcome: 'confined', sources: ['tarball-vfs'],
    what: 's → CANARY/vdir, then s/.wh..wh..opq',
    layers: (c) => [L('s', `${c.canary}/vdir`), F('s/.wh..wh..opq', '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'opaque-missing-component', outcome: 'confined', sources: APPLIED,
    what: 'the missing-component trick: a/CANARY/vdir/.wh..wh..opq and a/CANARY/.wh..wh..opq',
    layers: (c) => [...TRICK, F(`a/${rel(c.canary)}/vdir/.wh..wh..opq`, ''), F(`a/${rel(c.canary)}/.wh..wh..opq`, '')],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'layered-under-link', outcome: 'confined', sources: LAYERED,
    what: 'layer 1: etc → CANARY; layer 2: etc/.wh.victim and etc/.wh.vdir',
    layers: (c) => [[L('etc', c.canary)], [F('etc/.wh.victim', ''), F('etc/.wh.vdir', '')]],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'layered-opaque', outcome: 'confined', sources: LAYERED,
    what: 'layer 1: v → CANARY/vdir; layer 2: v/.wh..wh..opq',
    layers: (c) => [[L('v', `${c.canary}/vdir`)], [F('v/.wh..wh..opq', '')]],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'layered-write', outcome: 'confined', sources: ['oci-vfs'],
    what: 'layer 1: etc → CANARY; layer 2: etc/victim and etc/new',
    layers: (c) => [[L('etc', c.canary)], [F('etc/victim'), F('etc/new')]],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'layered-missing-component', outcome: 'confined', sources: LAYERED,
    what: 'layer 1: the trick links; layer 2: a/CANARY/.wh.victim and a/CANARY/vdir/.wh..wh..opq',
    layers: (c) => [TRICK, [F(`a/${rel(c.canary)}/.wh.victim`, ''), F(`a/${rel(c.canary)}/vdir/.wh..wh..opq`, '')]],
  }),
  ...layerCase({
    klass: 'whiteouts', id: 'layered-dir-swapped', outcome: 'confined', sources: ['oci-vfs'],
    what: 'layer 1: d/x; layer 2: d → CANARY, then d/victim',
    layers: (c) => [[D('d/'), F('d/x')], [L('d', c.canary), F('d/victim')]],
  }),
];
