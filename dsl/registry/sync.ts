import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BadInputError, CairnError, NotFoundError, isCairnError } from '../core/errors.js';
import { splitName } from '../oci/reference.js';
import { sha256 } from '../oci/validate.js';
import type { SourceImage } from '../transport/source.js';
import type { RegistryOptions } from '../transport/transports.js';
import { ociManifestOf, readLayout, REF_NAME, writeLayout } from '../transport/oci-layout.js';
import { parseRegistryRef } from './reference.js';
import { readSyncYaml, type SyncRepo } from './sync-yaml.js';

/*
 * `cairn sync`, as `skopeo sync`: every image of a repository (all its tags, or those matching a regex), of a
 * YAML list of registries and repositories, or of a directory of OCI layouts, copied to a registry prefix or a
 * directory. The destination of `host/ns/app:1` is DEST/app:1, or DEST/host/ns/app:1 with scoped. A directory
 * destination holds one OCI layout per repository (DEST/app, each tag an image named by its tag in index.json),
 * so that `oci:DEST/app:1` reads it back. A tag whose destination already holds the same image is skipped.
 */

/** Where sync reads: a registry repository or image, a YAML file, a directory of OCI layouts. */
export type SyncSource = 'docker' | 'yaml' | 'dir';
/** Where sync writes: a registry prefix or a directory. */
export type SyncDestination = 'docker' | 'dir';

/** Options of sync. */
export interface SyncOptions {
  /** What SRC is (default: docker for docker://…, yaml for *.yaml/*.yml, dir for a directory, else docker). */
  srcType?: SyncSource;
  /** What DEST is (default: docker for docker://…, else dir). */
  destType?: SyncDestination;
  /** Only tags matching one of these regular expressions (unanchored, as skopeo's). */
  tagRegex?: string[];
  /** Keep the source's registry and full repository path under DEST. */
  scoped?: boolean;
  /** Go on after an image fails, and fail at the end. */
  keepGoing?: boolean;
  /** Tell what would be copied, copying nothing. */
  dryRun?: boolean;
  /** Registry options of the source (a YAML registry's own settings override these). */
  srcRegistry?: RegistryOptions;
  /** Registry options of the destination. */
  destRegistry?: RegistryOptions;
  /** The signature policy registry sources must satisfy (default: the system's). */
  signaturePolicy?: string;
  /** Called for each image when it is done. */
  onImage?: (r: SyncResult) => void;
}

/** What sync did with one image. */
export interface SyncResult {
  /** The source (`docker://host/repo:tag`, `oci:DIR:tag`). */
  src: string;
  /** The destination, in the same spelling. */
  dest: string;
  action: 'copied' | 'skipped' | 'would copy' | 'failed';
  /** The manifest digest at the destination (copied or found there). */
  digest?: string;
  /** The failure, with keepGoing. */
  error?: string;
}

/** One image to copy: how to open it, and where it goes under DEST. */
interface SyncItem {
  label: string;
  open: () => Promise<SourceImage>;
  /** The path below DEST (`app` or `host/ns/app`) and the tag or digest. */
  suffix: string;
  tag?: string;
  digest?: string;
}

function pickSource(src: string, o: SyncOptions): SyncSource {
  if (o.srcType) return o.srcType;
  if (src.startsWith('docker://')) return 'docker';
  if (/\.ya?ml$/.test(src)) return 'yaml';
  return 'docker';
}

/** The path below DEST for a repository: its last component, or (scoped) registry and repository, a port written `host_port` (no name component may hold a colon). */
function suffixOf(registry: string, repository: string, scoped: boolean | undefined): string {
  return scoped ? `${registry.replace(':', '_')}/${repository}` : repository.split('/').pop()!;
}

function tagFilter(res: string[] | undefined): (tag: string) => boolean {
  if (!res?.length) return () => true;
  const compiled = res.map((r) => {
    try {
      return new RegExp(r);
    } catch (err) {
      throw new BadInputError(`bad tag regular expression ${JSON.stringify(r)}: ${(err as Error).message}`, { hint: 'give a JavaScript regular expression, e.g. --tag-regex "^1\\.[0-9]+$"' });
    }
  });
  return (t) => compiled.some((re) => re.test(t));
}

