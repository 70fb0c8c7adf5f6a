import { Container } from './api-container.js';
import { createContainer } from './container/engine.js';
import { Image } from './api-image.js';
import { checkPullPolicy, resolveImage, findStored, pullRef, type PullPolicy } from './image/resolve.js';
import { parseReference } from './oci/reference.js';
import { NotFoundError } from './core/errors.js';
import { openStore, type Store } from './store/store.js';
import { gc as collect, type GcResult } from './store/gc.js';

export { Container, RunError, type CopyCallOptions, type RunOutput } from './api-container.js';
export { Image, type ImageInfo } from './api-image.js';
export { CairnError, NotFoundError, ConflictError, BadInputError, SignatureError, UsageError } from './core/errors.js';
export { events, type CairnEvent } from './core/events.js';
export type { ConfigEdits } from './container/config.js';
export type { CommitOptions } from './container/commit.js';
export type { Change } from './layer/entry.js';

/** Options every call takes: the storage root (default: $CAIRN_ROOT or the per-user default). */
export interface StoreOptions {
  root?: string;
}

/** Opens the store these options name. */
export function store(opts: StoreOptions = {}): Promise<Store> {
  return openStore(opts.root);
}

/** Creates a working container from an image reference (`scratch`, a stored name, `oci:DIR`, `tarball:FILE`…). */
export async function from(image: string, opts: StoreOptions & { name?: string; pull?: PullPolicy | string; signaturePolicy?: string } = {}): Promise<Container> {
  const s = await store(opts);
  const img = await resolveImage(s, image, checkPullPolicy(opts.pull), { signaturePolicy: opts.signaturePolicy });
  const rec = await createContainer(s, img, image, opts.name);
  return new Container(s, rec.id, rec.name);
}

/** Opens an existing working container by name or ID. */
export async function container(nameOrId: string, opts: StoreOptions = {}): Promise<Container> {
  return Container.open(await store(opts), nameOrId);
}

/** All working containers. */
export async function containers(opts: StoreOptions = {}): Promise<Container[]> {
  const s = await store(opts);
  return (await s.containers.list()).map((r) => new Container(s, r.id, r.name));
}

/** Opens a stored image by name or ID. */
export async function image(nameOrId: string, opts: StoreOptions = {}): Promise<Image> {
  const s = await store(opts);
  const rec = await findStored(s, nameOrId);
  if (!rec) throw new NotFoundError(`image ${nameOrId} not found in the store`, { hint: 'see `cairn images`, or pull it first' });
  return new Image(s, rec.id);
}

/** All stored images. */
export async function images(opts: StoreOptions = {}): Promise<Image[]> {
  const s = await store(opts);
  return (await s.images.list()).map((r) => new Image(s, r.id));
}

/** Copies an image from any transport into the store. */
export async function pull(ref: string, opts: StoreOptions & { signaturePolicy?: string } = {}): Promise<Image> {
  const s = await store(opts);
  const r = parseReference(ref);
  const rec = r.transport === 'store' || r.transport === 'scratch' ? await resolveImage(s, ref) : await pullRef(s, r, { signaturePolicy: opts.signaturePolicy });
  if (!rec) throw new NotFoundError('scratch is not an image that can be pulled');
  return new Image(s, rec.id);
}

/** Copies an image from any transport to any other, like `skopeo copy` (stored images by name or ID). */
export async function copyImage(src: string, dest: string, opts: StoreOptions = {}): Promise<void> {
  const s = await store(opts);
  const r = parseReference(src);
  if (r.transport === 'store') return (await image(r.name, opts)).push(dest);
  const { openSource, writeImage } = await import('./transport/transports.js');
  const img = await openSource(r, { tmpDir: s.paths.tmp });
  try {
    await writeImage(parseReference(dest), img, { tmpDir: s.paths.tmp, names: img.names });
  } finally {
    await img.close();
  }
}

/** Removes blobs and layers nothing references. */
export async function gc(opts: StoreOptions = {}): Promise<GcResult> {
  return collect(await store(opts));
}
