import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliKit } from '../kit/cli.js';
import { debianRootfs } from '../kit/debian.js';
import type { Nginx } from '../kit/nginx.js';
import { updateRig, type UpdateRig } from '../kit/update-rig.js';

/*
 * An update of a Debian base image with one package added (dpkg unpacks rsync from the apt cache: its files and
 * the dpkg database change), exported with cairn export's FILE.cidx and served by nginx: `cairn fetch` of the
 * new version downloads about the package, the rebuilt file is byte-identical and verifies.
 */

const DEB = readdirSync('/var/cache/apt/archives').find((n) => /^rsync_.*\.deb$/.test(n));
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let rig: UpdateRig;
let dir: string;
let build: CliKit;
let fetcher: CliKit;
let nginx: Nginx;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  rig = await updateRig('cairn-delta-deb-', { SOURCE_DATE_EPOCH: '1700000000' });
  ({ dir, build, fetcher, nginx, env } = rig);
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

/** Exports image to the server as deb.tar.gz (+ .cidx); the file's path there. */
const publish = (image: string): string => rig.publish(image, 'deb.tar.gz');

describe.skipIf(!DEB)('cairn fetch of a Debian base with one package added', () => {
  it('downloads about the package, and rebuilds the file byte for byte', async () => {
    const base = await debianRootfs();
    build.ok(['from', '--name', 'deb', `tarball:${base}`]);
    build.ok(['commit', 'deb', 'deb:1']);
    publish('deb:1');
    const url = `${nginx.url}/deb.tar.gz`;
    fetcher.ok(['fetch', url]);

    mkdirSync(path.join(dir, 'pkg'));
    copyFileSync(path.join('/var/cache/apt/archives', DEB!), path.join(dir, 'pkg', 'p.deb'));
    build.ok(['copy', 'deb', path.join(dir, 'pkg', 'p.deb'), '/tmp/p.deb']);
    build.ok(['run', 'deb', '--', 'dpkg', '--unpack', '--force-depends', '/tmp/p.deb']);
    build.ok(['run', 'deb', '--', 'rm', '/tmp/p.deb']);
    build.ok(['commit', 'deb', 'deb:2']);
    const v2 = publish('deb:2');

    nginx.reset();
    const r = JSON.parse(fetcher.ok(['fetch', '--json', url]));
    expect(r.kind).toBe('rebuilt');
    expect(r.digest).toBe(`sha256:${sha(v2)}`);
    const kept = path.join(fetcher.root, 'exec', sha(v2), 'image');
    expect(sha(kept)).toBe(sha(v2));
    const sent = nginx.hits().filter((h) => h.uri === '/deb.tar.gz').reduce((a, h) => a + h.bodyBytes, 0);
    expect(sent).toBe(r.downloaded);
    // The package's .deb is ~400 KB compressed; its files, the dpkg database and the segments around them.
    const size = readFileSync(v2).length;
    expect(sent).toBeLessThan(Math.max(3 << 20, size / 10));
    rmSync(path.join(dir, 'pkg'), { recursive: true });
  }, 300_000);
});
