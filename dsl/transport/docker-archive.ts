import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { compressionOfMediaType, decompress } from '../layer/compress.js';
import { HashCounter } from '../store/hash.js';
import { checkDigest, digestHex } from '../oci/digest.js';
import { assemble } from './assemble.js';
import type { SourceImage, SourceLayer } from './source.js';
import { normalizeName, splitName } from '../oci/reference.js';
import { saveMember, walkTar } from './tar-walk.js';
import { writeTarFile } from './tar-write.js';
import { checkConfig, isFormatError, parseJson, sha256 } from '../oci/validate.js';
import { JSON_LIMIT, readSmallFile } from '../core/regular-file.js';
import { hashFile } from './hash-file.js';
import { openVerifiedFile } from '../store/verify-stream.js';
import { makeDirs } from '../core/fsutil.js';
import { fileSink } from '../core/file-sink.js';

/** One image of a `docker save` manifest.json. */
interface SaveItem {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}


function bad(file: string, what: string): BadInputError {
  return new BadInputError(`${file}: ${what}`, { hint: 'the docker archive is corrupt, truncated or not from docker save / podman save / skopeo' });
}

/** The archive's regular files (saved below dir) and links, by member name. */
class Members {
  files = new Map<string, { file: string; size: number }>();
  links = new Map<string, string | undefined>();
  constructor(readonly archive: string) {}
  /** The saved file for a member name, following links inside the archive. */
  resolve(name: string): { file: string; size: number } {
    let n = name.replace(/^(\.\/)+/, '');
    for (let hops = 0; hops < 8; hops++) {
      const f = this.files.get(n);
      if (f) return f;
      if (!this.links.has(n)) break;
      const target = this.links.get(n);
      if (target === undefined) throw bad(this.archive, `${JSON.stringify(name)} is a link pointing outside the archive`);
      n = target;
    }
    throw bad(this.archive, `manifest.json names ${JSON.stringify(name)}, which the archive does not hold`);
  }
}

/** Saves every regular file of a docker archive below dir; records links by their in-archive targets. */
async function unpack(file: string, dir: string): Promise<Members> {
  const m = new Members(file);
  let n = 0;
  await walkTar(file, async ({ name, header, entry }) => {
    const type = header.type ?? 'file';
    if (type === 'file' || type === 'contiguous-file') {
      // Saved under generated names: a member's own name never becomes a path.
      const dest = path.join(dir, `m${n++}`);
      await saveMember(entry, dest);
      m.files.set(name, { file: dest, size: header.size ?? 0 });
      m.links.delete(name);
    } else if (type === 'symlink' || type === 'link') {
      const link = header.linkname ?? '';
      const base = type === 'symlink' && !link.startsWith('/') ? path.posix.dirname(name) : '';
      const target = path.posix.normalize(path.posix.join(base, link));
      m.links.set(name, link.startsWith('/') || target.startsWith('..') ? undefined : target);
      m.files.delete(name);
    }
    // Directories and anything else are never materialized.
  });
  return m;
}

function parseSaveManifest(bytes: Buffer, file: string): SaveItem[] {
  const v = parseJson(bytes, `${file}: manifest.json`);
  if (!Array.isArray(v) || v.length === 0) throw bad(file, 'manifest.json is not a non-empty array');
  for (const it of v) {
    const ok = typeof it === 'object' && it !== null && typeof it.Config === 'string' && Array.isArray(it.Layers) && it.Layers.every((l: unknown) => typeof l === 'string');
    if (!ok) throw bad(file, 'manifest.json has an entry without Config and Layers');
    if (it.RepoTags != null && !(Array.isArray(it.RepoTags) && it.RepoTags.every((t: unknown) => typeof t === 'string'))) throw bad(file, 'manifest.json has RepoTags that are not strings');
  }
  return v as SaveItem[];
}

/** docker.io-style normalization, as docker and skopeo spell RepoTags (`alpine:latest` = `docker.io/library/alpine:latest`). */
function dockerName(n: string): string | undefined {
  try {
    const p = splitName(n);
    const host = p.host ?? 'docker.io';
    const repo = host === 'docker.io' && !p.path.includes('/') ? `library/${p.path}` : p.path;
    return `${host}/${repo}:${p.tag ?? 'latest'}`;
  } catch {
    return undefined;
  }
}

function sameName(a: string, b: string): boolean {
  if (a === b) return true;
  const da = dockerName(a);
  if (da !== undefined && da === dockerName(b)) return true;
  try {
    return normalizeName(a) === normalizeName(b);
  } catch {
    return false;
  }
}

function selectItem(items: SaveItem[], ref: string | undefined, file: string): SaveItem {
  const tags = () => items.flatMap((it) => it.RepoTags ?? []).join(', ') || 'none';
  if (ref?.startsWith('@')) {
    const i = Number(ref.slice(1));
    if (i >= items.length) throw new NotFoundError(`${file} has no image ${ref} (it holds ${items.length})`, { hint: `use @0 to @${items.length - 1}` });
    return items[i];
  }
  if (ref !== undefined) {
    const hit = items.find((it) => (it.RepoTags ?? []).some((t) => sameName(t, ref)));
    if (!hit) throw new NotFoundError(`${file} has no image tagged ${ref}`, { hint: `its tags: ${tags()}` });
    return hit;
  }
  if (items.length === 1) return items[0];
  throw new BadInputError(`${file} holds ${items.length} images; say which one`, { hint: `add :NAME:TAG or :@N; its tags: ${tags()}` });
}

