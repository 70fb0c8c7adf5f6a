import { readdirSync, readFileSync, statSync, truncateSync, copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { readDockerArchive, writeDockerArchive } from '../../../dsl/transport/docker-archive.js';
import { readLayout } from '../../../dsl/transport/oci-layout.js';
import { openSource, writeImage } from '../../../dsl/transport/transports.js';
import { parseReference } from '../../../dsl/oci/reference.js';
import { MediaType } from '../../../dsl/oci/types.js';
import { gzip, makeDockerArchive, makeTar, readAll, run, sha, tempDir, testConfig, writeTestLayout, type TestImage } from '../../kit/images.js';

// What peers make of these archives (skopeo, podman load) and archives skopeo writes: test/interop/transports.test.ts.

const t = tempDir('cairn-docker-');
const tmpDir = path.join(t.dir, 'tmp');
let kit: TestImage;
let archive: string;
beforeAll(async () => {
  kit = await writeTestLayout(path.join(t.dir, 'kit'), { ref: 'v1' });
  archive = path.join(t.dir, 'saved.tar');
  await writeImage(parseReference(`docker-archive:${archive}:test/app:1`), await readLayout(kit.dir, 'v1'), { tmpDir });
});
afterAll(() => t.cleanup());

describe('docker-archive: write', () => {
  it('writes uncompressed layers and the config as is, under the diff IDs', async () => {
    const list = run('tar', ['tf', archive]).split('\n');
    expect(list).toContain('manifest.json');
    expect(list).toContain(`${kit.layers[0].diffID.slice(7)}/layer.tar`);
    const m = JSON.parse(run('tar', ['xOf', archive, 'manifest.json']));
    expect(m[0].RepoTags).toEqual(['test/app:1']);
    expect(sha(Buffer.from(run('tar', ['xOf', archive, m[0].Config]), 'utf8'))).toBe(kit.configDigest);
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('reads back what it wrote: same config, diff IDs, tar layers', async () => {
    const img = await openSource(parseReference(`docker-archive:${archive}:test/app:1`), { tmpDir });
    expect(img.configBytes.equals(kit.configBytes)).toBe(true);
    expect(img.layers.map((l) => l.diffID)).toEqual(kit.layers.map((l) => l.diffID));
    expect(img.layers.map((l) => l.descriptor.digest)).toEqual(kit.layers.map((l) => l.diffID));
    expect(img.layers.every((l) => l.descriptor.mediaType === MediaType.layerTar)).toBe(true);
    expect(img.names).toEqual(['test/app:1']);
    expect((await readAll(await img.layers[0].open())).equals(kit.layers[0].tar)).toBe(true);
    // ...and the result is a valid OCI image again.
    const out = path.join(t.dir, 'back');
    await writeImage(parseReference(`oci:${out}:back`), img, { tmpDir });
    await img.close();
    expect(readdirSync(tmpDir)).toEqual([]);
    expect((await readLayout(out, 'back')).config.rootfs.diff_ids).toEqual(kit.layers.map((l) => l.diffID));
  });

  it('takes RepoTags from names when the reference has none, and refuses @N as a destination', async () => {
    const file = path.join(t.dir, 'named.tar');
    const img = await readLayout(kit.dir, 'v1');
    await writeImage(parseReference(`docker-archive:${file}`), img, { tmpDir, names: ['localhost/a:1', 'b'] });
    const m = JSON.parse(run('tar', ['xOf', file, 'manifest.json']));
    expect(m[0].RepoTags).toEqual(['localhost/a:1', 'b:latest']);
    await expect(writeImage(parseReference(`docker-archive:${file}:@0`), img, { tmpDir })).rejects.toBeInstanceOf(BadInputError);
  });
});

describe('docker-archive: read', () => {
  it('accepts gzip layer files: digest of the file as stored, diff ID of its content', async () => {
    const file = path.join(t.dir, 'gz.tar');
    const tarBytes = await makeTar([{ name: 'a.txt', content: 'gz layer' }]);
    const gz = gzip(tarBytes);
    writeFileSync(file, await makeDockerArchive([{ config: Buffer.from(JSON.stringify(testConfig([sha(tarBytes)]))), layers: [{ name: 'l1/layer.tar', bytes: gz }], repoTags: ['x:1'] }]));
    const img = await readDockerArchive(file, undefined, tmpDir);
    expect(img.layers[0].descriptor).toEqual({ mediaType: MediaType.layerGzip, digest: sha(gz), size: gz.length });
    expect(img.layers[0].diffID).toBe(sha(tarBytes));
    // Converting it back decompresses it to an uncompressed layer.tar with the same diff ID.
    const out = path.join(t.dir, 'gz-out.tar');
    await writeDockerArchive(out, img, ['x:1'], tmpDir);
    await img.close();
    const back = await readDockerArchive(out, undefined, tmpDir);
    expect(back.layers.map((l) => [l.descriptor.mediaType, l.descriptor.digest, l.diffID])).toEqual([[MediaType.layerTar, sha(tarBytes), sha(tarBytes)]]);
    await back.close();
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('accepts the blobs/sha256 layout of newer docker save', async () => {
    const file = path.join(t.dir, 'blobs.tar');
    const tarBytes = await makeTar([{ name: 'b.txt', content: 'blob layout' }]);
    const config = Buffer.from(JSON.stringify(testConfig([sha(tarBytes)])));
    writeFileSync(file, await makeDockerArchive([{ config, configName: `blobs/sha256/${sha(config).slice(7)}`, layers: [{ name: `blobs/sha256/${sha(tarBytes).slice(7)}`, bytes: tarBytes }] }], [
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    ]));
    const img = await readDockerArchive(file, undefined, tmpDir);
    expect(img.configBytes.equals(config)).toBe(true);
    expect(img.layers[0].descriptor.digest).toBe(sha(tarBytes));
    await img.close();
  });

  it('follows links between members, as skopeo writes <id>/layer.tar -> ../<hex>.tar', async () => {
    const file = path.join(t.dir, 'links.tar');
    const l1 = await makeTar([{ name: 'c', content: 'linked' }]);
    writeFileSync(file, await makeTar([
      { name: 'real.tar', content: l1 },
      { name: 'id1/', type: 'directory' },
      { name: 'id1/layer.tar', type: 'symlink', linkname: '../real.tar' },
      { name: 'hard.tar', type: 'link', linkname: 'id1/layer.tar' },
      { name: 'c.json', content: JSON.stringify(testConfig([sha(l1), sha(l1)])) },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: ['id1/layer.tar', 'hard.tar'] }]) },
    ]));
    const img = await readDockerArchive(file, undefined, tmpDir);
    expect(img.layers.map((l) => l.descriptor.digest)).toEqual([sha(l1), sha(l1)]);
    expect((await readAll(await img.layers[1].open())).equals(l1)).toBe(true);
    await img.close();
  });

  it('selects among several images by NAME:TAG or @N, and wants a choice', async () => {
    const file = path.join(t.dir, 'two.tar');
    const l1 = await makeTar([{ name: 'one', content: '1' }]);
    const l2 = await makeTar([{ name: 'two', content: '2' }]);
    writeFileSync(file, await makeDockerArchive([
      { config: Buffer.from(JSON.stringify(testConfig([sha(l1)]))), layers: [{ name: 'l1.tar', bytes: l1 }], repoTags: ['docker.io/library/one:latest'] },
      { config: Buffer.from(JSON.stringify(testConfig([sha(l2)]))), layers: [{ name: 'l2.tar', bytes: l2 }], repoTags: ['two:1'] },
    ]));
    const byName = await openSource(parseReference(`docker-archive:${file}:one`), { tmpDir });
    expect(byName.layers[0].diffID).toBe(sha(l1));
    const byIndex = await openSource(parseReference(`docker-archive:${file}:@1`), { tmpDir });
    expect(byIndex.layers[0].diffID).toBe(sha(l2));
    await Promise.all([byName.close(), byIndex.close()]);
    await expect(readDockerArchive(file, undefined, tmpDir)).rejects.toThrow(/holds 2 images/);
    await expect(readDockerArchive(file, '@2', tmpDir)).rejects.toBeInstanceOf(NotFoundError);
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('refuses a config whose diff_ids do not match the layers', async () => {
    const file = path.join(t.dir, 'wrong-diffids.tar');
    const l1 = await makeTar([{ name: 'f', content: 'real' }]);
    writeFileSync(file, await makeDockerArchive([{ config: Buffer.from(JSON.stringify(testConfig([sha('something else')]))), layers: [{ name: 'l/layer.tar', bytes: gzip(l1) }] }]));
    await expect(readDockerArchive(file, undefined, tmpDir)).rejects.toThrow(BadInputError);
    await expect(readDockerArchive(file, undefined, tmpDir)).rejects.toThrow(/diff ID/);
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it.each([
    // manifest.json is the last member: 512 bytes of content block, then 1024 zero bytes end the archive.
    ['inside a layer', (n: number) => Math.floor(n / 2)],
    ['inside manifest.json', (n: number) => n - 1024 - 400],
    ['before manifest.json', (n: number) => n - 1024 - 1024],
  ])('refuses an archive truncated %s', async (what, cut) => {
    const file = path.join(t.dir, `truncated-${what.replace(/\W+/g, '_')}.tar`);
    copyFileSync(archive, file);
    truncateSync(file, cut(statSync(file).size));
    await expect(readDockerArchive(file, undefined, tmpDir)).rejects.toThrow(BadInputError);
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('refuses manifest.json that is not a docker manifest, naming it, and links out of the archive', async () => {
    const notJson = path.join(t.dir, 'notjson.tar');
    writeFileSync(notJson, await makeTar([{ name: 'manifest.json', content: '[{' }]));
    await expect(readDockerArchive(notJson, undefined, tmpDir)).rejects.toThrow(/manifest\.json is not valid JSON/);
    const escaping = path.join(t.dir, 'escaping.tar');
    writeFileSync(escaping, await makeTar([
      { name: 'c.json', type: 'symlink', linkname: '../../etc/passwd' },
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: [] }]) },
    ]));
    await expect(readDockerArchive(escaping, undefined, tmpDir)).rejects.toThrow(/outside the archive/);
    const traversal = path.join(t.dir, 'traversal.tar');
    writeFileSync(traversal, await makeTar([{ name: '../evil', content: 'x' }, { name: 'manifest.json', content: '[]' }]));
    await expect(readDockerArchive(traversal, undefined, tmpDir)).rejects.toThrow(/escaping the archive/);
    const noManifest = path.join(t.dir, 'nomanifest.tar');
    writeFileSync(noManifest, await makeTar([{ name: 'x', content: 'y' }]));
    await expect(readDockerArchive(noManifest, undefined, tmpDir)).rejects.toThrow(/no manifest\.json/);
    await expect(readDockerArchive(path.join(t.dir, 'absent.tar'), undefined, tmpDir)).rejects.toBeInstanceOf(NotFoundError);
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('errors the layer stream when a layer file changes after it was read', async () => {
    const img = await readDockerArchive(archive, undefined, tmpDir);
    // The unpacked copy lives below tmpDir; corrupt it behind the reader's back.
    const [sub] = readdirSync(tmpDir);
    for (const f of readdirSync(path.join(tmpDir, sub))) {
      const p = path.join(tmpDir, sub, f);
      if (statSync(p).size === img.layers[1].descriptor.size) {
        const b = readFileSync(p);
        b[600] ^= 0x40;
        writeFileSync(p, b);
      }
    }
    await expect(readAll(await img.layers[1].open())).rejects.toThrow(/does not match its digest/);
    await img.close();
  });
});
