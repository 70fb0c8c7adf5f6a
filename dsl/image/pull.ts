import { emit } from '../core/events.js';
import { shortDigest, withProgress } from '../core/progress.js';
import { BadInputError } from '../core/errors.js';
import { createdOf, type ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import type { SourceImage } from '../transport/source.js';
import { imageId } from '../store/hash.js';
import { MediaType, type Manifest } from '../oci/types.js';
import { crashPoint } from '../core/crash.js';

/** Options for storing an image. */
export interface StoreImageOptions {
  names?: string[];
  /** Extract the layers for overlay containers now, so that `from` costs nothing later. */
  extract?: boolean;
  stepId?: string;
  /** Blobs fetched at once (default 1): a registry's layers come faster in parallel, local files do not. */
  parallel?: number;
}

/**
 * Runs the fetches (each once per key) at most `limit` at a time, in order; stop() keeps those not started
 * from starting. Each result is settled before the caller sees a failure, so no write outlives the call.
 */
function fetchQueue(limit: number): { add(key: string, job: () => Promise<void>): Promise<void>; stop(): void; settled(): Promise<unknown> } {
  const jobs = new Map<string, Promise<void>>();
  const waiting: (() => void)[] = [];
  let running = 0;
  let stopped = false;
  const next = () => {
    while (running < limit && waiting.length) waiting.shift()!();
  };
  return {
    add(key, job) {
      let p = jobs.get(key);
      if (p) return p;
      p = new Promise<void>((resolve, reject) => {
        waiting.push(() => {
          if (stopped) return reject(new Error('stopped'));
          running++;
          job().then(resolve, reject).finally(() => {
            running--;
            next();
          });
        });
        next();
      });
      p.catch(() => undefined); // seen by the caller in order; never unhandled
      jobs.set(key, p);
      return p;
    },
    stop() {
      stopped = true;
      next();
    },
    settled: () => Promise.allSettled(jobs.values()),
  };
}

/** Copies a source image into the store (every blob verified), records it, and returns the record. */
export async function storeImage(store: Store, img: SourceImage, opts: StoreImageOptions = {}): Promise<ImageRecord> {
  const ids = img.config.rootfs?.diff_ids ?? [];
  if (ids.length !== img.layers.length) {
    throw new BadInputError(`image has ${img.layers.length} layers but its config lists ${ids.length} diff IDs`, { hint: 'the image is corrupt' });
  }
  let done = 0;
  // Blobs already in the store are never opened (a registry layer is then never fetched). With parallel > 1 the
  // missing ones are fetched that many at a time while the layers are extracted in order; else each is fetched
  // just before it is extracted.
  const parallel = Math.max(1, opts.parallel ?? 1);
  const queue = fetchQueue(parallel);
  const fetch = async (l: SourceImage['layers'][number]) => {
    const d = l.descriptor;
    if (await store.blobs.has(d.digest)) return;
    const src = await l.open();
    await store.blobs.put(opts.stepId ? withProgress(src, { id: opts.stepId, item: shortDigest(d.digest), total: d.size }) : src, d.digest, d.size);
  };
  try {
    const fetched = parallel > 1 ? img.layers.map((l) => queue.add(l.descriptor.digest, () => fetch(l))) : [];
    for (const [i, l] of img.layers.entries()) {
      const d = l.descriptor;
      await (parallel > 1 ? fetched[i] : fetch(l));
      if (opts.extract) await store.layers.ensure({ diffID: l.diffID, digest: d.digest, size: d.size, mediaType: d.mediaType });
      if (opts.stepId) emit({ type: 'progress', id: opts.stepId, done: ++done, total: img.layers.length, unit: 'layers' });
      crashPoint('from.import.after-layer');
    }
  } catch (err) {
    queue.stop();
    await queue.settled();
    throw err;
  }
  const config = await store.blobs.put(img.configBytes, img.manifest.config.digest);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config: { mediaType: MediaType.config, digest: config.digest, size: config.size },
    layers: img.layers.map((l) => ({ mediaType: ociLayerType(l.descriptor.mediaType), digest: l.descriptor.digest, size: l.descriptor.size })),
  };
  if (img.manifest.annotations) manifest.annotations = img.manifest.annotations;
  const m = await store.blobs.putJson(manifest);
  crashPoint('from.import.before-record');
  return store.locked([{ name: 'images' }], () =>
    store.images.add({ id: imageId(img.configBytes), names: opts.names ?? [], manifest: m.digest, created: new Date().toISOString(), ...createdOf(img.config.created) }),
  );
}

/** The OCI media type for a layer media type (docker's names mapped to OCI's). */
export function ociLayerType(mt: string): string {
  if (mt === MediaType.dockerLayerGzip) return MediaType.layerGzip;
  if (mt === MediaType.dockerLayerTar) return MediaType.layerTar;
  return mt;
}