/**
 * Reads an image from a `docker save` archive (classic `<id>/layer.tar`, skopeo's `<hex>.tar` or the
 * newer `blobs/sha256/<hex>` layout; layers plain or compressed). Each layer's digest is the sha256 of
 * its file as stored; its decompressed sha256 must equal the config's diff ID.
 */
export async function readDockerArchive(file: string, ref: string | undefined, tmpDir: string): Promise<SourceImage> {
  await makeDirs(tmpDir);
  const dir = await fsp.mkdtemp(path.join(tmpDir, 'docker-archive-'));
  const cleanup = () => fsp.rm(dir, { recursive: true, force: true });
  try {
    const members = await unpack(file, dir);
    if (!members.files.has('manifest.json') && !members.links.has('manifest.json')) {
      throw bad(file, 'no manifest.json: not a docker archive, or truncated');
    }
    const small = async (name: string) => {
      const f = members.resolve(name);
      if (f.size > JSON_LIMIT) throw bad(file, `${name} is too large (${f.size} bytes, more than ${JSON_LIMIT})`);
      return readSmallFile(f.file, `${file}: ${name}`, JSON_LIMIT);
    };
    const item = selectItem(parseSaveManifest(await small('manifest.json'), file), ref, file);
    const configBytes = await small(item.Config);
    const config = checkConfig(parseJson(configBytes, `${file}: ${item.Config}`), `${file}: ${item.Config}`, item.Layers.length);
    const seen = new Map<string, Awaited<ReturnType<typeof hashFile>>>();
    const layers: SourceLayer[] = [];
    for (const [i, name] of item.Layers.entries()) {
      const f = members.resolve(name);
      const h = seen.get(f.file) ?? (await hashFile(f.file));
      seen.set(f.file, h);
      const diffID = config.rootfs.diff_ids[i];
      if (h.diffID !== diffID) {
        throw bad(file, `layer ${name} has diff ID ${h.diffID}, but its config says ${diffID}`);
      }
      const descriptor = { mediaType: h.mediaType, digest: h.digest, size: h.size };
      layers.push({ descriptor, diffID, open: () => openVerifiedFile(f.file, descriptor) });
    }
    const names = (item.RepoTags ?? []).filter((t) => t !== '');
    return assemble(config, configBytes, layers, { names: names.length ? names : undefined, close: cleanup });
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** RepoTags for names: tagged references only (a bare name gets `:latest`, digests are dropped). */
export function repoTags(names: string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const p = splitName(n);
    if (p.digest && !p.tag) continue;
    const t = `${p.host ? p.host + '/' : ''}${p.path}:${p.tag ?? 'latest'}`;
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** Writes a layer's uncompressed tar to a temp file below tmpDir, checking it against diffID. */
async function uncompressedCopy(l: SourceLayer, tmpDir: string): Promise<{ file: string; size: number }> {
  const tmp = path.join(tmpDir, `layer-${process.pid}-${randomBytes(6).toString('hex')}.tar`);
  const hc = new HashCounter();
  try {
    await pipeline(decompress(await l.open()), hc, fileSink(tmp));
    if (hc.digest() !== l.diffID) throw new BadInputError(`layer ${l.descriptor.digest} decompresses to ${hc.digest()}, not its diff ID ${l.diffID}`, { hint: 'the image is corrupt' });
    return { file: tmp, size: hc.size };
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    if (isFormatError(err)) throw new BadInputError(`layer ${l.descriptor.digest} does not decompress: ${(err as Error).message}`, { cause: err, hint: 'the image is corrupt' });
    throw err;
  }
}

/**
 * Writes img in the `docker save` format that `docker load` and `podman load` take: manifest.json,
 * `<config hex>.json` (the config bytes as they are, so the image ID is kept) and uncompressed
 * `<diff ID hex>/layer.tar` files. Compressed layers are decompressed to a temp file first, since a
 * tar header needs the size up front.
 */
export async function writeDockerArchive(file: string, img: SourceImage, names: string[], tmpDir: string): Promise<void> {
  const configDigest = sha256(img.configBytes);
  const configName = `${digestHex(configDigest)}.json`;
  const layerNames = img.layers.map((l) => `${digestHex(checkDigest(l.diffID, 'diff ID'))}/layer.tar`);
  const manifest: SaveItem[] = [{ Config: configName, RepoTags: repoTags(names), Layers: layerNames }];
  await makeDirs(tmpDir);
  await writeTarFile(file, async (t) => {
    await t.bytes(configName, img.configBytes);
    const done = new Set<string>();
    for (const [i, l] of img.layers.entries()) {
      if (done.has(layerNames[i])) continue;
      done.add(layerNames[i]);
      const kind = compressionOfMediaType(l.descriptor.mediaType);
      if (kind === undefined) throw new BadInputError(`layer ${l.descriptor.digest} has unsupported media type ${l.descriptor.mediaType}`);
      await t.dir(path.posix.dirname(layerNames[i]) + '/');
      if (kind === 'none') {
        if (l.descriptor.digest !== l.diffID) throw new BadInputError(`uncompressed layer ${l.descriptor.digest} does not match its diff ID ${l.diffID}`, { hint: 'the image is corrupt' });
        await t.stream(layerNames[i], l.descriptor.size, await l.open());
        continue;
      }
      const tmp = await uncompressedCopy(l, tmpDir);
      try {
        await t.stream(layerNames[i], tmp.size, createReadStream(tmp.file));
      } finally {
        await fsp.rm(tmp.file, { force: true });
      }
    }
    await t.bytes('manifest.json', Buffer.from(JSON.stringify(manifest)));
  });
}
