import { Container } from './api-container.js';
import { Image, epochOption, type ExportCallOptions } from './api-image.js';
import { BadInputError, ConflictError, NotFoundError } from './core/errors.js';
import { checkOptions } from './core/options.js';
import { emit, step } from './core/events.js';
import type { CheckOptions, CheckResult } from './store/check.js';
import type { ExportResult } from './container/export.js';
import type { GcResult } from './store/gc.js';
import type { PullPolicy } from './image/resolve.js';
import type { Store } from './store/store.js';
import type { RegistryOptions } from './transport/transports.js';

/*
 * The calls on the store: containers, images, transports, gc and check. The engine behind them is loaded
 * when a call needs it (import()), never when this file is: every CLI verb loads the public API, and a verb
 * loads only what it uses (the bundler cannot split a file's imports by which of its exports are used).
 */

/** A working container and the error of a failed run step. */
export { Container, type CommitCallOptions, type CopyCallOptions } from './api-container.js';
/** A run step, its output and the error of a failed one. */
export { RunPromise, RunOutput, RunError, type RunCallOptions } from './api-run.js';
/** A stored image. */
export { Image, type ExportCallOptions, type ImageInfo } from './api-image.js';
/** The error family: the CLI prints `cairn VERB: message` and the hint of each. */
export { CairnError, NotFoundError, ConflictError, BadInputError, SignatureError, UsageError } from './core/errors.js';
/** The engine's event stream (step-start, output, progress, warn, step-end). */
export { events, type CairnEvent } from './core/events.js';
/** What `cairn config` may edit. */
export type { ConfigEdits } from './container/config.js';
/** Options of commit. */
export type { CommitOptions } from './container/commit.js';
/** One pending change: A, C or D and the path. */
export type { Change } from './layer/entry.js';

/** Options every call takes: the storage root (default: $CAIRN_ROOT or the per-user default). */
export interface StoreOptions {
  /** The storage root (default: $CAIRN_ROOT, else /var/lib/cairn for root and the XDG data dir for others). */
  root?: string;
}

/** The storage root these options name: `root`, else $CAIRN_ROOT, else /var/lib/cairn for root and the XDG data dir for others. */
export async function storeRoot(opts: StoreOptions = {}): Promise<string> {
  if (opts.root !== undefined) return opts.root;
  const { defaultRoot } = await import('./store/paths.js');
  return defaultRoot();
}

/** @internal Opens the store these options name (the CLI's listings read it directly). */
export async function store(opts: StoreOptions = {}): Promise<Store> {
  const { openStore } = await import('./store/store.js');
  return openStore(opts.root);
}

/** The kinds of a registry's options (RegistryOptions), checked for scripts that are not type-checked. */
const REGISTRY_OPTIONS = { creds: 'string', authfile: 'string', tlsVerify: 'boolean', certDir: 'string', platform: 'string', registriesD: 'string' } as const;

/** The registry options among opts. */
function registryOptions(opts: RegistryOptions): RegistryOptions {
  const { creds, authfile, tlsVerify, certDir, platform, registriesD } = opts;
  return { creds, authfile, tlsVerify, certDir, platform, registriesD };
}

/** The signing options among opts (a copy to a registry signs as a push does). */
function signingOptions(opts: RegistryOptions): RegistryOptions {
  const { sign, signKey, signBy, signPassphraseFile } = opts;
  return Object.fromEntries(Object.entries({ sign, signKey, signBy, signPassphraseFile }).filter(([, v]) => v !== undefined));
}

/** Loads the registry client when ref is a docker:// reference (no other call pays for it), and plugs in the resolver of names the store lacks (registries.conf, loaded only when used). */
async function registryFor(ref: string): Promise<void> {
  if (ref.startsWith('docker://')) (await import('./registry/plug.js')).plugRegistry();
  (await import('./registry/names-plug.js')).plugNames();
}

/** Options of from(): the store, the container's name (default: one made from the image's), the pull policy, a signature policy file, a registry's options. */
export interface FromOptions extends StoreOptions, RegistryOptions {
  /** The container's name (default: the image's name plus `-working-container`, made unique). */
  name?: string;
  /** Whether to fetch the image: missing (default), always or never (buildah's true and false are taken too). */
  pull?: PullPolicy | 'true' | 'false' | 'ifmissing';
  /** A containers-policy.json file the image's signatures must satisfy (default: the system's). */
  signaturePolicy?: string;
}

