import { NotFoundError } from './core/errors.js';
import { findStored } from './image/resolve.js';
import { parseReference } from './oci/reference.js';
import { loadImage } from './image/store-image.js';
import { layerStack } from './container/drivers/driver.js';
import type { Store } from './store/store.js';
import { isMountPoint } from './core/mounts.js';

/** JSON-ready description of a container, a stored image, or an image at a transport reference. */
export async function inspectAny(store: Store, text: string, type?: string): Promise<object> {
  if (type !== 'image') {
    const c = await store.containers.find(text);
    if (c) {
      const merged = `${store.paths.container(c.id)}/merged`;
      return {
        type: 'container',
        id: c.id,
        name: c.name,
        from: c.from,
        imageId: c.imageId ?? null,
        driver: c.driver,
        mountPoint: c.driver === 'copy' ? `${store.paths.container(c.id)}/rootfs` : isMountPoint(merged) ? merged : null,
        config: c.config,
        layers: layerStack(c).map((l) => l.diffID),
        checkpoints: c.checkpoints.map((cp, i) => ({ number: i + 1, diffID: cp.diffID, digest: cp.digest, size: cp.size, message: cp.message, createdBy: cp.createdBy, created: cp.created })),
        pending: c.pending,
        history: c.baseHistory,
      };
    }
    if (type === 'container') throw new NotFoundError(`container ${text} not found`, { hint: 'see `cairn containers`' });
  }
  const ref = parseReference(text);
  if (ref.transport === 'store') {
    const rec = await findStored(store, ref.name);
    if (!rec) throw new NotFoundError(`no container or image named ${text}`, { hint: 'see `cairn containers` and `cairn images`, or give a transport such as oci:DIR' });
    const { manifest, config } = await loadImage(store, rec);
    return { type: 'image', id: rec.id, names: rec.names, digest: rec.manifest, manifest, config, history: config.history ?? [] };
  }
  const { openSource } = await import('./transport/transports.js');
  const img = await openSource(ref, { tmpDir: store.paths.tmp });
  try {
    return { type: 'image', reference: text, names: img.names ?? [], manifest: img.manifest, config: img.config, history: img.config.history ?? [] };
  } finally {
    await img.close();
  }
}
