import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

let k: CliKit;
let tiny: string;
beforeAll(() => {
  k = cliKit();
  tiny = tinyRootfsTar();
});
afterAll(() => k.cleanup());

const cairnAsync = (args: string[], env: NodeJS.ProcessEnv = {}) => k.cairnAsync(args, env);

describe('store', () => {
  it('names containers like buildah and refuses a taken name', () => {
    expect(k.ok(['from', `tarball:${tiny}`])).toBe('tiny-working-container');
    expect(k.ok(['from', `tarball:${tiny}`])).toBe('tiny-working-container-1');
    const r = k.cairn(['from', '--name', 'tiny-working-container', `tarball:${tiny}`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/already in use/);
  });

  it('serializes concurrent verbs on one container and runs different containers in parallel', async () => {
    const a = k.ok(['from', '--name', 'par-a', `tarball:${tiny}`]);
    const b = k.ok(['from', '--name', 'par-b', `tarball:${tiny}`]);
    const jobs = [];
    for (let i = 0; i < 4; i++) {
      jobs.push(cairnAsync(['run', a, 'sh', '-c', `echo ${i} >> /log`]));
      jobs.push(cairnAsync(['run', b, 'sh', '-c', `echo ${i} >> /log`]));
    }
    const results = await Promise.all(jobs);
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(0));
    for (const c of [a, b]) expect(k.ok(['run', c, 'cat', '/log']).split('\n').sort()).toEqual(['0', '1', '2', '3']);
    const pending = JSON.parse(k.ok(['inspect', a])).pending;
    expect(pending.filter((p: string) => p.includes('>> /log'))).toHaveLength(4);
  });

  it('stays valid when a checkpoint or commit is killed at any of its steps', () => {
    const c = k.ok(['from', '--name', 'killme', `tarball:${tiny}`]);
    k.ok(['run', c, 'sh', '-c', 'mkdir /d; i=0; while [ $i -lt 150 ]; do echo $i > /d/f$i; i=$((i+1)); done']);
    const points = [
      ['checkpoint', 'checkpoint.seal.before'], ['checkpoint', 'checkpoint.journal.written'], ['checkpoint', 'checkpoint.seal.after-layer'],
      ['checkpoint', 'checkpoint.journal.before-save'], ['checkpoint', 'checkpoint.journal.before-remove'], ['commit', 'commit.layers.written'],
      ['commit', 'commit.blobs.before-record'], ['commit', 'store.blob.before-rename'], ['commit', 'store.image.before-move-names'],
    ];
    for (const [verb, point] of points) {
      k.ok(['run', c, 'sh', '-c', `echo ${point} > /d/${point}`]);
      // A crash point is a SIGKILL at that very step (dsl/core/crash.ts).
      const r = k.cairn([verb, c, ...(verb === 'commit' ? ['localhost/killed'] : [])], { env: { CAIRN_CRASH_AT: point } });
      expect(r.signal === 'SIGKILL' || r.status === 128 + 9, `${verb} killed at ${point}: ${r.status} ${r.stderr}`).toBe(true);
      // Whatever the step, nothing is lost: every change is either still pending or in a checkpoint.
      const ins = JSON.parse(k.ok(['inspect', c]));
      expect(ins.name).toBe(c);
      expect(k.ok(['run', c, 'cat', '/d/f149', `/d/${point}`])).toBe(`149\n${point}`);
    }
    const id = k.ok(['commit', c, 'localhost/killed']);
    expect(k.ok(['images', '--json'])).toContain(id);
    k.ok(['gc']);
    // The store is whole: every blob, layer and record checks out, and the image's blobs are there.
    expect(k.ok(['check'])).toBe('');
    expect(readdirSync(path.join(k.root, 'blobs/sha256')).length).toBeGreaterThan(1);
  });

  it('gives byte-identical images for two separate builds with SOURCE_DATE_EPOCH', () => {
    const ids = [1, 2].map((n) => {
      const c = k.ok(['from', '--name', `repro-${n}`, `tarball:${tiny}`]);
      k.ok(['run', c, 'sh', '-c', 'mkdir -p /app && echo built > /app/out && touch /app/stamp']);
      k.ok(['checkpoint', c]);
      k.ok(['config', '--entrypoint', '/app/out', c]);
      return k.ok(['commit', '--timestamp', '1700000000', c]);
    });
    expect(ids[0]).toBe(ids[1]);
    const viaEnv = (n: number) => {
      const c = k.ok(['from', '--name', `repro-env-${n}`, `tarball:${tiny}`]);
      k.ok(['run', c, 'sh', '-c', 'echo x > /x'], { env: { SOURCE_DATE_EPOCH: '86400' } });
      return k.ok(['commit', c], { env: { SOURCE_DATE_EPOCH: '86400' } });
    };
    expect(viaEnv(1)).toBe(viaEnv(2));
  });

  it('removes containers and images and collects their blobs', () => {
    const c = k.ok(['from', '--name', 'gone', `tarball:${tiny}`]);
    k.ok(['run', c, 'sh', '-c', 'echo unique-$$ > /u']);
    const id = k.ok(['commit', '--rm', c, 'localhost/gone']);
    expect(k.cairn(['inspect', '--type', 'container', c]).status).toBe(125);
    const before = readdirSync(path.join(k.root, 'blobs/sha256')).length;
    expect(k.ok(['rmi', 'localhost/gone'])).toBe(id);
    expect(readdirSync(path.join(k.root, 'blobs/sha256')).length).toBeLessThan(before);
    expect(k.cairn(['rmi', 'localhost/gone']).status).toBe(125);
  });
});

describe('bad input', () => {
  it.each([
    [['from', 'localhost/no-such-image'], /image localhost\/no-such-image not found/],
    [['run', 'no-such-container', 'true'], /container no-such-container not found/],
    [['from', '--bogus', 'scratch'], /unknown flag --bogus/],
    [['commit'], /too few arguments/],
    [['from', 'oci:/nonexistent/layout'], /OCI layout \/nonexistent\/layout does not exist/],
    [['config', '--entrypoint', '[broken', 'no-such-container'], /container no-such-container not found/],
  ])('%j fails with one clear line and exit 125', (args, re) => {
    const r = k.cairn(args as string[]);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(re);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses an --entrypoint that opens a JSON array but is not one, and keeps the config', () => {
    const c = k.ok(['from', 'scratch']);
    const before = k.ok(['inspect', c]);
    const r = k.cairn(['config', '--entrypoint', '[broken', c]);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe('cairn config: --entrypoint [broken is not a valid JSON array');
    expect(k.ok(['inspect', c])).toBe(before);
  });

  it('refuses a corrupt tarball and leaves the store as it was', () => {
    const bad = path.join(k.root, '..', `bad-${process.pid}.tar.gz`);
    writeFileSync(bad, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(100, 7)]));
    const images = k.ok(['images', '--json']);
    const r = k.cairn(['from', `tarball:${bad}`]);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(/corrupt|truncated|invalid/i);
    expect(k.ok(['images', '--json'])).toBe(images);
  });
});
