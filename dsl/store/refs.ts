import path from 'node:path';
import { CairnError, NotFoundError } from '../core/errors.js';
import { readJson } from '../core/atomic.js';
import type { ContainerRecord, LayerRef } from './containers.js';
import { isDigest } from '../oci/digest.js';
import type { ImageRecord } from './images.js';
import type { Store } from './store.js';

/** What one image needs from the store: its manifest and config blobs and its layers (blob digest + diffID). */
export interface ImageNeeds {
  manifest: string;
  config: string;
  layers: { digest: string; diffID: string }[];
}

/** A stored image or container that does not hold together: what is wrong, in words. */
export class BrokenError extends CairnError {}

function broken(what: string, why: string): BrokenError {
  return new BrokenError(`${what} is broken: ${why}`, { hint: 'see `cairn check`' });
}

async function readBlobJson(store: Store, digest: string, what: string, role: string): Promise<Record<string, unknown>> {
  let bytes: Buffer;
  try {
    bytes = await store.blobs.read(digest);
  } catch (err) {
    if (err instanceof NotFoundError || (err as NodeJS.ErrnoException).code === 'EISDIR') throw broken(what, `its ${role} ${digest} is missing`);
    throw err;
  }
  try {
    const v = JSON.parse(bytes.toString('utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw broken(what, `its ${role} ${digest} is not valid JSON`);
  }
}

/** The name of an image for messages: its first name, else its short ID. */
export function imageLabel(rec: ImageRecord): string {
  return `image ${rec.names[0] ?? rec.id.slice(0, 12)}${rec.names[0] ? ` (${rec.id.slice(0, 12)})` : ''}`;
}

/**
 * Reads what image rec needs from its manifest and config; throws a BrokenError saying what is wrong.
 * `corrupt` names blobs already known not to match their digest (they are not read).
 */
export async function imageNeeds(store: Store, rec: ImageRecord, corrupt: (digest: string) => boolean = () => false): Promise<ImageNeeds> {
  const what = imageLabel(rec);
  if (corrupt(rec.manifest)) throw broken(what, `its manifest ${rec.manifest} is corrupt`);
  const m = await readBlobJson(store, rec.manifest, what, 'manifest');
  const cfgDesc = m.config as { digest?: unknown } | undefined;
  const layers = m.layers as { digest?: unknown }[] | undefined;
  if (!cfgDesc || !isDigest(cfgDesc.digest) || !Array.isArray(layers) || !layers.every((l) => l && isDigest(l.digest))) {
    throw broken(what, `its manifest ${rec.manifest} is not an image manifest`);
  }
  const config = cfgDesc.digest;
  if (corrupt(config)) throw broken(what, `its config ${config} is corrupt`);
  const cfg = await readBlobJson(store, config, what, 'config');
  const diffIDs = (cfg.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(diffIDs) || diffIDs.length !== layers.length || !diffIDs.every(isDigest)) {
    throw broken(what, `its config ${config} does not list one diffID per layer`);
  }
  return { manifest: rec.manifest, config, layers: layers.map((l, i) => ({ digest: l.digest as string, diffID: diffIDs[i] as string })) };
}

/** The seal journal of a container (an interrupted checkpoint still to be finished), if any. */
export async function sealJournalLayer(store: Store, rec: ContainerRecord): Promise<LayerRef | undefined> {
  const j = await readJson<{ layer?: LayerRef }>(path.join(store.paths.container(rec.id), 'seal.json'));
  if (j === undefined) return undefined;
  if (!j.layer || !isDigest(j.layer.digest) || !isDigest(j.layer.diffID)) throw broken(`container ${rec.name}`, 'its interrupted checkpoint\'s journal names no valid layer');
  return j.layer;
}

/** The layers a container stands on, an interrupted checkpoint's included. */
export async function containerNeeds(store: Store, rec: ContainerRecord): Promise<LayerRef[]> {
  const j = await sealJournalLayer(store, rec);
  return [...rec.baseLayers, ...rec.checkpoints, ...(j ? [j] : [])];
}

/**
 * Every blob and layer (diffID) the store's images and published containers need, with what a packed layer
 * is packed from and the compressed copies made for pushes. Fails closed: anything it cannot read throws.
 */
export async function storeReferences(store: Store): Promise<{ blobs: Set<string>; layers: Set<string> }> {
  const blobs = new Set<string>();
  const layers = new Set<string>();
  for (const img of await store.images.list()) {
    const n = await imageNeeds(store, img);
    blobs.add(n.manifest);
    blobs.add(n.config);
    for (const l of n.layers) {
      blobs.add(l.digest);
      layers.add(l.diffID);
    }
  }
  for (const c of await store.containers.list()) {
    for (const l of await containerNeeds(store, c)) {
      blobs.add(l.digest);
      layers.add(l.diffID);
    }
  }
  for (const d of [...layers]) {
    const p = await store.layers.packed(d);
    if (p) layers.add(p.dir);
    for (const comp of ['gzip', 'zstd', 'none']) {
      const c = await readJson<{ digest?: unknown }>(path.join(store.paths.layers, `${d.slice(7)}.${comp}.json`));
      if (c && isDigest(c.digest)) blobs.add(c.digest);
    }
  }
  return { blobs, layers };
}
