import { step } from './core/events.js';
import { ConflictError } from './core/errors.js';
import { checkOptions, type OptionKind } from './core/options.js';
import type { Store } from './store/store.js';
import type { ImageRecord } from './store/images.js';
import type { ImageConfig, Manifest } from './oci/types.js';
import type { Compression } from './layer/compress.js';
import type { ExportOptions, ExportResult } from './container/export.js';
import type { LayerView } from './container/layer-view.js';
import type { RegistryOptions } from './transport/transports.js';

/** Options of Image.push: the layers' compression, and a docker:// destination's registry options (no platform: an image is pushed as it is). */
export type PushCallOptions = { compression?: Compression } & Omit<RegistryOptions, 'platform'>;

/** Options of export: ExportOptions, with the timestamp also as text (as `--timestamp` takes it: whole seconds since 1970). */
export type ExportCallOptions = Omit<ExportOptions, 'timestamp'> & { timestamp?: number | string };

/** The kinds of export's options, checked for scripts that are not type-checked. */
export const EXPORT_OPTIONS: Readonly<Record<keyof ExportCallOptions, OptionKind>> = { sign: 'boolean', compression: ['gzip', 'none'], timestamp: 'number-or-string', index: 'boolean', chunkSize: 'string' };

/** A timestamp option as a number: text is parsed as `--timestamp` is (whole seconds since 1970); a number is kept. */
export async function epochOption(ts: number | string | undefined): Promise<number | undefined> {
  if (typeof ts !== 'string') return ts;
  const { parseEpoch } = await import('./core/timestamp.js');
  return parseEpoch(ts);
}

/** What inspect tells of an image. */
export interface ImageInfo {
  id: string;
  names: string[];
  digest: string;
  manifest: Manifest;
  config: ImageConfig;
}

/** An image in the store, as scripts and the CLI use it (the engine behind each method is loaded when it is called). */
export class Image {
  /** @internal Made by commit(), image(), images() and pull(). */
  constructor(
    /** @internal The store the image is in. */
    readonly store: Store,
    /** The image's ID: the sha256 of its config, 64 hex digits. */
    readonly id: string,
  ) {}

  /** @internal The image's record (names, manifest). */
  async record(): Promise<ImageRecord> {
    const r = await this.store.images.get(this.id);
    if (!r) throw new ConflictError(`image ${this.id.slice(0, 12)} was removed`, { hint: 'this value stands for an image that is gone: commit or pull it again' });
    return r;
  }

  /** Manifest, config and names. */
  async inspect(): Promise<ImageInfo> {
    const [rec, { loadImage }] = await Promise.all([this.record(), import('./image/store-image.js')]);
    const { manifest, config } = await loadImage(this.store, rec);
    return { id: rec.id, names: rec.names, digest: rec.manifest, manifest, config };
  }

  /** The image's layers the dive way, base first: what each adds, changes and deletes, and what it wastes. */
  async layers(): Promise<LayerView[]> {
    const [rec, { loadImage, layerRefs }, { imageLayers }] = await Promise.all([this.record(), import('./image/store-image.js'), import('./container/layer-read.js')]);
    const { manifest, config } = await loadImage(this.store, rec);
    return this.store.locked([], () => imageLayers(this.store, layerRefs(manifest, config)));
  }

  /** Adds names (tags) to the image, taking them from any other image. */
  async tag(...names: string[]): Promise<void> {
    const { normalizeName } = await import('./oci/reference.js');
    const norm = names.map((n) => normalizeName(n));
    // Already named so (a rebuild of the same image, a repeated tag): nothing to write, no lock to take.
    const before = await this.record();
    if (norm.every((n) => before.names.includes(n))) return;
    await this.store.locked([{ name: 'images' }], async () => {
      const rec = await this.record();
      await this.store.images.add({ ...rec, names: [...new Set([...rec.names, ...norm])] });
    });
  }

  /**
   * Writes the image to a destination reference (oci:DIR:REF, oci-archive:FILE, docker-archive:FILE[:NAME:TAG],
   * docker://HOST/REPO[:TAG] with the registry options). Layers are compressed as asked (default gzip, as
   * buildah pushes); docker-archive holds plain tars.
   */
  async push(dest: string, opts: PushCallOptions = {}): Promise<{ digest: string }> {
    checkOptions('push', opts, { compression: ['gzip', 'zstd', 'none'], creds: 'string', authfile: 'string', tlsVerify: 'boolean', certDir: 'string', sign: 'boolean', signKey: 'string', signBy: 'string', signPassphraseFile: 'string', registriesD: 'string' });
    const { parseReference } = await import('./oci/reference.js');
    const ref = parseReference(dest);
    if (ref.transport === 'docker') (await import('./registry/plug.js')).plugRegistry();
    const { compression: _c, ...registry } = opts;
    const compression = ref.transport === 'docker-archive' ? undefined : (opts.compression ?? 'gzip');
    return step('push', `${this.id.slice(0, 12)} → ${dest}`, async (id) => {
      const [rec, { storeSource }, { shortDigest, withProgress }] = await Promise.all([this.record(), import('./image/store-image.js'), import('./core/progress.js')]);
      const stored = await storeSource(this.store, rec, compression);
      // Each layer as it is written, for the progress of a long push.
      const src = { ...stored, layers: stored.layers.map((l) => ({ ...l, open: async () => withProgress(await l.open(), { id, item: shortDigest(l.descriptor.digest), total: l.descriptor.size }) })) };
      const [{ writeImage }, { ociManifestOf }, { sha256 }] = await Promise.all([import('./transport/transports.js'), import('./transport/oci-layout.js'), import('./oci/validate.js')]);
      await writeImage(ref, src, { tmpDir: this.store.paths.tmp, names: rec.names, registry });
      // The digest of the OCI manifest written (docker-archive holds none: the one it stands for); a registry
      // is sent these same bytes.
      // A Docker schema 2 image keeps its own manifest on a registry (src.original): that one's digest.
      return { digest: sha256(ref.transport === 'docker' && src.original ? src.original.bytes : Buffer.from(JSON.stringify(ociManifestOf(src)))) };
    });
  }

  /** Writes the image as one flat root filesystem tarball, signed with the local key unless opts.sign is false (docs/export.md). */
  async export(file: string, opts: ExportCallOptions = {}): Promise<ExportResult> {
    checkOptions('export', opts, EXPORT_OPTIONS);
    const o = { ...opts, timestamp: await epochOption(opts.timestamp) };
    const { exportImage } = await import('./container/export.js');
    return step('export', `${this.id.slice(0, 12)} → ${file}`, () => this.store.locked([], async () => exportImage(this.store, await this.record(), file, o)));
  }

  /** Removes the image from the store (its blobs go at the next gc). */
  async remove(): Promise<void> {
    await this.store.locked([{ name: 'images' }], () => this.store.images.remove(this.id));
  }
}
