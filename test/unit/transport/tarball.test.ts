import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError, CairnError, NotFoundError } from '../../../dsl/core/errors.js';
import { readTarball } from '../../../dsl/transport/tarball.js';
import { LayerFileWatch, hashFile } from '../../../dsl/transport/hash-file.js';
import { verifyStream } from '../../../dsl/flat/trailer.js';
import { createReadStream } from 'node:fs';
import { DEFAULT_PATH_ENV } from '../../../dsl/core/which.js';
import { openSource, writeImage } from '../../../dsl/transport/transports.js';
import { parseReference } from '../../../dsl/oci/reference.js';
import { MediaType, hostArch } from '../../../dsl/oci/types.js';
import { readLayout } from '../../../dsl/transport/oci-layout.js';
import { readOciArchive } from '../../../dsl/transport/oci-archive.js';
import { gzip, makeTar, readAll, sha, tempDir } from '../../kit/images.js';
import { withEnv } from '../../kit/env.js';

const t = tempDir('cairn-tarball-');
const tmpDir = path.join(t.dir, 'tmp');
let rootTar: Buffer;
beforeAll(async () => {
  rootTar = await makeTar([
    { name: './', type: 'directory' },
    { name: './etc/', type: 'directory' },
    { name: './etc/hostname', content: 'flat\n' },
    { name: './usr/', type: 'directory' },
    { name: './usr/bin/', type: 'directory' },
    { name: './usr/bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
    { name: './bin', type: 'symlink', linkname: 'usr/bin' },
  ]);
  writeFileSync(path.join(t.dir, 'root.tar'), rootTar);
  writeFileSync(path.join(t.dir, 'root.tar.gz'), gzip(rootTar));
});
afterAll(() => t.cleanup());

describe('tarball:', () => {
  it('makes a one-layer image of a plain tar, the file as is', async () => {
    const img = await openSource(parseReference(`tarball:${path.join(t.dir, 'root.tar')}`), { tmpDir });
    expect(img.layers).toHaveLength(1);
    expect(img.layers[0].descriptor).toEqual({ mediaType: MediaType.layerTar, digest: sha(rootTar), size: rootTar.length });
    expect(img.layers[0].diffID).toBe(sha(rootTar));
    expect(img.config.config?.Env).toEqual([DEFAULT_PATH_ENV]);
    expect(img.config.history).toEqual([{ created_by: 'tarball:root.tar' }]);
    expect(img.config.architecture).toBe(hostArch());
    expect(img.manifest.config.digest).toBe(sha(img.configBytes));
    expect((await readAll(await img.layers[0].open())).equals(rootTar)).toBe(true);
  });

  // What skopeo and umoci make of these images: test/interop/transports.test.ts.
  it('makes a gzip layer of a .tar.gz, with the diff ID of its content, written to a layout as is', async () => {
    const gz = readFileSync(path.join(t.dir, 'root.tar.gz'));
    const img = await readTarball(path.join(t.dir, 'root.tar.gz'));
    expect(img.layers[0].descriptor).toEqual({ mediaType: MediaType.layerGzip, digest: sha(gz), size: gz.length });
    expect(img.layers[0].diffID).toBe(sha(rootTar));
    const out = path.join(t.dir, 'layout');
    await writeImage(parseReference(`oci:${out}:flat`), img, { tmpDir });
    const back = await readLayout(out, 'flat');
    expect(back.layers.map((l) => l.descriptor.digest)).toEqual([sha(gz)]);
    expect(back.config.rootfs.diff_ids).toEqual([sha(rootTar)]);
    expect((await readAll(await back.layers[0].open())).equals(gz)).toBe(true);
  });

  it('gives the same image ID for the same tarball, and uses SOURCE_DATE_EPOCH for created', async () => {
    const a = await readTarball(path.join(t.dir, 'root.tar'));
    const b = await readTarball(path.join(t.dir, 'root.tar'));
    expect(a.configBytes.equals(b.configBytes)).toBe(true);
    const created = await withEnv({ SOURCE_DATE_EPOCH: '1700000000' }, async () => (await readTarball(path.join(t.dir, 'root.tar'))).config.created);
    expect(created).toBe('2023-11-14T22:13:20Z');
  });

  it('refuses a file that is not a tar, and a corrupt gzip', async () => {
    const junk = path.join(t.dir, 'junk.tar');
    writeFileSync(junk, Buffer.alloc(2048, 0x41));
    await expect(readTarball(junk)).rejects.toThrow(BadInputError);
    const cut = path.join(t.dir, 'cut.tar.gz');
    const gz = readFileSync(path.join(t.dir, 'root.tar.gz'));
    writeFileSync(cut, gz.subarray(0, gz.length - 20));
    await expect(readTarball(cut)).rejects.toThrow(BadInputError);
  });

  it('reports a missing file as NotFoundError, and a URL read without a temporary directory', async () => {
    await expect(readTarball(path.join(t.dir, 'none.tar'))).rejects.toBeInstanceOf(NotFoundError);
    // tarball:URL is downloaded below the store's tmp (test/integration/delta/fetch.test.ts pulls one).
    await expect(readTarball('https://example.com/root.tar')).rejects.toThrow(/tarball URLs need a temporary directory/);
  });
});

describe('the layer described from the signature check\'s pass (LayerFileWatch)', () => {
  /** What the watch gives after verifyStream read file (keyless, as the policy's first pass). */
  const watched = async (file: string, checkTar: boolean) => {
    const watch = new LayerFileWatch();
    const v = await verifyStream(createReadStream(file, { highWaterMark: 64 << 10 }), [], { watch });
    return watch.info(v.sha256, checkTar);
  };

  it('is what hashFile gives, for a plain tar and a gzip one, read in many chunks', async () => {
    const big = await makeTar(Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, content: Buffer.alloc(9000 + i, i) })));
    writeFileSync(path.join(t.dir, 'big.tar'), big);
    writeFileSync(path.join(t.dir, 'big.tar.gz'), gzip(big));
    for (const f of ['root.tar', 'root.tar.gz', 'big.tar', 'big.tar.gz']) {
      const file = path.join(t.dir, f);
      const want = await hashFile(file, { checkTar: true });
      expect(await watched(file, true)).toEqual(want);
      expect(await watched(file, false)).toEqual(want);
    }
  });

  it('gives nothing where hashFile must say it (not a tar, cut short, zstd), but for a file not checked as a tar', async () => {
    const junk = path.join(t.dir, 'junk-watch.tar');
    writeFileSync(junk, Buffer.alloc(2048, 0x41));
    const cut = path.join(t.dir, 'cut-watch.tar');
    writeFileSync(cut, rootTar.subarray(0, 1536 + 100));
    const zstd = path.join(t.dir, 'fake.tar.zst');
    writeFileSync(zstd, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), rootTar]));
    for (const f of [junk, cut]) {
      await expect(hashFile(f, { checkTar: true })).rejects.toThrow(BadInputError);
      expect(await watched(f, true)).toBeUndefined();
      expect(await watched(f, false)).toEqual(await hashFile(f));
    }
    expect(await watched(zstd, false)).toBeUndefined();
  });
});

