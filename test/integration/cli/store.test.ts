import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar, tinyRootfsTar } from '../../kit/tiny.js';

/*
 * The store through the CLI: container names, verbs on one container serialized across processes, removal,
 * and bad input answered with one line and exit 125. Verbs killed at crash points and reproducible builds are
 * test/integration/container/killed-verbs.test.ts.
 */

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
    const small = smallRootfsTar();
    expect(k.ok(['from', `tarball:${small}`])).toBe('small-working-container');
    expect(k.ok(['from', `tarball:${small}`])).toBe('small-working-container-1');
    const r = k.cairn(['from', '--name', 'small-working-container', `tarball:${small}`]);
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

  it('removes containers and images and collects their blobs', () => {
    const c = k.ok(['from', '--name', 'gone', `tarball:${smallRootfsTar()}`]);
    const u = path.join(k.root, '..', `u-${path.basename(k.root)}`);
    writeFileSync(u, `unique-${process.pid}-${Date.now()}\n`);
    k.ok(['copy', c, u, '/u']);
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
