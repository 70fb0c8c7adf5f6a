import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { readLayout, writeLayout } from '../../../dsl/transport/oci-layout.js';
import { readOciArchive, writeOciArchive } from '../../../dsl/transport/oci-archive.js';
import { openSource, writeImage } from '../../../dsl/transport/transports.js';
import { parseReference } from '../../../dsl/oci/reference.js';
import { hostArch } from '../../../dsl/oci/types.js';
import { addBlob, makeTar, readAll, run, tempDir, writeTestLayout, type TestImage } from '../../kit/images.js';

// What skopeo and umoci make of these layouts and archives, and archives skopeo writes: test/interop/transports.test.ts.

const t = tempDir('cairn-oci-');
const tmpDir = path.join(t.dir, 'tmp');
let kit: TestImage;
beforeAll(async () => {
  kit = await writeTestLayout(path.join(t.dir, 'kit'), { ref: 'v1' });
});
afterAll(() => t.cleanup());

function readIndex(dir: string): { manifests: { digest: string; annotations?: Record<string, string> }[] } {
  return JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'));
}

describe('oci: layout', () => {
  it('reads a layout written by hand: config bytes, layer digests, diff IDs and layer bytes', async () => {
    const img = await openSource(parseReference(`oci:${kit.dir}:v1`), { tmpDir });
    expect(img.configBytes.equals(kit.configBytes)).toBe(true);
    expect(img.layers.map((l) => l.descriptor.digest)).toEqual(kit.layers.map((l) => l.digest));
    expect(img.layers.map((l) => l.diffID)).toEqual(kit.layers.map((l) => l.diffID));
    expect(img.names).toEqual(['v1']);
    expect((await readAll(await img.layers[1].open())).equals(kit.layers[1].blob)).toBe(true);
    // Without :REF the only image is taken.
    expect((await readLayout(kit.dir)).configBytes.equals(kit.configBytes)).toBe(true);
  });

  it('round-trips through writeLayout unchanged', async () => {
    const out = path.join(t.dir, 'deep', 'rt'); // parents are created, as skopeo does
    const src = await readLayout(kit.dir, 'v1');
    await writeImage(parseReference(`oci:${out}:copy`), src, { tmpDir });
    const back = await readLayout(out, 'copy');
    expect(back.configBytes.equals(kit.configBytes)).toBe(true);
    expect(back.layers.map((l) => l.descriptor.digest)).toEqual(kit.layers.map((l) => l.digest));
    expect(back.manifest.config.digest).toBe(kit.configDigest);
    for (const [i, l] of back.layers.entries()) expect((await readAll(await l.open())).equals(kit.layers[i].blob)).toBe(true);
  });

  it('adds or replaces the entry for REF, keeping the others, and skips present blobs', async () => {
    const out = path.join(t.dir, 'multi');
    const src = await readLayout(kit.dir, 'v1');
    await writeLayout(out, src, 'a');
    await writeLayout(out, src, 'b');
    await writeLayout(out, src, 'a');
    expect(readIndex(out).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort()).toEqual(['a', 'b']);
    // Three blobs of layers, one config, one manifest: nothing duplicated, no temp files left.
    expect(readdirSync(path.join(out, 'blobs', 'sha256')).sort()).toHaveLength(4);
    expect(readdirSync(out).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
    await expect(readLayout(out)).rejects.toThrow(/holds 2 images/);
    await expect(readLayout(out, 'c')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('picks the manifest for linux/this arch from a nested index', async () => {
    const dir = path.join(t.dir, 'nested');
    const k = await writeTestLayout(dir, { ref: 'multi' });
    const idx = readIndex(dir);
    const mine = readFileSync(path.join(dir, 'blobs', 'sha256', k.manifestDigest.slice(7)));
    const other = addBlob(dir, JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: 'sha256:' + '1'.repeat(64), size: 1 }, layers: [] }));
    const inner = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: other, size: 100, platform: { os: 'linux', architecture: 'not-' + hostArch() } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: k.manifestDigest, size: mine.length, platform: { os: 'linux', architecture: hostArch() } },
      ],
    }));
    const innerDigest = addBlob(dir, inner);
    idx.manifests = [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: innerDigest, size: inner.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } } as never];
    writeFileSync(path.join(dir, 'index.json'), JSON.stringify(idx));
    const img = await readLayout(dir, 'multi');
    expect(img.configBytes.equals(k.configBytes)).toBe(true);
  });

  it('reports a missing layout as NotFoundError, a plain directory or a file as BadInputError', async () => {
    await expect(readLayout(path.join(t.dir, 'nope'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(readLayout(t.dir)).rejects.toBeInstanceOf(BadInputError);
    await expect(readLayout(path.join(kit.dir, 'oci-layout'))).rejects.toThrow(/is not an OCI image layout/);
  });
});

describe('oci: layout, hostile or corrupt', () => {
  async function corrupt(name: string, edit: (dir: string, k: TestImage) => void): Promise<string> {
    const dir = path.join(t.dir, name);
    const k = await writeTestLayout(dir, { ref: 'x' });
    edit(dir, k);
    return dir;
  }

  it('refuses an index digest used as a path (sha256:../../etc/passwd)', async () => {
    const dir = await corrupt('traversal', (d) => {
      const idx = readIndex(d);
      idx.manifests[0].digest = 'sha256:../../etc/passwd';
      writeFileSync(path.join(d, 'index.json'), JSON.stringify(idx));
    });
    await expect(readLayout(dir, 'x')).rejects.toThrow(BadInputError);
    await expect(readLayout(dir, 'x')).rejects.toThrow(/invalid digest/);
  });

  it('errors the layer stream when one byte of a blob is flipped', async () => {
    const dir = await corrupt('flipped', (d, k) => {
      const f = path.join(d, 'blobs', 'sha256', k.layers[1].digest.slice(7));
      const b = readFileSync(f);
      b[b.length >> 1] ^= 0x01;
      writeFileSync(f, b);
    });
    const img = await readLayout(dir, 'x');
    await expect(readAll(await img.layers[1].open())).rejects.toThrow(/does not match its digest/);
    await expect(readAll(await img.layers[0].open())).resolves.toBeInstanceOf(Buffer);
    // Copying it elsewhere fails and leaves no layer blob behind.
    const out = path.join(t.dir, 'flipped-copy');
    await expect(writeLayout(out, img, 'x')).rejects.toBeInstanceOf(BadInputError);
    expect(existsSync(path.join(out, 'blobs', 'sha256', img.layers[1].descriptor.digest.slice(7)))).toBe(false);
    expect(readdirSync(path.join(out, 'blobs', 'sha256')).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });

  it('errors a layer stream that is longer than its descriptor says', async () => {
    const dir = await corrupt('longer', (d, k) => {
      const f = path.join(d, 'blobs', 'sha256', k.layers[0].digest.slice(7));
      writeFileSync(f, Buffer.concat([readFileSync(f), Buffer.from('more')]));
    });
    const img = await readLayout(dir, 'x');
    await expect(readAll(await img.layers[0].open())).rejects.toThrow(/larger than/);
  });

  it('refuses a config that does not match its digest, naming it', async () => {
    const dir = await corrupt('config', (d, k) => {
      writeFileSync(path.join(d, 'blobs', 'sha256', k.configDigest.slice(7)), k.configBytes.toString().replace('hello', 'HELLO'));
    });
    await expect(readLayout(dir, 'x')).rejects.toThrow(/config sha256:[0-9a-f]{64} does not match its digest/);
  });

  it('refuses index.json that is not JSON, naming the file', async () => {
    const dir = await corrupt('badjson', (d) => writeFileSync(path.join(d, 'index.json'), '{"schemaVersion": 2,'));
    await expect(readLayout(dir, 'x')).rejects.toThrow(/index\.json is not valid JSON/);
  });

  it('refuses a manifest without layers and a config without diff_ids', async () => {
    const dir = await corrupt('nolayers', (d) => {
      const m = addBlob(d, JSON.stringify({ schemaVersion: 2, config: { mediaType: 'x', digest: 'sha256:' + '2'.repeat(64), size: 3 } }));
      const idx = readIndex(d);
      Object.assign(idx.manifests[0], { digest: m, size: readFileSync(path.join(d, 'blobs', 'sha256', m.slice(7))).length });
      writeFileSync(path.join(d, 'index.json'), JSON.stringify(idx));
    });
    await expect(readLayout(dir, 'x')).rejects.toThrow(/manifest sha256:.* is not an image manifest/);
  });

  it('reports a missing layer blob as NotFoundError on open', async () => {
    const dir = await corrupt('missing', (d, k) => {
      run('rm', [path.join(d, 'blobs', 'sha256', k.layers[0].digest.slice(7))]);
    });
    const img = await readLayout(dir, 'x');
    await expect(img.layers[0].open()).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('oci-archive:', () => {
  it('writes an archive and reads it back unchanged', async () => {
    const file = path.join(t.dir, 'img.tar');
    await writeImage(parseReference(`oci-archive:${file}:v2`), await readLayout(kit.dir, 'v1'), { tmpDir });
    const img = await readOciArchive(file, 'v2', tmpDir);
    expect(img.configBytes.equals(kit.configBytes)).toBe(true);
    expect(img.manifest.config.digest).toBe(kit.configDigest);
    expect(img.layers.map((l) => l.descriptor.digest)).toEqual(kit.layers.map((l) => l.digest));
    expect((await readAll(await img.layers[0].open())).equals(kit.layers[0].blob)).toBe(true);
    await img.close();
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it.each([
    ['a ../ entry', [{ name: '../x', content: 'escaped' }]],
    ['an absolute entry', [{ name: '/tmp/x', content: 'escaped' }]],
    ['a symlink', [{ name: 'blobs/sha256/' + 'a'.repeat(64), type: 'symlink' as const, linkname: '/etc/passwd' }]],
    ['a hard link', [{ name: 'blobs/sha256/' + 'b'.repeat(64), type: 'link' as const, linkname: 'index.json' }]],
    ['an unexpected file', [{ name: 'blobs/sha256/short', content: 'x' }]],
    ['a duplicate', [{ name: 'index.json', content: '{}' }]],
  ])('refuses an archive with %s', async (_what, extra) => {
    const file = path.join(t.dir, `hostile-${_what.replace(/\W+/g, '_')}.tar`);
    writeFileSync(file, await makeTar([
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', content: '{"schemaVersion":2,"manifests":[]}' },
      ...extra,
    ]));
    await expect(readOciArchive(file, undefined, tmpDir)).rejects.toThrow(BadInputError);
    expect(existsSync(path.join(tmpDir, '..', 'x'))).toBe(false);
    expect(readdirSync(tmpDir)).toEqual([]);
  });

  it('reports a missing archive as NotFoundError', async () => {
    await expect(readOciArchive(path.join(t.dir, 'none.tar'), undefined, tmpDir)).rejects.toBeInstanceOf(NotFoundError);
  });
});