describe('scratch: and unavailable transports', () => {
  it('scratch is an empty image, written and read back as one', async () => {
    const img = await openSource({ transport: 'scratch' }, { tmpDir });
    expect(img.layers).toEqual([]);
    expect(img.config.rootfs.diff_ids).toEqual([]);
    const file = path.join(t.dir, 'scratch.tar');
    await writeImage(parseReference(`oci-archive:${file}:empty`), img, { tmpDir });
    const back = await readOciArchive(file, 'empty', tmpDir);
    expect(back.layers).toEqual([]);
    expect(back.config.rootfs.diff_ids).toEqual([]);
    await back.close();
  });

  it('docker:// is refused with a clear error and a hint', async () => {
    const err = await openSource(parseReference('docker://quay.io/x/y:1'), { tmpDir }).catch((e) => e);
    expect(err).toBeInstanceOf(CairnError);
    expect(err.message).toBe('registry transport docker:// is not available in this version');
    expect(err.hint).toMatch(/oci:/);
  });

  it('tarball: and scratch are not destinations', async () => {
    const img = await openSource({ transport: 'scratch' }, { tmpDir });
    await expect(writeImage(parseReference('tarball:/tmp/x.tar'), img, { tmpDir })).rejects.toBeInstanceOf(BadInputError);
    await expect(writeImage({ transport: 'scratch' }, img, { tmpDir })).rejects.toBeInstanceOf(BadInputError);
  });
});
