import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { extractLayer } from '../../../dsl/layer/extract.js';
import { fuzz, fuzzTimeout, onlyCairnErrors } from '../../kit/fuzz.js';
import { Sandbox } from '../../kit/fuzz-sandbox.js';
import { entriesWithCanary, layerEntries, onlyCairnOrOpen, openSeen, packLayer, type FuzzEntry } from '../../kit/fuzz-tar.js';
import { CANARY, buildTree, treeSpec, type TreeSpec } from '../../kit/fuzz-tree.js';
import { tmpDir, type FixEntry } from '../../kit/tarfix.js';

/**
 * The extractor and the whiteout applier under random layers (files, dirs, symlinks, hardlinks, FIFOs, devices,
 * whiteouts and opaque markers named with '..', absolute names, links to '/' and to a canary beside dest):
 * extraction succeeds or fails with a CairnError, never hangs, and nothing beside dest changes. In 'apply' mode
 * the layer lands on a random base tree that has hostile links of its own.
 */

const tmp = tmpDir('fuzz-extract');
afterAll(tmp.cleanup);
let serial = 0;

type Mode = 'overlay' | 'apply';

/** One property run: base tree (apply mode) and canary, extraction, comparison, cleanup. */
async function check(mode: Mode, entries: FuzzEntry[], base: TreeSpec, allowed = onlyCairnOrOpen): Promise<void> {
  const sb = new Sandbox(tmp.dir, serial++);
  try {
    if (mode === 'apply') buildTree(sb.dest, base, sb.canary);
    const tar = await packLayer(entriesWithCanary(entries, sb.canary));
    sb.seal();
    await extractLayer(Readable.from([tar]), sb.dest, { whiteouts: mode }).catch(allowed);
    sb.verify(`extract (${mode})`);
  } finally {
    sb.remove();
  }
}

const link = (name: string, linkname: string): FixEntry => ({ name, type: 'symlink', linkname });
const file = (name: string): FixEntry => ({ name, content: 'x' });
const hard = (name: string, linkname: string): FixEntry => ({ name, type: 'link', linkname });
const fifo = (name: string): FixEntry => ({ name, type: 'fifo' });

/** Fixed inputs replayed in both modes on every run: the issue's own cases, edge cases, and failures found by fuzzing once fixed (moved from OPEN). */
const FOUND: { why: string; entries: FuzzEntry[]; base?: TreeSpec }[] = [
  { why: 'a link through a missing dir and .. to a link to the canary', entries: [link('h', CANARY), link('l', '/x/../h'), file('l/a'), file('l/c/c/b'), file('l/new')] },
  { why: 'whiteouts and an opaque marker below a link to the canary', entries: [link('h', '../canary'), file('h/.wh.a'), file('h/b/.wh..wh..opq'), file('h/.wh.c')] },
  { why: 'a deferred hardlink to a FIFO whose parent becomes a link', entries: [{ name: 'd/', type: 'directory' }, fifo('d/p'), hard('q', 'd/p'), link('d', CANARY)] },
  { why: 'a hardlink to a canary file by host path, by climbing and through a link', entries: [hard('a', `${CANARY}/a`), hard('b', '../canary/a'), link('c', CANARY), hard('d', 'c/a')] },
  {
    why: 'a base tree whose links point out, whited out and written through',
    entries: [file('a/.wh.a'), file('b/.wh..wh..opq'), file('c/b/x'), file('.wh.c')],
    base: [['a', { kind: 'symlink', target: CANARY }], ['b', { kind: 'symlink', target: '../canary/b' }], ['c', { kind: 'symlink', target: '/x/../../canary/c' }]],
  },
  { why: 'a symlink entry with an empty target (was a raw ENOENT from symlink(2))', entries: [link('a', '')] },
  { why: 'a PAX uid above 4294967295 (was a RangeError from chown)', entries: [{ name: 'a', content: 'x', pax: { uid: '4294967296' } }] },
  { why: 'a PAX mtime out of the kernel\'s range (was a raw EINVAL from utimes)', entries: [{ ...link('a', 'x'), pax: { mtime: '99999999999999999999' } }] },
];

describe.each(['overlay', 'apply'] as const)('fuzz: extractLayer (%s)', (mode) => {
  it.each(FOUND)('replayed: $why', async ({ entries, base }) => {
    await check(mode, entries, base ?? [], onlyCairnErrors);
  });

  const runs = 15;
  it(`random layers change nothing beside dest`, async () => {
    const base = mode === 'apply' ? treeSpec(8) : fc.constant([] as TreeSpec);
    await fuzz(`extract (${mode})`, fc.asyncProperty(layerEntries(12), base, (entries, b) => check(mode, entries, b)), { runs, hangMs: 20_000, openSeen });
  }, fuzzTimeout(runs));
});
