// Hostile OCI layouts and archives: every case has one outcome, a BadInputError (or NotFoundError) with one
// clear line, and nothing on the host is read through the layout or changed.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { JSON_LIMIT } from '../../../dsl/core/regular-file.js';
import { readDockerArchive } from '../../../dsl/transport/docker-archive.js';
import { readOciArchive } from '../../../dsl/transport/oci-archive.js';
import { parseReference } from '../../../dsl/oci/reference.js';
import { openSource } from '../../../dsl/transport/transports.js';
import { hostArch } from '../../../dsl/oci/types.js';
import { addBlob, makeDockerArchive, makeTar, readAll, sha, tempDir, testConfig, writeTestLayout, type TestImage } from '../../kit/images.js';

const t = tempDir('cairn-hostile-layout-');
const tmpDir = path.join(t.dir, 'tmp');
afterAll(() => t.cleanup());

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const REF = 'org.opencontainers.image.ref.name';

let n = 0;
/** A fresh valid layout named x, changed by edit. */
async function layout(edit: (dir: string, k: TestImage) => void): Promise<string> {
  const dir = path.join(t.dir, `l${n++}`);
  const k = await writeTestLayout(dir, { ref: 'x' });
  edit(dir, k);
  return dir;
}

const blob = (dir: string, digest: string) => path.join(dir, 'blobs', 'sha256', digest.slice(7));

/** Points index.json's only entry at this descriptor. */
function setEntry(dir: string, d: Record<string, unknown>): void {
  writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ ...d, annotations: { [REF]: 'x' } }] }));
}

/** Rewrites the manifest (edit changes it), stores it and points index.json at it. */
function editManifest(dir: string, k: TestImage, edit: (m: Record<string, any>) => void): void {
  const m = JSON.parse(readFileSync(blob(dir, k.manifestDigest), 'utf8'));
  edit(m);
  const bytes = Buffer.from(JSON.stringify(m));
  setEntry(dir, { mediaType: MANIFEST, digest: addBlob(dir, bytes), size: bytes.length });
}

/** The error opening oci:dir:x (and reading its first layer, when `layer`) gives. */
async function failure(dir: string, layer = false): Promise<Error> {
  const run = async () => {
    const img = await openSource(parseReference(`oci:${dir}:x`), { tmpDir });
    if (layer) await readAll(await img.layers[0].open());
  };
  const err = await run().then(() => undefined, (e: Error) => e);
  expect(err, 'it must fail').toBeDefined();
  return err!;
}

/** One outcome: BadInputError, one line matching re, with a hint. */
function oneLine(err: Error, re: RegExp, cls: Function = BadInputError): void {
  expect(err).toBeInstanceOf(cls);
  expect(err.message).not.toContain('\n');
  expect(err.message).toMatch(re);
  expect((err as { hint?: string }).hint).toBeTruthy();
}

/** A host file whose content and times must stay as they are. */
function canary(): { file: string; untouched(): void } {
  const file = path.join(t.dir, `canary-${n++}`);
  writeFileSync(file, 'host file\n');
  const before = statSync(file);
  return {
    file,
    untouched() {
      const now = statSync(file);
      expect(readFileSync(file, 'utf8')).toBe('host file\n');
      expect([now.ino, now.size, now.mtimeMs, now.atimeMs]).toEqual([before.ino, before.size, before.mtimeMs, before.atimeMs]);
    },
  };
}