/** Creates a working container from an image reference (`scratch`, a stored name, `oci:DIR`, `tarball:FILE`…). */
export async function from(image: string, opts: FromOptions = {}): Promise<Container> {
  if (typeof image !== 'string') throw new BadInputError(`from: the image must be a reference string, not ${image === null ? 'null' : typeof image}`, { hint: "from('scratch'), from('localhost/app:1'), from('oci:DIR'), from('tarball:FILE')" });
  checkOptions('from', opts, { root: 'string', name: 'string', pull: 'string', signaturePolicy: 'string', ...REGISTRY_OPTIONS });
  const [s, { checkPullPolicy, resolveImage }, { createContainer }] = await Promise.all([store(opts), import('./image/resolve.js'), import('./container/engine.js'), registryFor(image)]);
  const img = await resolveImage(s, image, checkPullPolicy(opts.pull), { signaturePolicy: opts.signaturePolicy, registry: registryOptions(opts) });
  const rec = await createContainer(s, img, image, opts.name);
  emit({ type: 'container', action: 'created', id: rec.id, name: rec.name, root: s.paths.root });
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
  const [s, { findStored }] = await Promise.all([store(opts), import('./image/resolve.js')]);
  const rec = await findStored(s, nameOrId);
  if (!rec) throw new NotFoundError(`image ${nameOrId} not found in the store`, { hint: 'see `cairn images`, or pull it first' });
  return new Image(s, rec.id);
}

/** All stored images. */
export async function images(opts: StoreOptions = {}): Promise<Image[]> {
  const s = await store(opts);
  return (await s.images.list()).map((r) => new Image(s, r.id));
}

/** Options of pull(): the store, a signature policy file, a registry's options. */
export interface PullCallOptions extends StoreOptions, RegistryOptions {
  /** A containers-policy.json file the image must satisfy (default: the system's). */
  signaturePolicy?: string;
}

/** Copies an image from any transport into the store. */
export async function pull(ref: string, opts: PullCallOptions = {}): Promise<Image> {
  checkOptions('pull', opts, { root: 'string', signaturePolicy: 'string', ...REGISTRY_OPTIONS });
  const [s, { resolveImage, pullRef }, { parseReference }] = await Promise.all([store(opts), import('./image/resolve.js'), import('./oci/reference.js'), registryFor(ref)]);
  const r = parseReference(ref);
  const o = { signaturePolicy: opts.signaturePolicy, registry: registryOptions(opts) };
  // Names and docker:// references are fetched again (a local image, localhost/NAME, is taken as stored).
  const rec = r.transport === 'store' || r.transport === 'scratch' || r.transport === 'docker' ? await resolveImage(s, ref, 'always', o) : await pullRef(s, r, o);
  if (!rec) throw new NotFoundError('scratch is not an image that can be pulled');
  return new Image(s, rec.id);
}

/** Options of copyImage(): the store, registry options for both sides, and each side's own, which win over them (skopeo's --src-creds, --dest-authfile, …). */
export interface CopyImageOptions extends StoreOptions, RegistryOptions {
  /** Registry options of the source only (credentials, auth file, TLS verification, certificate directory). */
  src?: RegistryOptions;
  /** Registry options of the destination only. */
  dest?: RegistryOptions;
}

/** The registry options of one side of a copy: the shared ones, with the side's own given values over them. */
function sideOptions(common: RegistryOptions, side: RegistryOptions | undefined): RegistryOptions {
  const own = Object.entries(side ? registryOptions(side) : {}).filter(([, v]) => v !== undefined);
  return { ...common, ...Object.fromEntries(own) };
}

