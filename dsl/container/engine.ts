import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { ConflictError } from '../errors.js';
import { loadImage, layerRefs } from '../image/store-image.js';
import { emptyConfig, type ImageConfig } from '../image/types.js';
import type { ImageRecord } from '../store/images.js';
import { checkContainerName, type ContainerRecord } from '../store/containers.js';
import type { Store } from '../store/store.js';
import { chooseDriver, driverFor } from './drivers.js';
import type { Driver } from './driver.js';
import { recoverSeal } from './checkpoint.js';

/** The lock name of a container. */
export function containerLock(id: string): string {
  return 'container-' + id;
}

/** Picks the default name for a container of image: `<base name>-working-container`, then `-1`, `-2`… */
export async function defaultName(store: Store, imageText: string): Promise<string> {
  let base = imageText;
  const colon = base.indexOf(':');
  if (/^(oci|oci-archive|docker-archive|tarball|docker):/.test(base)) base = base.slice(colon + 1).replace(/^\/\//, '');
  base = base.split('@')[0];
  const last = base.split('/').filter(Boolean).pop() ?? 'scratch';
  base = last.replace(/:[^:]*$/, '').replace(/\.(tar|tar\.gz|tgz)$/, '').replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'working';
  const taken = new Set((await store.containers.list()).map((c) => c.name));
  const first = `${base}-working-container`;
  if (!taken.has(first)) return first;
  for (let i = 1; ; i++) if (!taken.has(`${first}-${i}`)) return `${first}-${i}`;
}

/** Creates a working container over image (null for scratch), recording it in the store. */
export async function createContainer(store: Store, image: ImageRecord | null, from: string, name?: string): Promise<ContainerRecord> {
  let config: ImageConfig = emptyConfig();
  let baseLayers: ContainerRecord['baseLayers'] = [];
  if (image) {
    const loaded = await loadImage(store, image);
    config = loaded.config;
    baseLayers = layerRefs(loaded.manifest, loaded.config);
  }
  const driver = await chooseDriver(store);
  return store.locked([{ name: 'containers' }], async () => {
    const n = checkContainerName(name ?? (await defaultName(store, from)));
    if ((await store.containers.list()).some((c) => c.name === n)) {
      throw new ConflictError(`the container name ${n} is already in use`, { hint: 'choose another --name, or remove it with `cairn rm`' });
    }
    const rec: ContainerRecord = {
      id: randomBytes(32).toString('hex'),
      name: n,
      from,
      imageId: image?.id,
      driver,
      baseLayers,
      config: { ...config, history: undefined },
      baseHistory: config.history ?? [],
      checkpoints: [],
      pending: [],
      created: new Date().toISOString(),
    };
    await fsp.mkdir(store.paths.container(rec.id), { recursive: true, mode: 0o700 });
    try {
      await driverFor(driver).init(store, rec);
      await store.containers.save(rec);
    } catch (err) {
      await fsp.rm(store.paths.container(rec.id), { recursive: true, force: true });
      throw err;
    }
    return rec;
  });
}

/** Runs fn with the container locked and its record freshly read; fn's record changes are saved when it returns true. */
export async function withContainer<T>(
  store: Store,
  nameOrId: string,
  fn: (rec: ContainerRecord, driver: Driver) => Promise<T>,
): Promise<T> {
  const found = await store.containers.require(nameOrId);
  return store.locked([{ name: containerLock(found.id) }], async () => {
    const rec = await store.containers.reload(found.id);
    const driver = driverFor(rec.driver);
    await recoverSeal(store, rec, driver);
    return fn(rec, driver);
  });
}
