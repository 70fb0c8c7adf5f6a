import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, container, from, gc, images, inspect } from '../../../dsl/index.js';
import { IN_PROCESS } from '../../kit/api.js';
import { withEnv } from '../../kit/env.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * A checkpoint or commit killed at each of its steps loses nothing, and two separate builds of the same thing
 * give the same image. The verb that is killed is a `cairn` process (a crash point is a SIGKILL of it,
 * dsl/core/crash.ts); the builds and the checks run in-process through the public API, and the CLI's own build
 * must give the ID the library's does. (test/stress/crash.test.ts kills every verb at every point, in CI.)
 */

let k: CliKit;
let tiny: string;
let root: string;
beforeAll(() => {
  k = cliKit('cairn-killed-');
  root = k.root;
  tiny = tinyRootfsTar();
});
afterAll(() => k.cleanup());

describe.runIf(IN_PROCESS)('verbs killed at a crash point', () => {
  it('leave the container whole when a checkpoint or commit is killed at any of its steps', async () => {
    const c = await from(`tarball:${tiny}`, { root, name: 'killme' });
    await c.run(['sh', '-c', 'mkdir /d; i=0; while [ $i -lt 150 ]; do echo $i > /d/f$i; i=$((i+1)); done']);
    const points = [
      ['checkpoint', 'checkpoint.seal.before'], ['checkpoint', 'checkpoint.journal.written'], ['checkpoint', 'checkpoint.seal.after-layer'],
      ['checkpoint', 'checkpoint.journal.before-save'], ['checkpoint', 'checkpoint.journal.before-remove'], ['commit', 'commit.layers.written'],
      ['commit', 'commit.blobs.before-record'], ['commit', 'store.blob.before-rename'], ['commit', 'store.image.before-move-names'],
    ];
    // One run step a point: it shows what the last killed verb left (every change still pending or in a
    // checkpoint: nothing lost) and makes this point's change.
    let last = 'f149';
    for (const [verb, point] of points) {
      const ran = await (await container(c.name, { root })).run(['sh', '-c', `cat /d/f149 /d/${last} && echo ${point} > /d/${point}`]);
      expect(ran.stdout, `after the kill before ${point}`).toBe(`149\n${last === 'f149' ? '149' : last}\n`);
      // A crash point is a SIGKILL at that very step (dsl/core/crash.ts).
      const r = k.cairn([verb, c.name, ...(verb === 'commit' ? ['localhost/killed'] : [])], { env: { CAIRN_CRASH_AT: point } });
      expect(r.signal === 'SIGKILL' || r.status === 128 + 9, `${verb} killed at ${point}: ${r.status} ${r.stderr}`).toBe(true);
      expect(((await inspect(c.name, { root })) as { name: string }).name).toBe(c.name);
      last = point;
    }
    expect((await (await container(c.name, { root })).run(['cat', '/d/f149', `/d/${last}`])).stdout).toBe(`149\n${last}\n`);
    const img = await (await container(c.name, { root })).commit('localhost/killed');
    expect((await images({ root })).map((i) => i.id)).toContain(img.id);
    await gc({ root });
    // The store is whole: every blob, layer and record checks out, and the image's blobs are there.
    expect((await check({ root })).problems).toEqual([]);
    expect(readdirSync(path.join(root, 'blobs/sha256')).length).toBeGreaterThan(1);
  });
});

describe.runIf(IN_PROCESS)('reproducible builds', () => {
  it('give byte-identical images for two separate builds with --timestamp, one through the CLI', async () => {
    const c = await from(`tarball:${tiny}`, { root, name: 'repro-1' });
    await c.run(['sh', '-c', 'mkdir -p /app && echo built > /app/out && touch /app/stamp']);
    await c.checkpoint();
    await c.config({ entrypoint: '/app/out' });
    const id = (await c.commit({ timestamp: '1700000000' })).id;
    const d = k.ok(['from', '--name', 'repro-2', `tarball:${tiny}`]);
    k.ok(['run', d, 'sh', '-c', 'mkdir -p /app && echo built > /app/out && touch /app/stamp']);
    k.ok(['checkpoint', d]);
    k.ok(['config', '--entrypoint', '/app/out', d]);
    expect(k.ok(['commit', '--timestamp', '1700000000', d])).toBe(id);
  });

  it('give byte-identical images for two separate builds with SOURCE_DATE_EPOCH, one through the CLI', async () => {
    const c = await from(`tarball:${tiny}`, { root, name: 'repro-env-1' });
    const id = await withEnv({ SOURCE_DATE_EPOCH: '86400' }, async () => {
      await c.run(['sh', '-c', 'echo x > /x']);
      return (await c.commit()).id;
    });
    const d = k.ok(['from', '--name', 'repro-env-2', `tarball:${tiny}`]);
    k.ok(['run', d, 'sh', '-c', 'echo x > /x'], { env: { SOURCE_DATE_EPOCH: '86400' } });
    expect(k.ok(['commit', d], { env: { SOURCE_DATE_EPOCH: '86400' } })).toBe(id);
  });
});
