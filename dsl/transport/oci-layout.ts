import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { tempBeside, writeFileAtomic } from '../core/atomic.js';
import { isMissing, lstatOrUndefined, makeDirs, statOrUndefined } from '../core/fsutil.js';
import { digestHex } from '../oci/digest.js';
import type { SourceImage, SourceLayer } from './source.js';
import { hostArch, MediaType, type Descriptor, type Index, type Manifest } from '../oci/types.js';
import { JSON_LIMIT, readSmallFile } from '../core/regular-file.js';
import { openVerifiedFile, readVerifiedFile } from '../store/verify-stream.js';
import { checkConfig, checkIndex, checkManifest, isIndexType, ociMediaType, parseJson, sha256 } from '../oci/validate.js';
import { crashPoint } from '../core/crash.js';
import { fileSink } from '../core/file-sink.js';
import { forEachLimit, settleAll } from '../core/pool.js';

/** The annotation an OCI layout names its images with. */
export const REF_NAME = 'org.opencontainers.image.ref.name';
const LAYOUT_FILE = { imageLayoutVersion: '1.0.0' };

/** The path of a blob in a layout (the digest is validated before it becomes a path). */
export function blobPath(dir: string, digest: string): string {
  return path.join(dir, 'blobs', 'sha256', digestHex(digest));
}

async function readIndexFile(dir: string): Promise<Index> {
  const file = path.join(dir, 'index.json');
  let bytes: Buffer;
  try {
    bytes = await readSmallFile(file, `${dir}: index.json`, JSON_LIMIT, { nofollow: true });
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    const exists = (await statOrUndefined(dir)) !== undefined;
    if (!exists) throw new NotFoundError(`OCI layout ${dir} does not exist`, { hint: 'check the path of oci:DIR' });
    throw new BadInputError(`${dir} is not an OCI image layout (no index.json)`, { hint: 'oci:DIR needs a directory written by skopeo, umoci or cairn' });
  }
  return checkIndex(parseJson(bytes, file), file);
}

/**
 * The real path of a layout's blobs/sha256 directory, after checking that blobs/ and blobs/sha256/ are
 * directories and not symlinks (the layout directory itself, which the user names, may be reached through one).
 */
async function blobDir(dir: string, label: string): Promise<string> {
  let real = dir;
  try {
    real = await fsp.realpath(dir);
  } catch (err) {
    // Missing: reported below, or by the first blob read; anything else is not "missing".
    if (!isMissing(err)) throw err;
  }
  for (const sub of ['blobs', path.join('blobs', 'sha256')]) {
    const st = await lstatOrUndefined(path.join(real, sub));
    if (!st) continue; // a missing blob is reported by its read, naming the blob
    if (st.isSymbolicLink()) throw new BadInputError(`${label}: ${sub}/ is a symbolic link`, { hint: 'an OCI layout\'s blobs/ and blobs/sha256/ are plain directories: the layout is hostile or damaged' });
    if (!st.isDirectory()) throw new BadInputError(`${label}: ${sub}/ is not a directory`, { hint: 'the layout is hostile or damaged' });
  }
  return path.join(real, 'blobs', 'sha256');
}

function platformMatches(d: Descriptor): boolean {
  return d.platform?.os === 'linux' && d.platform.architecture === hostArch();
}

/** Chooses the index entry for ref (or the only one, or the one for this platform). */
function selectEntry(index: Index, ref: string | undefined, where: string): Descriptor {
  if (ref !== undefined) {
    const hits = index.manifests.filter((d) => d.annotations?.[REF_NAME] === ref);
    if (hits.length === 1) return hits[0];
    if (hits.length === 0) {
      const names = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter(Boolean);
      throw new NotFoundError(`no image named ${JSON.stringify(ref)} in ${where}`, { hint: names.length ? `it holds: ${names.join(', ')}` : 'it holds no named images; leave out :REF' });
    }
    throw new BadInputError(`${where} has ${hits.length} images named ${JSON.stringify(ref)}`, { hint: 'the layout is ambiguous; rewrite it' });
  }
  if (index.manifests.length === 1) return index.manifests[0];
  const forUs = index.manifests.filter(platformMatches);
  if (forUs.length === 1) return forUs[0];
  if (index.manifests.length === 0) throw new NotFoundError(`${where} holds no images`, { hint: 'write one into it first' });
  const names = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter(Boolean);
  throw new BadInputError(`${where} holds ${index.manifests.length} images; say which one`, { hint: names.length ? `add :REF, one of ${names.join(', ')}` : 'add :REF' });
}

