import { NotFoundError } from './core/errors.js';
import type { Store } from './store/store.js';
import type { RegistryOptions } from './transport/transports.js';

/** Options of inspect (a registry's options for a docker:// reference). */
export interface InspectOptions extends RegistryOptions {
  /** The storage root (default: $CAIRN_ROOT or the per-user default). */
  root?: string;
  /** Look for a container only, or an image only (default: a container, else an image). */
  type?: string;
}

/** JSON-ready description of a working container, a stored image, or an image at a transport reference (`oci:DIR`…). */
export async function inspect(text: string, opts: InspectOptions = {}): Promise<object> {
  const { openStore } = await import('./store/store.js');
  return inspectAny(await openStore(opts.root), text, opts.type, opts);
}

/** JSON-ready description of a container, a stored image, or an image at a transport reference. */
async function inspectAny(store: Store, text: string, type: string | undefined, registry: RegistryOptions): Promise<object> {
  if (type !== 'image') {
    const c = await store.containers.find(text);
    if (c) {
      const [{ isMountPoint }, { layerStack }] = await Promise.all([import('./core/mounts.js'), import('./container/drivers/driver.js')]);
      const merged = `${store.paths.container(c.id)}/merged`;
      return {
        type: 'container',
        id: c.id,
        name: c.name,
        from: c.from,
        imageId: c.imageId ?? null,
        driver: c.driver,
        mountPoint: c.driver === 'copy' ? `${store.paths.container(c.id)}/rootfs` : (await isMountPoint(merged)) ? merged : null,
        config: c.config,
        layers: layerStack(c).map((l) => l.diffID),
        checkpoints: c.checkpoints.map((cp, i) => ({ number: i + 1, diffID: cp.diffID, digest: cp.digest, size: cp.size, message: cp.message, createdBy: cp.createdBy, created: cp.created })),
        pending: c.pending,
        history: c.baseHistory,
      };
    }
    if (type === 'container') throw new NotFoundError(`container ${text} not found`, { hint: 'see `cairn containers`' });
  }
  const { parseReference } = await import('./oci/reference.js');
  const ref = parseReference(text);
  if (ref.transport === 'store') {
    const [{ findStored }, { loadImage }] = await Promise.all([import('./image/resolve.js'), import('./image/store-image.js')]);
    const rec = await findStored(store, ref.name);
    if (!rec && type === 'image') throw new NotFoundError(`image ${text} not found`, { hint: 'see `cairn images`, or give a transport such as oci:DIR' });
    if (!rec) throw new NotFoundError(`no container or image named ${text}`, { hint: 'see `cairn containers` and `cairn images`, or give a transport such as oci:DIR' });
    const { manifest, config } = await loadImage(store, rec);
    return { type: 'image', id: rec.id, names: rec.names, digest: rec.manifest, manifest, config, history: config.history ?? [] };
  }
  const { openSource } = await import('./transport/transports.js');
  // A registry image: its manifest and config only are fetched (layers are fetched when opened, and are not).
  if (ref.transport === 'docker') (await import('./registry/plug.js')).plugRegistry();
  const { creds, authfile, tlsVerify, certDir, platform } = registry;
  const img = await openSource(ref, { tmpDir: store.paths.tmp, registry: { creds, authfile, tlsVerify, certDir, platform } });
  try {
    const digest = (img as { digest?: unknown }).digest;
    return { type: 'image', reference: text, names: img.names ?? [], ...(typeof digest === 'string' ? { digest } : {}), manifest: img.manifest, config: img.config, history: img.config.history ?? [] };
  } finally {
    await img.close();
  }
}
