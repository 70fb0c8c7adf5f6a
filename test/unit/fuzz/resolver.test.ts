import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InRoot, resolveInRoot } from '../../../dsl/layer/inroot.js';
import { fuzz, fuzzTimeout, longFuzz, onlyCairnErrors } from '../../kit/fuzz.js';
import {
  CANARY, ChrootOracle, ancestorsState, assertPhysical, buildTree, fuzzPath, lexicallyInside, plantCanary, realAncestor, snapshot, treeSpec, withCanary, type TreeSpec,
} from '../../kit/fuzz-tree.js';
import { tmpDir } from '../../kit/tarfix.js';

/**
 * The in-root resolver under random trees of dirs, files and symlinks (absolute and relative targets, '..',
 * links to '/', chains, loops, links at a canary beside the root) and random paths: the result always lies
 * inside the root, lexically and physically, every existing component of it is a real directory, and where
 * the kernel (a chroot) resolves the path the resolver finds the same object.
 */

/** The resolver as the property sees it (an adapter, so another implementation can be checked the same way). */
interface Resolver {
  /** The physical relative path ('' for the root). */
  resolve(p: string, follow: boolean): string;
  /** The host path. */
  hostPath(p: string, follow: boolean): string;
  /** mkdir -p inside the root; returns the physical relative path. */
  mkdirp?(p: string): string;
  close(): void;
}

type Opener = (root: string) => Promise<Resolver>;

const openInRoot: Opener = async (root) => {
  const r = InRoot.open(root);
  return {
    resolve: (p, follow) => r.resolve(p, { follow }),
    hostPath: (p, follow) => r.hostPath(p, { follow }),
    mkdirp: (p) => r.mkdirp(p).rel,
    close: () => r.close(),
  };
};

const tmp = tmpDir('fuzz-resolver');
afterAll(tmp.cleanup);
const oracle = ChrootOracle.create(tmp.dir);
// A chroot per run costs more than the rest of the run: the short run asks the kernel one time in four (drawn
// with the input, so a shrunk failure keeps its oracle).
const kernelTurn = longFuzz ? fc.constant(true) : fc.nat(3).map((n) => n === 0);
let serial = 0;

interface Query {
  p: string;
  follow: boolean;
}

/** One property run: builds the tree beside a canary, resolves every query, checks each answer, removes it all. */
async function check(open: Opener, spec: TreeSpec, queries: Query[], mkdirs: string[], askKernel = true): Promise<void> {
  const sandbox = path.join(tmp.dir, String(serial++), 's');
  const root = path.join(sandbox, 'root');
  const canary = path.join(sandbox, 'canary');
  mkdirSync(root, { recursive: true });
  try {
    plantCanary(canary);
    buildTree(root, spec, canary);
    if (oracle) oracle.install(root);
    const qs = queries.map((q) => ({ ...q, p: withCanary(q.p, canary) }));
    const beside = () => snapshot(sandbox, (rel) => rel === 'root' || rel.startsWith('root/'));
    const before = [beside(), ancestorsState(sandbox)];
    const rootReal = realAncestor(root);
    const r = await open(root);
    const answers: (string | undefined)[] = [];
    try {
      for (const q of qs) {
        let rel: string;
        try {
          rel = r.resolve(q.p, q.follow);
        } catch (err) {
          onlyCairnErrors(err);
          answers.push(undefined);
          continue;
        }
        answers.push(rel);
        const host = r.hostPath(q.p, q.follow);
        expect(host, `hostPath(${q.p})`).toBe(path.join(root, rel));
        expect(await resolveInRoot(root, q.p, { follow: q.follow }), `resolveInRoot(${q.p})`).toBe(host);
        if (!lexicallyInside(root, host)) throw new Error(`${q.p} resolved to ${host}, outside the root`);
        const real = realAncestor(host, q.follow);
        if (!lexicallyInside(rootReal, real)) throw new Error(`${q.p} resolved to ${host}, whose existing part ${real} is outside the root`);
        assertPhysical(root, rel, !q.follow);
      }
      // The kernel's answers, before mkdirp changes the tree.
      if (oracle && askKernel) {
        // Only paths whose last component is a name: a trailing '/' or '.' makes the kernel follow the link.
        const asked = qs.map((q, i) => ({ ...q, i })).filter((q) => q.follow || /(^|\/)[^/.][^/]*$/.test(q.p));
        const kernel = oracle.resolve(root, asked);
        asked.forEach((q, j) => {
          const ino = kernel[j];
          if (ino === undefined) return;
          const rel = answers[q.i];
          if (rel === undefined) throw new Error(`the kernel resolves ${JSON.stringify(q.p)} (follow ${q.follow}) but the resolver refused it`);
          // The trees hold no hardlinks, so the same inode means the same path.
          const ours = lstatSync(path.join(root, rel), { throwIfNoEntry: false });
          if (ours?.ino !== ino) throw new Error(`${JSON.stringify(q.p)} (follow ${q.follow}): the kernel finds inode ${ino}, the resolver /${rel} (inode ${ours?.ino})`);
        });
      }
      for (const p of r.mkdirp ? mkdirs.map((m) => withCanary(m, canary)) : []) {
        let rel: string;
        try {
          rel = r.mkdirp!(p);
        } catch (err) {
          onlyCairnErrors(err);
          continue;
        }
        assertPhysical(root, rel, false);
        if (!lstatSync(path.join(root, rel)).isDirectory()) throw new Error(`mkdirp(${p}) gave /${rel}, not a directory`);
      }
    } finally {
      r.close();
    }
    expect([beside(), ancestorsState(sandbox)], 'the canary and the sandbox beside the root are unchanged').toEqual(before);
  } finally {
    rmSync(path.join(sandbox, '..'), { recursive: true, force: true });
  }
}