/** Reads one image of an OCI layout: the entry named ref, resolving nested indexes for linux/this arch. */
export async function readLayout(dir: string, ref?: string, label = dir): Promise<SourceImage> {
  const index = await readIndexFile(dir);
  const blobs = await blobDir(dir, label);
  // Blobs are opened in the real blobs/sha256 directory, never through a symlink, and must really be there.
  const strict = { nofollow: true, within: blobs };
  const at = (digest: string) => path.join(blobs, digestHex(digest));
  let desc = selectEntry(index, ref, label);
  const name = desc.annotations?.[REF_NAME];
  const seen = new Set<string>();
  for (let depth = 0; isIndexType(desc.mediaType); depth++) {
    if (seen.has(desc.digest)) throw new BadInputError(`${label}: index ${desc.digest} refers to itself`, { hint: 'the layout is hostile or damaged' });
    if (depth >= 4) throw new BadInputError(`${label}: image indexes nested too deeply`, { hint: 'an index of indexes more than 4 deep is not an image cairn reads' });
    seen.add(desc.digest);
    const bytes = await readVerifiedFile(at(desc.digest), desc, 'index', JSON_LIMIT, strict);
    const inner = checkIndex(parseJson(bytes, `index ${desc.digest}`), `index ${desc.digest}`);
    const forUs = inner.manifests.filter(platformMatches);
    if (forUs.length === 0) {
      throw new NotFoundError(`index ${desc.digest} in ${label} has no image for linux/${hostArch()}`, { hint: 'copy an image built for this architecture' });
    }
    desc = forUs[0];
  }
  const manifestBytes = await readVerifiedFile(at(desc.digest), desc, 'manifest', JSON_LIMIT, strict);
  const manifest = checkManifest(parseJson(manifestBytes, `manifest ${desc.digest}`), `manifest ${desc.digest}`);
  const configBytes = await readVerifiedFile(at(manifest.config.digest), manifest.config, 'config', JSON_LIMIT, strict);
  const config = checkConfig(parseJson(configBytes, `config ${manifest.config.digest}`), `config ${manifest.config.digest}`, manifest.layers.length);
  const layers: SourceLayer[] = manifest.layers.map((d, i) => ({
    descriptor: d,
    diffID: config.rootfs.diff_ids[i],
    open: () => openVerifiedFile(at(d.digest), d, 'layer', strict),
  }));
  return { manifest, configBytes, config, layers, names: name ? [name] : undefined, close: async () => undefined };
}

/** The manifest to store for img: OCI media types, descriptors exactly as the layers give them. */
export function ociManifestOf(img: SourceImage): Manifest {
  const digest = sha256(img.configBytes);
  if (digest !== img.manifest.config.digest) {
    throw new BadInputError(`the image's config bytes do not match its manifest (${img.manifest.config.digest})`);
  }
  const m: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: { mediaType: MediaType.config, digest, size: img.configBytes.length },
    layers: img.layers.map((l) => ({ ...l.descriptor, mediaType: ociMediaType(l.descriptor.mediaType) })),
  };
  if (img.manifest.annotations) m.annotations = img.manifest.annotations;
  return m;
}

async function present(file: string, size: number): Promise<boolean> {
  const st = await statOrUndefined(file);
  return st !== undefined && st.isFile() && st.size === size;
}

/**
 * Writes a blob from a verified stream by temp-file + fsync + rename (as containers/image's layout writer does: the
 * index written after it names only blobs that are on disk); skipped when already present.
 */
async function putBlob(dir: string, d: Descriptor, open: () => Promise<Readable>): Promise<void> {
  const file = blobPath(dir, d.digest);
  if (await present(file, d.size)) return;
  const tmp = tempBeside(file);
  try {
    await pipeline(await open(), fileSink(tmp, { sync: true }));
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

async function putBytes(dir: string, digest: string, bytes: Buffer): Promise<void> {
  const file = blobPath(dir, digest);
  if (!(await present(file, bytes.length))) await writeFileAtomic(file, bytes);
}

/** The index entry for a manifest, named ref when given. */
export function indexEntry(manifestBytes: Buffer, img: SourceImage, ref?: string): Descriptor {
  const d: Descriptor = { mediaType: MediaType.manifest, digest: sha256(manifestBytes), size: manifestBytes.length };
  if (ref) d.annotations = { [REF_NAME]: ref };
  d.platform = { architecture: img.config.architecture, os: img.config.os, ...(img.config.variant ? { variant: img.config.variant } : {}) };
  return d;
}

/** Writes dir's oci-layout file when it has none. */
async function layoutFile(dir: string): Promise<void> {
  const file = path.join(dir, 'oci-layout');
  if (!(await statOrUndefined(file))) await writeFileAtomic(file, JSON.stringify(LAYOUT_FILE));
}

/** The layout's index.json as it is (an empty index when there is none yet). */
async function readIndex(dir: string, indexFile: string): Promise<Index> {
  const old = await readSmallFile(indexFile, `${dir}: index.json`, JSON_LIMIT, { nofollow: true }).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  return old ? checkIndex(parseJson(old, indexFile), indexFile) : { schemaVersion: 2, mediaType: MediaType.index, manifests: [] };
}

/**
 * Writes img into the OCI layout dir (created when missing) and names it ref in index.json, replacing
 * an entry of that name and keeping the others. Config and layers are copied as stored, so the image
 * ID stays the same.
 */
export async function writeLayout(dir: string, img: SourceImage, ref?: string): Promise<void> {
  const manifest = ociManifestOf(img);
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  // As skopeo: the layout directory and its parents are created when missing.
  await makeDirs(path.join(dir, 'blobs', 'sha256'));
  const indexFile = path.join(dir, 'index.json');
  const index = await readIndex(dir, indexFile);
  // The layers start at once, three at a time as a registry pull fetches them, each to its own temporary file; the
  // layout file is written meanwhile (its fsync holds no layer back).
  await settleAll([forEachLimit(img.layers, 3, (l) => putBlob(dir, l.descriptor, () => l.open())), layoutFile(dir)]);
  crashPoint('push.layout.after-blobs');
  await putBytes(dir, manifest.config.digest, img.configBytes);
  await putBytes(dir, sha256(manifestBytes), manifestBytes);
  const entry = indexEntry(manifestBytes, img, ref);
  // As containers/image: a named entry replaces the same name; an unnamed one replaces an unnamed copy of itself.
  const kept = index.manifests.filter((d) => {
    const n = d.annotations?.[REF_NAME];
    return ref ? n !== ref : !(n === undefined && d.digest === entry.digest);
  });
  crashPoint('push.layout.before-index');
  await writeFileAtomic(indexFile, JSON.stringify({ ...index, manifests: [...kept, entry] }));
}
