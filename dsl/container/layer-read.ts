import { pipeline, type Readable } from 'node:stream';
import { cleanEntryPath } from '../layer/inroot.js';
import type { EntryType } from '../layer/entry.js';
import type { TarType } from '../layer/tar-header.js';
import type { ContainerRecord, LayerRef } from '../store/containers.js';
import type { Store } from '../store/store.js';
import type { Driver } from './drivers/driver.js';
import { analyzeLayers, type LayerInput, type LayerItem, type LayerView } from './layer-view.js';
import { pendingChanges } from './pending.js';

/*
 * Reads a container's layers for the dive view (layer-view.ts): a layer already extracted in the store (every
 * layer of an overlayfs container) is read from its tree, one walk; any other (the copying driver's base layers
 * and checkpoints) from its tar, headers only, without extracting it. A layer's changeset never changes (it is
 * named by its diffID), so what was read is kept for the next call in this process.
 */

const TYPES: Partial<Record<TarType, EntryType>> = {
  file: 'file', 'contiguous-file': 'file', link: 'link', symlink: 'symlink', directory: 'directory',
  'character-device': 'char', 'block-device': 'block', fifo: 'fifo',
};

/** Read changesets by diffID, the most recently used last (a few layers of a few MB each at most). */
const cache = new Map<string, LayerItem[]>();
const CACHE_LAYERS = 32;

/** The entries of a layer tar: paths, types and sizes from its headers (bodies are skipped). */
export async function tarItems(tar: Readable): Promise<LayerItem[]> {
  const { strictTarExtract } = await import('../layer/tar-read.js');
  const ex = strictTarExtract();
  pipeline(tar, ex as unknown as NodeJS.WritableStream, () => undefined);
  const items: LayerItem[] = [];
  try {
    for await (const entry of ex) {
      const h = entry.header;
      const rel = cleanEntryPath(h.name);
      const type = h.type ? TYPES[h.type] : undefined;
      if (rel !== '' && type) items.push({ path: rel, type, size: type === 'file' ? (h.size ?? 0) : 0 });
      entry.resume();
    }
  } finally {
    ex.destroy();
    tar.destroy();
  }
  return items;
}

/** The changeset of one layer of the store (see the top of this file). */
export async function layerItems(store: Store, l: LayerRef): Promise<LayerItem[]> {
  const known = cache.get(l.diffID);
  if (known) {
    cache.delete(l.diffID);
    cache.set(l.diffID, known);
    return known;
  }
  let items: LayerItem[];
  if (await store.layers.has(l.diffID)) {
    const { scanUpper } = await import('../layer/scan.js');
    items = (await scanUpper(store.layers.dir(l.diffID), store.flavor)).map((e) => ({ path: e.path, type: e.type, size: e.size }));
  } else {
    items = await tarItems(await store.layers.openTar(l));
  }
  cache.set(l.diffID, items);
  if (cache.size > CACHE_LAYERS) cache.delete(cache.keys().next().value!);
  return items;
}

/** The dive view of a container: its base layers, its checkpoints and (when there are any) its pending changes. */
export async function containerLayers(store: Store, rec: ContainerRecord, d: Driver): Promise<LayerView[]> {
  const read = Promise.all([...rec.baseLayers, ...rec.checkpoints].map((l) => layerItems(store, l)));
  read.catch(() => undefined);
  const pending = await pendingChanges(store, rec, d);
  const items = await read;
  const inputs: LayerInput[] = [
    ...rec.baseLayers.map((l, i): LayerInput => ({ kind: 'base', diffID: l.diffID, entries: items[i] })),
    ...rec.checkpoints.map((c, i): LayerInput => ({ kind: 'checkpoint', index: i + 1, message: c.message, diffID: c.diffID, entries: items[rec.baseLayers.length + i] })),
  ];
  if (pending.entries.length) inputs.push({ kind: 'pending', entries: pending.items });
  return analyzeLayers(inputs);
}

/** The dive view of a stored image's layers (its manifest's, base first). */
export async function imageLayers(store: Store, refs: LayerRef[]): Promise<LayerView[]> {
  const items = await Promise.all(refs.map((l) => layerItems(store, l)));
  return analyzeLayers(refs.map((l, i): LayerInput => ({ kind: 'base', diffID: l.diffID, entries: items[i] })));
}