const query: fc.Arbitrary<Query> = fc.record({ p: fuzzPath, follow: fc.boolean() });

/** Fixed inputs replayed on every run: the issue's own cases, edge cases, and failures found by fuzzing once fixed (moved from OPEN). */
const FOUND: { why: string; tree: TreeSpec; queries: Query[]; mkdirs?: string[] }[] = [
  {
    why: 'a missing component, then .., then a link to / (the issue: checks stopped after the missing one)',
    tree: [['h', { kind: 'symlink', target: '/' }], ['l', { kind: 'symlink', target: '/nonexistent/../h' }]],
    queries: [{ p: '/nonexistent/../h/a', follow: true }, { p: 'l/a', follow: true }, { p: 'x/../h', follow: false }],
    mkdirs: ['/nonexistent/../h/a', 'l/b'],
  },
  {
    why: 'a link to the canary by its host path and by a relative climb',
    tree: [['a', { kind: 'symlink', target: CANARY }], ['b', { kind: 'symlink', target: '../canary' }], ['c/c', { kind: 'symlink', target: '../../../canary/c' }]],
    queries: [{ p: 'a/a', follow: true }, { p: 'b/b/a', follow: true }, { p: 'c/c/c/b', follow: false }, { p: '../canary/a', follow: true }],
    mkdirs: ['a/b/x', 'b/x', 'c/c/c/x'],
  },
  {
    why: 'a loop and a chain',
    tree: [['a', { kind: 'symlink', target: 'b' }], ['b', { kind: 'symlink', target: 'a' }], ['c', { kind: 'symlink', target: '/c/../c' }]],
    queries: [{ p: 'a', follow: true }, { p: 'a', follow: false }, { p: 'c/x', follow: true }],
    mkdirs: ['a/x'],
  },
];

describe('fuzz: the in-root resolver (InRoot)', () => {
  const open = openInRoot;

  it.each(FOUND)('replayed: $why', async ({ tree, queries, mkdirs }) => {
    await check(open, tree, queries, mkdirs ?? []);
  });

  it(`random trees and paths stay inside the root${oracle ? ' (kernel oracle)' : ''}`, async () => {
    await fuzz(`resolver (InRoot${oracle ? ', chroot oracle' : ''})`, fc.asyncProperty(treeSpec(12), fc.array(query, { minLength: 1, maxLength: 12 }), fc.array(fuzzPath, { maxLength: 3 }), kernelTurn, (spec, qs, mkdirs, k) => check(open, spec, qs, mkdirs, k)), { runs: 20 });
  }, fuzzTimeout(20));
});
