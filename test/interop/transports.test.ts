// The transports' writers and readers as peers see them: skopeo, umoci and podman read what cairn's writers
// write (docker-archive, oci, oci-archive, tarball: images), and cairn's readers read what skopeo writes. The
// same readers and writers without peers: test/unit/transport/*.test.ts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../dsl/core/errors.js';
import { readDockerArchive, writeDockerArchive } from '../../dsl/transport/docker-archive.js';
import { readOciArchive } from '../../dsl/transport/oci-archive.js';
import { readLayout } from '../../dsl/transport/oci-layout.js';
import { readTarball } from '../../dsl/transport/tarball.js';
import { openSource, writeImage } from '../../dsl/transport/transports.js';
import { parseReference } from '../../dsl/oci/reference.js';
import { gzip, makeDockerArchive, makeTar, readAll, run, sha, skopeoInspect, tempDir, testConfig, writeTestLayout, type TestImage } from '../kit/images.js';
import { requirePeers } from '../kit/peers.js';

const t = tempDir('cairn-transports-');
const tmpDir = path.join(t.dir, 'tmp');
let kit: TestImage;
beforeAll(async () => {
  requirePeers('skopeo', 'umoci', 'podman');
  kit = await writeTestLayout(path.join(t.dir, 'kit'), { ref: 'v1' });
});
afterAll(() => t.cleanup());

describe('docker-archive: peers read what cairn writes', () => {
  let archive: string;
  beforeAll(async () => {
    archive = path.join(t.dir, 'saved.tar');
    await writeImage(parseReference(`docker-archive:${archive}:test/app:1`), await readLayout(kit.dir, 'v1'), { tmpDir });
  });

  it('skopeo sees our diff IDs and image ID', () => {
    const info = skopeoInspect(`docker-archive:${archive}`);
    expect(info.Layers).toEqual(kit.layers.map((l) => l.diffID));
    expect(info.Env).toEqual(['PATH=/usr/bin:/bin']);
    expect(skopeoInspect(`docker-archive:${archive}`, '--raw').config.digest).toBe(kit.configDigest);
  });

  it.skipIf(process.getuid?.() !== 0 || !!process.env.CAIRN_USERNS)('podman load gives the same image ID and name', () => {
    const store = path.join(t.dir, 'podman');
    mkdirSync(store);
    const conf = path.join(store, 'storage.conf');
    writeFileSync(conf, `[storage]\ndriver = "vfs"\nrunroot = "${store}/run"\ngraphroot = "${store}/graph"\n`);
    const env = { CONTAINERS_STORAGE_CONF: conf };
    run('podman', ['load', '-q', '-i', archive], env);
    const id = run('podman', ['image', 'inspect', '--format', '{{.Id}}', 'localhost/test/app:1'], env).trim();
    expect(id).toBe(kit.configDigest.slice(7));
  });

  it('read back and written as an OCI layout, skopeo sees the same diff IDs', async () => {
    const img = await openSource(parseReference(`docker-archive:${archive}:test/app:1`), { tmpDir });
    const out = path.join(t.dir, 'back');
    await writeImage(parseReference(`oci:${out}:back`), img, { tmpDir });
    await img.close();
    expect(skopeoInspect(`oci:${out}:back`, '--config').rootfs.diff_ids).toEqual(kit.layers.map((l) => l.diffID));
  });

  it('a gzip layer file written back decompressed keeps its diff ID for skopeo', async () => {
    const file = path.join(t.dir, 'gz.tar');
    const tarBytes = await makeTar([{ name: 'a.txt', content: 'gz layer' }]);
    writeFileSync(file, await makeDockerArchive([{ config: Buffer.from(JSON.stringify(testConfig([sha(tarBytes)]))), layers: [{ name: 'l1/layer.tar', bytes: gzip(tarBytes) }], repoTags: ['x:1'] }]));
    const img = await readDockerArchive(file, undefined, tmpDir);
    const out = path.join(t.dir, 'gz-out.tar');
    await writeDockerArchive(out, img, ['x:1'], tmpDir);
    await img.close();
    expect(skopeoInspect(`docker-archive:${out}`).Layers).toEqual([sha(tarBytes)]);
  });
});

