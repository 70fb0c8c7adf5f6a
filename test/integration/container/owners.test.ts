import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { from, image, inspect, isCairnError, type Container } from '../../../dsl/index.js';
import { IN_PROCESS } from '../../kit/api.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { layersOf } from '../../kit/images.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * Owners and one-step mounts, in-process through the public API (a normal user runs this tier inside its cairn
 * namespace, with its subordinate ids): owners kept in committed layers, --secret, --tmpfs and --volume for
 * one step only. The flags of `cairn run` for them, and the store's own checks: test/integration/cli/owners.test.ts.
 */

let k: CliKit;
let work: string;
beforeAll(() => {
  k = cliKit('cairn-owners-');
  work = mkdtempSync(path.join(os.tmpdir(), 'cairn-owners-work-'));
});
afterAll(() => k.cleanup());

/** Entries (name, uid, gid) of a layer tar. */
async function entries(tar: Buffer): Promise<{ name: string; uid: number; gid: number }[]> {
  const out: { name: string; uid: number; gid: number }[] = [];
  const ex = tarStream.extract();
  ex.on('entry', (h, s, next) => {
    out.push({ name: h.name, uid: h.uid ?? -1, gid: h.gid ?? -1 });
    s.resume();
    s.on('end', next);
  });
  await new Promise((resolve, reject) => {
    ex.on('finish', () => resolve(undefined));
    ex.on('error', reject);
    Readable.from([tar]).pipe(ex);
  });
  return out;
}

const make = (): Promise<Container> => from(`tarball:${tinyRootfsTar()}`, { root: k.root });
const out = async (c: Container, argv: string[], o: Parameters<Container['run']>[1] = {}): Promise<string> => (await c.run(argv, o)).stdout.trimEnd();

describe.runIf(IN_PROCESS)(`owners and secrets, in-process (as uid ${process.getuid?.()})`, () => {
  it('keeps owners in committed layers: a chowned file and one made by a second in-container user', async () => {
    const c = await make();
    await c.run(['sh', '-c', 'echo a > /owned && chown 1000:1000 /owned']);
    await c.run(['sh', '-c', 'echo b > /tmp/by-user'], { user: 'user' });
    await c.run(['sh', '-c', 'echo c > /tmp/by-2000'], { user: '2000:3000' });
    const layout = path.join(work, 'owners');
    await (await c.commit('localhost/owners')).push(`oci:${layout}:x`);
    const top = await entries(layersOf(layout).at(-1)!);
    expect(top.find((e) => e.name === 'owned')).toMatchObject({ uid: 1000, gid: 1000 });
    expect(top.find((e) => e.name === 'tmp/by-user')).toMatchObject({ uid: 1000, gid: 1000 });
    expect(top.find((e) => e.name === 'tmp/by-2000')).toMatchObject({ uid: 2000, gid: 3000 });
    expect(top.find((e) => e.name === 'tmp/')).toMatchObject({ uid: 0, gid: 0 });
  });

  it('mounts a secret for one step only: its content is in no layer, history or config', async () => {
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    const file = path.join(work, 'secret');
    writeFileSync(file, secret, { mode: 0o600 });
    const c = await make();
    expect(await out(c, ['sh', '-c', 'cat /run/secrets/token'], { secrets: [`id=token,src=${file}`] })).toBe(secret);
    await c.run(['sh', '-c', 'ls -l /run/secrets > /tmp/listing; echo x > /tmp/other'], { secrets: [`id=token,src=${file}`] });
    expect((await c.run(['cat', '/run/secrets/token'], { nothrow: true })).status).not.toBe(0);
    const layout = path.join(work, 'secret-layout');
    await (await c.commit('localhost/secret')).push(`oci:${layout}:x`);
    for (const layer of layersOf(layout)) expect(layer.includes(secret)).toBe(false);
    for (const b of readdirSync(path.join(layout, 'blobs/sha256'))) {
      expect(readFileSync(path.join(layout, 'blobs/sha256', b)).includes(secret)).toBe(false);
    }
    expect(JSON.stringify(await inspect('localhost/secret', { root: k.root }))).not.toContain(secret);
    expect(JSON.stringify(await (await image('localhost/secret', { root: k.root })).inspect())).not.toContain(secret);
    const bad: unknown = await c.run(['true'], { secrets: [`id=token,src=${path.join(work, 'missing')}`] }).then(() => 'ran', (e) => e);
    expect(isCairnError(bad), String(bad)).toBe(true);
    expect((bad as Error).message).toMatch(/secret token: .* is not a readable file/);
  });

  it('mounts --tmpfs and --volume for one step only; a --volume source that does not exist is refused, leaving nothing mounted', async () => {
    const c = await make();
    const host = mkdtempSync(path.join(work, 'vol-'));
    writeFileSync(path.join(host, 'in'), 'from host\n');
    const got = await out(c, ['sh', '-c', 'echo t > /scratch/t && cat /scratch/t /data/in && (echo x > /data/new 2>/dev/null || echo read-only)'], { tmpfs: ['/scratch'], volumes: [`${host}:/data:ro`] });
    expect(got).toBe('t\nfrom host\nread-only');
    expect(await out(c, ['sh', '-c', 'ls /scratch /data 2>&1 || true'])).toMatch(/No such file/);
    expect(await c.diff()).toEqual([]);
    const bad: unknown = await c.run(['true'], { volumes: [`${path.join(work, 'nope')}:/data`] }).then(() => 'ran', (e) => e);
    expect(isCairnError(bad), String(bad)).toBe(true);
    expect((bad as Error).message).toMatch(/--volume source .* does not exist/);
    expect(await c.diff()).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${path.join(work, 'nope')}`);
  });
});
