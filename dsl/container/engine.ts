import { promises as fsp } from 'node:fs';
import { ConflictError } from '../core/errors.js';
import { loadImage, layerRefs } from '../image/store-image.js';
import { emptyConfig, type ImageConfig } from '../oci/types.js';
import type { ImageRecord } from '../store/images.js';
import { checkContainerName, type ContainerRecord } from '../store/containers.js';
import type { Store } from '../store/store.js';
import { chooseDriver, driverFor } from './drivers/select.js';
import type { Driver } from './drivers/driver.js';
import { hasSealJournal, recoverSeal } from './checkpoint.js';
import { withLocks } from '../store/lock.js';
import { crashPoint } from '../core/crash.js';
import { randomHex } from '../core/unique.js';
import { makeDirs } from '../core/fsutil.js';

/** The lock name of a container. */
export function containerLock(id: string): string {
  return 'container-' + id;
}

/** The base of a default container name: the image's last path component without tag or extension. */
export function nameBase(imageText: string): string {
  let base = imageText;
  const colon = base.indexOf(':');
  if (/^(oci|oci-archive|docker-archive|tarball|docker):/.test(base)) base = base.slice(colon + 1).replace(/^\/\//, '');
  base = base.split('@')[0];
  const last = base.split('/').filter(Boolean).pop() ?? 'scratch';
  return last.replace(/:[^:]*$/, '').replace(/\.(tar|tar\.gz|tgz)$/, '').replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'working';
}

/** The names a new container may take: the given one, or `<base>-working-container[-N]` in turn. */
function* candidateNames(imageText: string, name?: string): Generator<string> {
  if (name !== undefined) {
    yield checkContainerName(name);
    return;
  }
  const first = `${nameBase(imageText)}-working-container`;
  for (let i = 0; ; i++) yield i === 0 ? first : `${first}-${i}`;
}

const nameTaken = (name: string) => new ConflictError(`the container name ${name} is already in use`, { hint: 'choose another --name, or remove it with `cairn rm`' });

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
  const id = randomHex(32);
  // Fails early on a taken --name; the name is only really taken, atomically with the record, at the end.
  if (name !== undefined && (await store.containers.find(checkContainerName(name)))?.name === name) throw nameTaken(name);
  return store.locked([], async () => {
    const rec: ContainerRecord = {
      id,
      name: name ?? '',
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
    await makeDirs(store.paths.container(rec.id), 0o700);
    try {
      await driverFor(driver).init(store, rec);
      crashPoint('from.container.before-record');
      if (!(await store.containers.create(rec, candidateNames(from, name)))) throw nameTaken(name!);
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
  opts: { storeLock?: boolean } = {},
): Promise<T> {
  const found = await store.containers.require(nameOrId);
  const body = async () => {
    const rec = await store.containers.reload(found.id);
    const driver = driverFor(rec.driver);
    // Finishing a seal adds a layer to the store: that must not race with gc, so it takes the store lock.
    if (opts.storeLock === false && (await hasSealJournal(store, rec))) await store.locked([], () => recoverSeal(store, rec, driver));
    else await recoverSeal(store, rec, driver);
    return fn(rec, driver);
  };
  // A verb that adds nothing to the store (run, diff, config, mount) need not wait for, or hold off, gc.
  if (opts.storeLock === false) return withLocks(store.paths.locks, [{ name: containerLock(found.id) }], body);
  return store.locked([{ name: containerLock(found.id) }], body);
}