describe('docker-archive: cairn reads what skopeo writes', () => {
  it('reads an archive written by skopeo (layer files behind symlinks, repositories file)', async () => {
    const file = path.join(t.dir, 'by-skopeo.tar');
    run('skopeo', ['copy', `oci:${kit.dir}:v1`, `docker-archive:${file}:test/peer:2`]);
    const img = await readDockerArchive(file, 'docker.io/test/peer:2', tmpDir);
    expect(sha(img.configBytes)).toBe(kit.configDigest);
    expect(img.layers.map((l) => l.diffID)).toEqual(kit.layers.map((l) => l.diffID));
    for (const l of img.layers) await readAll(await l.open());
    await img.close();
    await expect(readDockerArchive(file, 'test/other:2', tmpDir)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('oci and oci-archive: peers read what cairn writes, cairn reads what skopeo writes', () => {
  it('skopeo and umoci accept a layout written by writeLayout', async () => {
    const out = path.join(t.dir, 'deep', 'rt');
    await writeImage(parseReference(`oci:${out}:copy`), await readLayout(kit.dir, 'v1'), { tmpDir });
    const info = skopeoInspect(`oci:${out}:copy`);
    expect(info.Layers).toEqual(kit.layers.map((l) => l.digest));
    expect(info.Env).toEqual(['PATH=/usr/bin:/bin']);
    expect(skopeoInspect(`oci:${out}:copy`, '--config').rootfs.diff_ids).toEqual(kit.layers.map((l) => l.diffID));
    const bundle = path.join(t.dir, 'bundle');
    run('umoci', ['unpack', '--image', `${out}:copy`, bundle]);
    expect(readFileSync(path.join(bundle, 'rootfs', 'etc', 'os-release'), 'utf8')).toBe('ID=cairn-test\n');
    expect(readFileSync(path.join(bundle, 'rootfs', 'srv', 'data.txt'), 'utf8')).toHaveLength(5000);
  });

  it('skopeo inspects an oci-archive cairn wrote', async () => {
    const file = path.join(t.dir, 'img.tar');
    await writeImage(parseReference(`oci-archive:${file}:v2`), await readLayout(kit.dir, 'v1'), { tmpDir });
    expect(skopeoInspect(`oci-archive:${file}:v2`).Layers).toEqual(kit.layers.map((l) => l.digest));
    expect(skopeoInspect(`oci-archive:${file}:v2`, '--raw').config.digest).toBe(kit.configDigest);
  });

  it('reads an oci-archive written by skopeo', async () => {
    const file = path.join(t.dir, 'by-skopeo-oci.tar');
    run('skopeo', ['copy', `oci:${kit.dir}:v1`, `oci-archive:${file}:peer`]);
    const img = await openSource(parseReference(`oci-archive:${file}:peer`), { tmpDir });
    expect(img.config.rootfs.diff_ids).toEqual(kit.layers.map((l) => l.diffID));
    expect(sha(img.configBytes)).toBe(kit.configDigest);
    for (const l of img.layers) await readAll(await l.open());
    await img.close();
    await expect(readOciArchive(file, 'other', tmpDir)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('tarball: and scratch: as peers see them', () => {
  it('skopeo and umoci accept the image of a .tar.gz (a gzip layer)', async () => {
    const rootTar = await makeTar([{ name: './', type: 'directory' }, { name: './etc/', type: 'directory' }, { name: './etc/hostname', content: 'flat\n' }]);
    const gz = gzip(rootTar);
    const file = path.join(t.dir, 'root.tar.gz');
    writeFileSync(file, gz);
    const out = path.join(t.dir, 'layout');
    await writeImage(parseReference(`oci:${out}:flat`), await readTarball(file), { tmpDir });
    expect(skopeoInspect(`oci:${out}:flat`).Layers).toEqual([sha(gz)]);
    const bundle = path.join(t.dir, 'bundle-flat');
    run('umoci', ['unpack', '--image', `${out}:flat`, bundle]);
    expect(readFileSync(path.join(bundle, 'rootfs', 'etc', 'hostname'), 'utf8')).toBe('flat\n');
  });

  it('skopeo accepts scratch written as an oci-archive', async () => {
    const file = path.join(t.dir, 'scratch.tar');
    await writeImage(parseReference(`oci-archive:${file}:empty`), await openSource({ transport: 'scratch' }, { tmpDir }), { tmpDir });
    expect(skopeoInspect(`oci-archive:${file}:empty`).Layers).toEqual([]);
  });
});