/** The images of one registry repository: the tags given, else every tag (filtered). */
async function repoItems(r: SyncRepo, o: SyncOptions): Promise<SyncItem[]> {
  const { listTags } = await import('./tags.js');
  const ref = parseRegistryRef(`${r.registry}/${r.repository}`);
  const keep = tagFilter([...(o.tagRegex ?? []), ...(r.tagRegex ? [r.tagRegex] : [])]);
  const tags = r.tags?.length ? r.tags : (await listTags(`${ref.registry}/${ref.repository}`, r.options)).filter(keep);
  const [{ plugRegistry }, { openSource }] = await Promise.all([import('./plug.js'), import('../transport/transports.js')]);
  plugRegistry();
  return tags.map((t) => {
    const digest = t.startsWith('sha256:') ? t : undefined;
    const text = `${ref.registry}/${ref.repository}${digest ? '@' + digest : ':' + t}`;
    return {
      label: `docker://${text}`,
      // Through the docker:// transport, so the signature policy applies as to every pull.
      open: () => openSource({ transport: 'docker', ref: text }, { tmpDir: os.tmpdir(), signaturePolicy: o.signaturePolicy, registry: r.options }),
      suffix: suffixOf(ref.registry, ref.repository, o.scoped),
      ...(digest ? { digest } : { tag: t }),
    };
  });
}

/** The repositories a docker SRC names: one image when it has a tag or digest, else every tag. */
function dockerRepos(src: string, o: SyncOptions): SyncRepo[] {
  const text = src.replace(/^docker:\/\//, '');
  const p = splitName(text);
  const ref = parseRegistryRef(text);
  const pinned = p.digest ?? p.tag;
  return [{ registry: ref.registry, repository: ref.repository, tags: pinned ? [pinned] : undefined, options: o.srcRegistry ?? {} }];
}

/** The OCI layouts below dir (a directory holding an `oci-layout` file), as paths relative to dir. */
async function findLayouts(dir: string, rel = ''): Promise<string[]> {
  const here = path.join(dir, rel);
  const entries = await readdir(here, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' && rel === '') throw new NotFoundError(`sync source ${dir} does not exist`, { hint: 'give a directory of OCI layouts' });
    throw err;
  });
  if (entries.some((e) => e.isFile() && e.name === 'oci-layout')) return [rel];
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) if (e.isDirectory()) out.push(...(await findLayouts(dir, path.join(rel, e.name))));
  return out;
}

/** The images of a directory of OCI layouts: each named image of each layout (tags filtered). */
async function dirItems(dir: string, o: SyncOptions): Promise<SyncItem[]> {
  const keep = tagFilter(o.tagRegex);
  const items: SyncItem[] = [];
  for (const rel of await findLayouts(dir)) {
    const layout = path.join(dir, rel);
    const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { manifests?: { annotations?: Record<string, string> }[] };
    const names = (index.manifests ?? []).map((m) => m.annotations?.[REF_NAME]).filter((n): n is string => typeof n === 'string' && keep(n));
    for (const name of names) {
      items.push({ label: `oci:${layout}:${name}`, open: () => readLayout(layout, name), suffix: o.scoped || !rel ? rel || path.basename(path.resolve(dir)) : path.basename(rel), tag: name });
    }
  }
  return items;
}