/** Copies an image from any transport to any other, like `skopeo copy` (stored images by name or ID; registries as source and destination, blobs mounted within one registry). */
export async function copyImage(src: string, dest: string, opts: CopyImageOptions = {}): Promise<void> {
  checkOptions('copyImage: src', opts.src, REGISTRY_OPTIONS);
  checkOptions('copyImage: dest', opts.dest, REGISTRY_OPTIONS);
  const [s, { parseReference }] = await Promise.all([store(opts), import('./oci/reference.js'), registryFor(src), registryFor(dest)]);
  const common = registryOptions(opts);
  const from = sideOptions(common, opts.src);
  const to = { ...sideOptions(common, opts.dest), ...signingOptions(opts) };
  const r = parseReference(src);
  if (r.transport === 'store') {
    const { platform: _p, ...reg } = to;
    await (await image(r.name, opts)).push(dest, reg);
    return;
  }
  const [{ openSource, writeImage, preloadWriter }, { shortDigest, withProgress }] = await Promise.all([import('./transport/transports.js'), import('./core/progress.js')]);
  preloadWriter(parseReference(dest));
  await step('copy-image', `${src} → ${dest}`, async (id) => {
    const img = await openSource(r, { tmpDir: s.paths.tmp, registry: from });
    try {
      // Each layer as it is read, for the progress of a long copy.
      const layers = img.layers.map((l) => ({ ...l, open: async () => withProgress(await l.open(), { id, item: shortDigest(l.descriptor.digest), total: l.descriptor.size }) }));
      await writeImage(parseReference(dest), { ...img, layers }, { tmpDir: s.paths.tmp, names: img.names, registry: to });
    } finally {
      await img.close();
    }
  });
}

/** Options of removeImages. */
export interface RemoveImagesOptions extends StoreOptions {
  /** Remove even an image containers were made from. */
  force?: boolean;
  /** Remove every stored image (the names are then ignored). */
  all?: boolean;
  /** Called with each image's ID once it is removed. */
  onRemoved?: (id: string) => void;
}

/**
 * Removes stored images, refusing (before removing any) one a working container was made from unless
 * opts.force, then collects the blobs and layers nothing references any more; returns the IDs removed.
 */
export async function removeImages(names: string[], opts: RemoveImagesOptions = {}): Promise<string[]> {
  const s = await store(opts);
  const ids = opts.all ? (await s.images.list()).map((r) => r.id) : await Promise.all(names.map(async (n) => (await image(n, opts)).id));
  const ctrs = await s.containers.list();
  for (const id of ids) {
    const users = ctrs.filter((c) => c.imageId === id);
    if (users.length && !opts.force) {
      throw new ConflictError(`image ${id.slice(0, 12)} is used by container ${users.map((c) => c.name).join(', ')}`, { hint: 'remove the containers first, or give --force' });
    }
  }
  for (const id of ids) {
    await (await image(id, opts)).remove();
    opts.onRemoved?.(id);
  }
  const { gc: collect } = await import('./store/gc.js');
  await collect(s);
  return ids;
}

/**
 * Writes a working container (pending changes included) or, when no container has that name or ID, a stored
 * image as one flat root filesystem tarball, signed with the local key unless opts.sign is false (docs/export.md).
 */
export async function exportFlat(nameOrId: string, file: string, opts: StoreOptions & ExportCallOptions = {}): Promise<ExportResult> {
  const { root, ...rest } = opts;
  const o = { ...rest, timestamp: await epochOption(rest.timestamp) };
  const s = await store({ root });
  const ctr = await s.containers.find(nameOrId);
  if (ctr) return new Container(s, ctr.id, ctr.name).export(file, o);
  const { findStored } = await import('./image/resolve.js');
  const rec = await findStored(s, nameOrId);
  if (!rec) throw new NotFoundError(`no container or image named ${nameOrId}`, { hint: 'see `cairn containers` and `cairn images`' });
  return new Image(s, rec.id).export(file, o);
}

/** Removes blobs and layers nothing references, files interrupted verbs left, and exec cache entries no service uses. */
export async function gc(opts: StoreOptions = {}): Promise<GcResult> {
  const [s, { gc: collect }] = await Promise.all([store(opts), import('./store/gc.js')]);
  return collect(s);
}

/** Verifies the whole store (blobs, references, leftovers of interrupted verbs); `repair: true` removes what is broken. */
export async function check(opts: CheckOptions & StoreOptions = {}): Promise<CheckResult> {
  const { check: checkAll } = await import('./store/check.js');
  return checkAll(opts);
}

/**
 * Sets what happens when a signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) held while a run step ran is delivered once
 * the step is gone and cleaned up: by default the process ends by that signal (the CLI exits 1, as buildah).
 */
export async function whenInterrupted(fn: (sig: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGQUIT') => void): Promise<void> {
  const { whenInterrupted: set } = await import('./sandbox/interrupt.js');
  set(fn);
}

/**
 * Runs cairn again with argv inside the calling user's cairn namespace (made on first use), where a normal
 * user's verbs touch the store; resolves to its exit status.
 */
export async function reexecInNamespace(argv: string[]): Promise<number> {
  const { reexecInNamespace: reexec } = await import('./sandbox/pause.js');
  return reexec(argv);
}
