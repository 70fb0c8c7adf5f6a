// copy of big trees: batches of files copied on worker threads land exactly as a small copy's would, replace
// what is in the way without following it, and never write outside the root.
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyInto } from '../../../dsl/container/copy.js';
import { from } from '../../../dsl/index.js';
import { IN_PROCESS } from '../../kit/api.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { withEnv } from '../../kit/env.js';
import { tmpDir, treeState } from '../../kit/tarfix.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

const tmp = tmpDir('fastcopy');
afterAll(tmp.cleanup);
const asRoot = process.getuid?.() === 0;

/** A source tree of n files in directories of 100 (some executable, some symlinks), times set in the past. */
function sourceTree(dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const d = path.join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(d, { recursive: true });
    const f = path.join(d, `f${i}`);
    if (i % 50 === 7) symlinkSync(`f${i - 1}`, f);
    else {
      writeFileSync(f, `file ${i}\n`.repeat(i % 13));
      chmodSync(f, i % 3 ? 0o644 : 0o755);
      utimesSync(f, 1_600_000_000 + i, 1_500_000_000 + i);
    }
  }
  for (let k = 0; k * 100 < n; k++) utimesSync(path.join(dir, `d${k}`), 1_400_000_000, 1_400_000_000 + k);
}

/** The tree as compared: every object, its mode, times and content; owners as a copy gives them. */
function state(dir: string) {
  return treeState(dir).map((it) => ({ ...it, uid: asRoot ? it.uid : 0, gid: asRoot ? it.gid : 0 }));
}

describe('copy of a tree too big for one thread', () => {
  const src = path.join(tmp.dir, 'src');
  const canary = path.join(tmp.dir, 'canary');

  beforeAll(() => {
    // More than one batch (4,096 jobs), the second one still big enough for a worker thread (256 jobs): the
    // thresholds of dsl/container/copy-leaves.ts.
    sourceTree(src, 4_400);
    writeFileSync(canary, 'host file');
  });

  it('lands as the same tree, owned by root, with modes and times kept', async () => {
    const root = path.join(tmp.dir, 'root1');
    mkdirSync(root);
    await copyInto(root, [src], '/data');
    const got = state(path.join(root, 'data'));
    const want = state(src).map((it) => ({ ...it, uid: 0, gid: 0 }));
    expect(got.length).toBe(4_400 + 44);
    expect(got).toEqual(want);
  });

  it('replaces what is in the way (a symlink out of the root, a directory) without following it', async () => {
    const root = path.join(tmp.dir, 'root2');
    mkdirSync(path.join(root, 'data', 'd3', 'f300'), { recursive: true });
    writeFileSync(path.join(root, 'data', 'd3', 'f300', 'inside'), 'x');
    symlinkSync(canary, path.join(root, 'data', 'd4-link'));
    mkdirSync(path.join(root, 'data', 'd4'));
    symlinkSync(canary, path.join(root, 'data', 'd4', 'f401'));
    symlinkSync('/', path.join(root, 'data', 'd5'));
    await copyInto(root, [src], '/data');
    expect(readFileSync(canary, 'utf8')).toBe('host file');
    expect(lstatSync(path.join(root, 'data', 'd3', 'f300')).isFile()).toBe(true);
    expect(lstatSync(path.join(root, 'data', 'd4', 'f401')).isFile()).toBe(true);
    expect(readFileSync(path.join(root, 'data', 'd4', 'f401'), 'utf8')).toBe(readFileSync(path.join(src, 'd4', 'f401'), 'utf8'));
    // A symlink where a directory goes is replaced by the directory, not followed to the host's /.
    expect(lstatSync(path.join(root, 'data', 'd5')).isDirectory()).toBe(true);
    expect(readlinkSync(path.join(root, 'data', 'd4-link'))).toBe(canary);
    expect(state(path.join(root, 'data', 'd5'))).toEqual(state(path.join(src, 'd5')).map((it) => ({ ...it, uid: 0, gid: 0 })));
  });

  it('fails with the name of a source that is not a file, directory or symlink, and copies nothing of it', async () => {
    const odd = path.join(tmp.dir, 'odd');
    mkdirSync(odd);
    writeFileSync(path.join(odd, 'a'), 'a');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [path.join(odd, 'pipe')]);
    const root = path.join(tmp.dir, 'root3');
    mkdirSync(root);
    await expect(copyInto(root, [odd], '/x')).rejects.toThrow(/cannot copy .*pipe: only files, directories and symlinks/);
  });
});

describe.runIf(IN_PROCESS)('copy into a container: a new directory is filled below the overlay view, as the view would fill it', () => {
  const src = path.join(tmp.dir, 'ctr-src');
  let k: CliKit;
  beforeAll(() => {
    k = cliKit('cairn-fastcopy-');
  });
  afterAll(() => k.cleanup());

  /** Builds on one driver, in-process: a copy to a new directory, one into an existing one, a run that reads both; a commit. */
  async function build(driver: 'overlay' | 'vfs') {
    const root = path.join(k.root, driver);
    return withEnv({ STORAGE_DRIVER: driver, SOURCE_DATE_EPOCH: '0' }, async () => {
      const c = await from(`tarball:${tinyRootfsTar()}`, { root });
      await c.copy(src, '/data');
      await c.copy(path.join(src, 'd1'), '/bin/');
      const seen = (await c.run(['sh', '-c', 'cat /data/d2/f201 /bin/f150; ls /data | head -3'])).stdout.trim();
      const diff = (await c.diff()).map((d) => `${d.kind} ${d.path}`).join('\n');
      const { id } = await c.commit('localhost/fastcopy:t');
      return { seen, diff, id };
    });
  }

  it('gives the same changes, files and image ID on the overlay driver as on the copying one', async () => {
    // More than the 256 files a copy hands to a worker thread.
    sourceTree(src, 600);
    const overlay = await build('overlay');
    const vfs = await build('vfs');
    expect(overlay.seen).toBe(`${'file 201\n'.repeat(201 % 13)}${'file 150\n'.repeat(150 % 13)}d0\nd1\nd2`);
    expect(overlay.diff.split('\n').length).toBeGreaterThan(600);
    expect(overlay.diff).toBe(vfs.diff);
    expect(overlay.id).toMatch(/^[0-9a-f]{64}$/);
    expect(overlay.id).toBe(vfs.id);
  }, 120_000);
});