describe('hostile OCI layouts: blobs', () => {
  it('a manifest blob that is a symlink to /dev/zero is refused at once (never read)', async () => {
    const dir = await layout((d, k) => {
      rmSync(blob(d, k.manifestDigest));
      symlinkSync('/dev/zero', blob(d, k.manifestDigest));
    });
    oneLine(await failure(dir), /^manifest sha256:[0-9a-f]{64} is a symbolic link \(/);
  });

  it('a layer blob that is a symlink to /dev/zero is refused when opened', async () => {
    const dir = await layout((d, k) => {
      rmSync(blob(d, k.layers[0].digest));
      symlinkSync('/dev/zero', blob(d, k.layers[0].digest));
    });
    oneLine(await failure(dir, true), /^layer sha256:[0-9a-f]{64} is a symbolic link \(/);
  });

  it('a layer blob that is a symlink to a host file is refused; the host file is not read', async () => {
    const c = canary();
    const dir = await layout((d, k) => {
      rmSync(blob(d, k.layers[1].digest));
      symlinkSync(c.file, blob(d, k.layers[1].digest));
    });
    const img = await openSource(parseReference(`oci:${dir}:x`), { tmpDir });
    const err = await img.layers[1].open().then(() => undefined, (e: Error) => e);
    oneLine(err!, /^layer sha256:[0-9a-f]{64} is a symbolic link/);
    c.untouched();
  });

  it('a config blob that is a FIFO is refused without blocking', async () => {
    const dir = await layout((d, k) => {
      rmSync(blob(d, k.configDigest));
      expect(spawnSync('mkfifo', [blob(d, k.configDigest)]).status).toBe(0);
    });
    const start = Date.now();
    oneLine(await failure(dir), /^config sha256:[0-9a-f]{64} is a FIFO, not a regular file/);
    expect(Date.now() - start).toBeLessThan(5000);
  });

  it('a layer blob that is a directory is refused', async () => {
    const dir = await layout((d, k) => {
      rmSync(blob(d, k.layers[0].digest));
      mkdirSync(blob(d, k.layers[0].digest));
    });
    oneLine(await failure(dir, true), /^layer sha256:[0-9a-f]{64} is a directory, not a regular file/);
  });

  it('a manifest blob larger than its descriptor says is refused, read no further than declared', async () => {
    const dir = await layout((d, k) => writeFileSync(blob(d, k.manifestDigest), Buffer.concat([readFileSync(blob(d, k.manifestDigest)), Buffer.from(' ')])));
    oneLine(await failure(dir), /^manifest sha256:[0-9a-f]{64} is larger than its descriptor's \d+ bytes/);
  });

  it('a 16 GiB (sparse) layer blob declared small errors its stream before any byte is read', async () => {
    const dir = await layout((d, k) => expect(spawnSync('truncate', ['-s', '16G', blob(d, k.layers[0].digest)]).status).toBe(0));
    const start = Date.now();
    oneLine(await failure(dir, true), /^layer sha256:[0-9a-f]{64} is larger than its descriptor's \d+ bytes \(17179869184\)$/);
    expect(Date.now() - start).toBeLessThan(5000);
  });
});

describe('hostile OCI layouts: directories and index.json', () => {
  it('a blobs/ directory that is a symlink (to a copy elsewhere) is refused; the target is untouched', async () => {
    const c = canary();
    const dir = await layout((d) => {
      const elsewhere = path.join(t.dir, `elsewhere-${n++}`);
      renameSync(path.join(d, 'blobs'), elsewhere);
      symlinkSync(elsewhere, path.join(d, 'blobs'));
    });
    oneLine(await failure(dir), /: blobs\/ is a symbolic link$/);
    c.untouched();
  });

  it('a blobs/sha256/ directory that is a symlink is refused', async () => {
    const dir = await layout((d) => {
      const elsewhere = path.join(t.dir, `elsewhere-${n++}`);
      renameSync(path.join(d, 'blobs', 'sha256'), elsewhere);
      symlinkSync(elsewhere, path.join(d, 'blobs', 'sha256'));
    });
    oneLine(await failure(dir), /: blobs\/sha256\/ is a symbolic link$/);
  });

  it('a layout reached through a symlink (the directory the user names) is read', async () => {
    const real = await layout(() => undefined);
    const link = path.join(t.dir, `link-${n++}`);
    symlinkSync(real, link);
    const img = await openSource(parseReference(`oci:${link}:x`), { tmpDir });
    expect(img.layers).toHaveLength(2);
    expect((await readAll(await img.layers[0].open())).length).toBe(img.layers[0].descriptor.size);
  });

  it('an index.json that is a symlink to /dev/zero is refused', async () => {
    const dir = await layout((d) => {
      rmSync(path.join(d, 'index.json'));
      symlinkSync('/dev/zero', path.join(d, 'index.json'));
    });
    oneLine(await failure(dir), /index\.json is a symbolic link/);
  });

  it(`an index.json over ${JSON_LIMIT} bytes is refused before it is parsed`, async () => {
    const dir = await layout((d) => writeFileSync(path.join(d, 'index.json'), ' '.repeat(JSON_LIMIT + 1)));
    oneLine(await failure(dir), new RegExp(`index\\.json is ${JSON_LIMIT + 1} bytes, more than cairn accepts \\(${JSON_LIMIT}\\)$`));
  });

  it('a manifest declared larger than the limit is refused before it is read', async () => {
    const dir = await layout((d, k) => setEntry(d, { mediaType: MANIFEST, digest: k.manifestDigest, size: JSON_LIMIT + 1 }));
    oneLine(await failure(dir), new RegExp(`^manifest sha256:[0-9a-f]{64} declares ${JSON_LIMIT + 1} bytes, more than cairn accepts`));
  });

  it('an oversized manifest (really over the limit, declared so) is refused', async () => {
    const dir = await layout((d, k) =>
      editManifest(d, k, (m) => {
        m.annotations = { pad: 'x'.repeat(JSON_LIMIT) };
      }),
    );
    oneLine(await failure(dir), /^manifest sha256:[0-9a-f]{64} declares \d+ bytes, more than cairn accepts/);
  });

  it('an endless chain of indexes (a self-reference, as content addressing allows one) stops at depth 4', async () => {
    // A blob cannot hold its own digest, so an index that refers back to itself shows up as a chain that
    // does not end: cairn follows four levels and refuses the fifth.
    const dir = await layout((d, k) => {
      const m = readFileSync(blob(d, k.manifestDigest));
      let desc: Record<string, unknown> = { mediaType: MANIFEST, digest: k.manifestDigest, size: m.length, platform: { os: 'linux', architecture: hostArch() } };
      for (let i = 0; i < 6; i++) {
        const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [desc] }));
        desc = { mediaType: INDEX, digest: addBlob(d, bytes), size: bytes.length, platform: { os: 'linux', architecture: hostArch() } };
      }
      setEntry(d, desc);
    });
    oneLine(await failure(dir), /: image indexes nested too deeply$/);
  });
});

describe('hostile OCI layouts: digests', () => {
  it.each([
    ['an uppercase digest', (k: TestImage) => k.manifestDigest.toUpperCase().replace('SHA256', 'sha256')],
    ['an uppercase algorithm', (k: TestImage) => k.manifestDigest.replace('sha256', 'SHA256')],
    ['a digest with a slash', (k: TestImage) => `sha256:${k.manifestDigest.slice(7, 39)}/${k.manifestDigest.slice(40)}`],
    ['a digest climbing out with ..', () => 'sha256:../../../../etc/passwd'],
    ['another algorithm', (k: TestImage) => `sha512:${k.manifestDigest.slice(7)}${k.manifestDigest.slice(7)}`],
  ])('%s in index.json is refused before any path is built', async (_name, digest) => {
    const dir = await layout((d, k) => setEntry(d, { mediaType: MANIFEST, digest: digest(k), size: 100 }));
    oneLine(await failure(dir), /has a descriptor with an invalid digest/);
  });

  it('an uppercase layer digest in the manifest is refused', async () => {
    const dir = await layout((d, k) =>
      editManifest(d, k, (m) => {
        m.layers[0].digest = m.layers[0].digest.toUpperCase().replace('SHA256', 'sha256');
      }),
    );
    oneLine(await failure(dir), /has a descriptor with an invalid digest/);
  });
});

describe('hostile archives: small documents', () => {
  it(`an oci-archive whose index.json is over ${JSON_LIMIT} bytes is refused`, async () => {
    const file = path.join(t.dir, 'big-index.tar');
    writeFileSync(file, await makeTar([{ name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', content: ' '.repeat(JSON_LIMIT + 1) }]));
    const err = await readOciArchive(file, undefined, tmpDir).then(() => undefined, (e: Error) => e);
    oneLine(err!, /index\.json is too large/);
  });

  it(`a docker archive whose config is over ${JSON_LIMIT} bytes is refused`, async () => {
    const layer = await makeTar([{ name: 'f', content: 'x' }]);
    const config = Buffer.from(JSON.stringify({ ...testConfig([sha(layer)]), pad: 'x'.repeat(JSON_LIMIT) }));
    const file = path.join(t.dir, 'big-config.tar');
    writeFileSync(file, await makeDockerArchive([{ config, layers: [{ name: 'l.tar', bytes: layer }] }]));
    const err = await readDockerArchive(file, undefined, tmpDir).then(() => undefined, (e: Error) => e);
    oneLine(err!, /\.json is too large/);
  });
});

it('copying a valid layout still works after all this (the kit layout, unchanged)', async () => {
  const dir = path.join(t.dir, 'plain');
  const k = await writeTestLayout(dir, { ref: 'x' });
  cpSync(dir, path.join(t.dir, 'plain-copy'), { recursive: true });
  const img = await openSource(parseReference(`oci:${path.join(t.dir, 'plain-copy')}:x`), { tmpDir });
  expect(img.configBytes.equals(k.configBytes)).toBe(true);
});