/** Where an item goes: `docker://PREFIX/SUFFIX:TAG`, or the layout DEST/SUFFIX and the name in it. */
function destinationOf(item: SyncItem, dest: string, kind: SyncDestination): { label: string; text: string; dir?: string } {
  if (kind === 'docker') {
    const prefix = dest.replace(/^docker:\/\//, '').replace(/\/+$/, '');
    const text = `${prefix}/${item.suffix}${item.tag ? ':' + item.tag : '@' + item.digest}`;
    return { label: `docker://${text}`, text };
  }
  const dir = path.join(dest, item.suffix);
  const name = item.tag ?? item.digest!.replace(':', '-');
  return { label: `oci:${dir}:${name}`, text: name, dir };
}

/** The digest the destination holds now for this item, if any. */
async function presentDigest(to: { text: string; dir?: string }, o: SyncOptions): Promise<string | undefined> {
  if (to.dir === undefined) return (await import('./tags.js')).manifestDigest(to.text, o.destRegistry);
  try {
    const index = JSON.parse(await readFile(path.join(to.dir, 'index.json'), 'utf8')) as { manifests?: { digest?: string; annotations?: Record<string, string> }[] };
    return index.manifests?.find((m) => m.annotations?.[REF_NAME] === to.text)?.digest;
  } catch {
    return undefined;
  }
}

/** Copies one item (or tells what it would do), skipping it when the destination holds the same image. */
async function syncOne(item: SyncItem, dest: string, kind: SyncDestination, o: SyncOptions): Promise<SyncResult> {
  const to = destinationOf(item, dest, kind);
  const img = await item.open();
  try {
    // What cairn writes is the OCI manifest of the image; a destination written by another tool may hold the source's own.
    const written = sha256(Buffer.from(JSON.stringify(ociManifestOf(img))));
    const there = await presentDigest(to, o);
    if (there && (there === written || there === (img as { digest?: string }).digest)) return { src: item.label, dest: to.label, action: 'skipped', digest: there };
    if (o.dryRun) return { src: item.label, dest: to.label, action: 'would copy', digest: written };
    if (to.dir !== undefined) await writeLayout(to.dir, img, to.text);
    else {
      // Through the docker:// transport (blobs mounted within one registry, signing as the options ask); it checks the registry stored `written`.
      const [{ plugRegistry }, { writeImage }] = await Promise.all([import('./plug.js'), import('../transport/transports.js')]);
      plugRegistry();
      await writeImage({ transport: 'docker', ref: to.text }, img, { tmpDir: os.tmpdir(), registry: o.destRegistry });
    }
    return { src: item.label, dest: to.label, action: 'copied', digest: written };
  } finally {
    await img.close();
  }
}

/** Copies every image SRC names to DEST (SyncOptions), one at a time; returns what was done with each. */
export async function syncImages(src: string, dest: string, o: SyncOptions = {}): Promise<SyncResult[]> {
  const srcKind = pickSource(src, o);
  const destKind = o.destType ?? (dest.startsWith('docker://') ? 'docker' : 'dir');
  if (srcKind === 'dir' && destKind === 'dir') throw new BadInputError('sync from a directory to a directory is not supported', { hint: 'copy the directory, or sync it to a registry (--dest docker)' });
  if (destKind === 'docker') {
    const prefix = dest.replace(/^docker:\/\//, '');
    let host: string | undefined;
    try {
      host = splitName(prefix.replace(/\/+$/, '')).host;
    } catch {
      host = undefined;
    }
    if (!host || /[:@]/.test(prefix.split('/').slice(1).join('/'))) throw new BadInputError(`sync destination ${dest} is not a registry prefix`, { hint: 'write docker://HOST[:PORT][/NAMESPACE], without tag' });
  }
  let items: SyncItem[];
  if (srcKind === 'dir') items = await dirItems(src, o);
  else {
    const repos = srcKind === 'yaml' ? await readSyncYaml(src, o.srcRegistry ?? {}) : dockerRepos(src, o);
    items = [];
    for (const r of repos) items.push(...(await repoItems(r, o)));
  }
  if (items.length === 0) throw new NotFoundError(`sync source ${src} holds no images${o.tagRegex?.length ? ' matching the tag regex' : ''}`, { hint: 'check the source and --tag-regex' });
  const results: SyncResult[] = [];
  for (const item of items) {
    let r: SyncResult;
    try {
      r = await syncOne(item, dest, destKind, o);
    } catch (err) {
      if (!o.keepGoing || !isCairnError(err)) throw err;
      r = { src: item.label, dest: destinationOf(item, dest, destKind).label, action: 'failed', error: (err as Error).message };
    }
    results.push(r);
    o.onImage?.(r);
  }
  const failed = results.filter((r) => r.action === 'failed');
  if (failed.length) {
    throw new CairnError(`${failed.length} of ${results.length} images failed to sync: ${failed.map((f) => f.src).join(', ')}`, { hint: 'see the failures above; sync again to retry them (the rest is skipped)' });
  }
  return results;
}
