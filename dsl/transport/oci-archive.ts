import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BadInputError } from '../core/errors.js';
import { digestHex } from '../oci/digest.js';
import type { SourceImage } from './source.js';
import { JSON_LIMIT } from '../core/regular-file.js';
import { indexEntry, ociManifestOf, readLayout } from './oci-layout.js';
import { saveMember, walkTar } from './tar-walk.js';
import { writeTarFile } from './tar-write.js';
import { MediaType } from '../oci/types.js';
import { sha256 } from '../oci/validate.js';
import { crashPoint } from '../core/crash.js';
import { makeDirs } from '../core/fsutil.js';

const BLOB = /^blobs\/sha256\/[0-9a-f]{64}$/;

function hostile(file: string, what: string): BadInputError {
  return new BadInputError(`${file} is not a plain OCI archive: ${what}`, { hint: 'an oci-archive holds only oci-layout, index.json and blobs/sha256/<hex> files' });
}

/**
 * Unpacks an oci-archive into dest, accepting only `oci-layout`, `index.json` and
 * `blobs/sha256/<hex>` regular files (and their directories): links, devices, other names and
 * duplicates are refused, so nothing is ever written outside dest.
 */
export async function unpackOciArchive(file: string, dest: string): Promise<void> {
  await makeDirs(path.join(dest, 'blobs', 'sha256'));
  let sawIndex = false;
  await walkTar(file, async ({ name, header, entry }) => {
    const type = header.type ?? 'file';
    if (type === 'directory') {
      if (name === '' || name === 'blobs' || name === 'blobs/sha256') return;
      throw hostile(file, `unexpected directory ${JSON.stringify(header.name)}`);
    }
    if (type !== 'file' && type !== 'contiguous-file') throw hostile(file, `${type} entry ${JSON.stringify(header.name)}`);
    const small = name === 'oci-layout' || name === 'index.json';
    if (!small && !BLOB.test(name)) throw hostile(file, `unexpected entry ${JSON.stringify(header.name)}`);
    if (small && (header.size ?? 0) > JSON_LIMIT) throw hostile(file, `${name} is too large (${header.size} bytes, more than ${JSON_LIMIT})`);
    if (name === 'index.json') sawIndex = true;
    try {
      await saveMember(entry, path.join(dest, ...name.split('/')));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw hostile(file, `duplicate entry ${JSON.stringify(header.name)}`);
      throw err;
    }
  });
  if (!sawIndex) throw new BadInputError(`${file} is not an OCI archive (no index.json)`, { hint: 'oci-archive:FILE needs a tar of an OCI image layout' });
}

/** Reads image ref (or the only one) of an oci-archive, unpacked below tmpDir until close(). */
export async function readOciArchive(file: string, ref: string | undefined, tmpDir: string): Promise<SourceImage> {
  await makeDirs(tmpDir);
  const dir = await fsp.mkdtemp(path.join(tmpDir, 'oci-archive-'));
  const cleanup = () => fsp.rm(dir, { recursive: true, force: true });
  try {
    await unpackOciArchive(file, dir);
    const img = await readLayout(dir, ref, file);
    return { ...img, close: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Writes img as an oci-archive (a tar of a one-image layout, named ref when given), streamed. */
export async function writeOciArchive(file: string, img: SourceImage, ref?: string): Promise<void> {
  const manifest = ociManifestOf(img);
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const index = { schemaVersion: 2, mediaType: MediaType.index, manifests: [indexEntry(manifestBytes, img, ref)] };
  await writeTarFile(file, async (t) => {
    await t.bytes('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    await t.bytes('index.json', Buffer.from(JSON.stringify(index)));
    await t.dir('blobs/');
    await t.dir('blobs/sha256/');
    const done = new Set<string>();
    const blob = (digest: string) => {
      done.add(digest);
      return `blobs/sha256/${digestHex(digest)}`;
    };
    await t.bytes(blob(sha256(manifestBytes)), manifestBytes);
    crashPoint('push.archive.mid-write');
    if (!done.has(manifest.config.digest)) await t.bytes(blob(manifest.config.digest), img.configBytes);
    for (const l of img.layers) {
      if (done.has(l.descriptor.digest)) continue;
      await t.stream(blob(l.descriptor.digest), l.descriptor.size, await l.open());
    }
  });
}
