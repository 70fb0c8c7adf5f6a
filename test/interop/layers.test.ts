// Layer boundaries as peers see them: several checkpoints (whiteouts, opaque directories) and --squash.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import {
  blobPath,
  cleanupValidated,
  containersKit,
  layerMembers,
  removeTree,
  requirePeers,
  tempDir,
  treeListing,
  validateOci,
  type ContainersKit,
  type Validated,
} from '../kit/peers.js';
import { tinyRootfsTar } from '../kit/tiny.js';

let k: CliKit;
let work: string;
let p: ContainersKit | undefined;
let layered: Validated;
let squashed: Validated;
let layeredDir: string;
let squashedDir: string;

/** The three checkpoints, in order. */
const STEPS = [
  'mkdir -p /data /opt/dir/sub && echo 1 > /data/added && echo a > /opt/dir/a && echo b > /opt/dir/b && echo c > /opt/dir/sub/c && ln -s a /opt/dir/link',
  'rm /data/added && echo 2 > /data/second && rm /bin/sleep',
  'rm -rf /opt/dir && mkdir /opt/dir && echo new > /opt/dir/new',
];

/** Makes a container from the tiny base and applies STEPS, with a checkpoint after each when asked. */
function build(name: string, checkpoints: boolean): string {
  const c = k.ok(['from', '--name', name, `tarball:${tinyRootfsTar()}`]);
  for (const [i, step] of STEPS.entries()) {
    k.ok(['run', c, '--', 'sh', '-c', step]);
    if (checkpoints) k.ok(['checkpoint', '-m', `cp${i + 1}`, c]);
  }
  return c;
}

beforeAll(() => {
  requirePeers('skopeo', 'umoci');
  k = cliKit('cairn-interop-layers-');
  work = tempDir('cairn-interop-layers-');
  layeredDir = path.join(work, 'layered');
  squashedDir = path.join(work, 'squashed');
  k.ok(['commit', build('layered', true), 'localhost/layered']);
  k.ok(['push', 'localhost/layered', `oci:${layeredDir}:l`]);
  k.ok(['commit', '--squash', build('squashed', false), 'localhost/squashed']);
  k.ok(['push', 'localhost/squashed', `oci:${squashedDir}:s`]);
  layered = validateOci(layeredDir, 'l');
  squashed = validateOci(squashedDir, 's');
}, 180_000);

afterAll(() => {
  cleanupValidated();
  p?.cleanup();
  k?.cleanup();
  if (work) removeTree(work);
});

/** The final state every reader must show. */
function expectFinalState(rootfs: string): void {
  expect(existsSync(path.join(rootfs, 'data/added'))).toBe(false);
  expect(readFileSync(path.join(rootfs, 'data/second'), 'utf8')).toBe('2\n');
  expect(existsSync(path.join(rootfs, 'bin/sleep'))).toBe(false);
  expect(existsSync(path.join(rootfs, 'bin/cat'))).toBe(true);
  expect(readdirSync(path.join(rootfs, 'opt/dir'))).toEqual(['new']);
  expect(readFileSync(path.join(rootfs, 'opt/dir/new'), 'utf8')).toBe('new\n');
}

describe('three checkpoints', () => {
  it('give base + 3 layers with matching diff IDs and history', () => {
    expect(layered.manifest.layers).toHaveLength(4);
    expect(layered.config.rootfs.diff_ids).toHaveLength(4);
    const comments = layered.config.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer).map((h: { comment?: string }) => h.comment);
    expect(comments.slice(1)).toEqual(['cp1', 'cp2', 'cp3']);
  });

  it('unpack with umoci to the final state (whiteouts and the replaced directory)', () => {
    expectFinalState(layered.rootfs);
  });

  it('hold each change in its own layer, the replaced directory as an opaque whiteout', () => {
    const [, l1, l2, l3]: string[][] = layered.manifest.layers.map((l: { digest: string }) => layerMembers(blobPath(layeredDir, l.digest)));
    expect(l1).toEqual(expect.arrayContaining(['data/added', 'opt/dir/a', 'opt/dir/sub/c', 'opt/dir/link']));
    expect(l1.some((n) => n.includes('.wh.'))).toBe(false);
    expect(l2).toEqual(expect.arrayContaining(['data/.wh.added', 'data/second', 'bin/.wh.sleep']));
    expect(l2).not.toContain('opt/dir/a');
    // the directory was removed and made again: its old entries hidden by an opaque marker
    expect(l3).toEqual(expect.arrayContaining(['opt/dir/.wh..wh..opq', 'opt/dir/new']));
    expect(l3.filter((n) => n.startsWith('opt/dir/') && !n.endsWith('/')).sort()).toEqual(['opt/dir/.wh..wh..opq', 'opt/dir/new']);
  });

  it('apply the same way in containers/storage (buildah from oci: + run)', () => {
    p ??= containersKit('cairn-peer-layers-');
    const b = p.buildahOk(['from', '--pull-never', `oci:${layeredDir}:l`]);
    expect(p.buildahOk(['run', '--isolation', 'chroot', b, '--', '/bin/sh', '-c', 'ls /opt/dir; ls /data; test -e /bin/sleep || echo no-sleep'])).toBe(
      'new\nsecond\nno-sleep',
    );
  });
});

describe('commit --squash', () => {
  it('gives exactly one layer, without whiteouts, that umoci unpacks', () => {
    expect(squashed.manifest.layers).toHaveLength(1);
    expect(squashed.config.rootfs.diff_ids).toHaveLength(1);
    const names = layerMembers(blobPath(squashedDir, squashed.manifest.layers[0].digest));
    expect(names.filter((n) => n.includes('.wh.'))).toEqual([]);
    expect(names).toContain('bin/sh');
    expectFinalState(squashed.rootfs);
  });

  it('unpacks to the same tree as the layered image', () => {
    expect(treeListing(squashed.rootfs)).toEqual(treeListing(layered.rootfs));
  });
});
