import { BadInputError, isCairnError, NotFoundError } from '../core/errors.js';
import type { ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import { step } from '../core/events.js';
import { formatReference, normalizeName, parseReference, splitName, type ImageRef } from '../oci/reference.js';
import type { RegistryOptions } from '../transport/transports.js';

/** When to fetch an image from its transport: as buildah's --pull. */
export type PullPolicy = 'missing' | 'always' | 'never';

/** Checks a --pull value. */
export function checkPullPolicy(p: string | undefined): PullPolicy {
  if (p === undefined || p === 'missing' || p === 'ifmissing' || p === 'true') return 'missing';
  if (p === 'always') return 'always';
  if (p === 'never' || p === 'false') return 'never';
  throw new BadInputError(`invalid pull policy ${p}`, { hint: 'use --pull missing, always or never' });
}

/** Finds a stored image by name or ID. */
export async function findStored(store: Store, name: string): Promise<ImageRecord | undefined> {
  let normalized: string | undefined;
  try {
    normalized = normalizeName(name);
  } catch {
    normalized = undefined;
  }
  return store.images.find(name, normalized);
}

/** Options of pulling: the signature policy file to judge the source by (else the default places), and a registry's options. */
export interface PullOptions {
  signaturePolicy?: string;
  /** Options of a docker:// source (credentials, TLS, platform). */
  registry?: RegistryOptions;
  /** The name to store a docker:// image under, when not the reference's own (a mirror's or a rewritten location's image keeps the name asked for). */
  storeName?: string;
}

/** One image a name may stand for, in the order to try: the name it is stored under, and the docker:// references to pull it from (mirrors first). */
export interface NameCandidate {
  /** The full store name (`docker.io/library/debian:bookworm`); undefined for a digest-only reference. */
  storeName?: string;
  /** The references (the text after `docker://`) to try in order, each with its registry options. */
  sources: { ref: string; registry?: RegistryOptions }[];
}

/** Resolves a name the store lacks (a short name, a registry name; docker: a docker:// reference) to the images it may be. */
export type NameResolver = (name: string, registry: RegistryOptions | undefined, docker: boolean) => Promise<NameCandidate[]>;

/*
 * The registry sits above image/ (overview.md): its resolver of names (registries.conf: aliases, search
 * registries, [[registry]] rewrites and mirrors) is plugged in here by a caller above both, as the docker://
 * transport is. Without it, a name means a stored image only.
 */
let nameResolver: NameResolver | undefined;

/** Plugs in the resolver of names the store lacks (called by dsl/registry/names-plug.ts). */
export function registerNameResolver(r: NameResolver): void {
  nameResolver = r;
}

/** Layers fetched at once from a registry (other transports read one at a time). */
const REGISTRY_PARALLEL = 3;

/**
 * The store name of a registry image pulled by tag, as docker and buildah name it (`debian` →
 * `docker.io/library/debian:latest`); undefined for a reference pinned by digest, which names no tag.
 */
export function dockerStoreName(text: string): string | undefined {
  const p = splitName(text);
  if (p.digest) return undefined;
  let host = p.host ?? 'docker.io';
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') host = 'docker.io';
  const path = host === 'docker.io' && !p.path.includes('/') ? `library/${p.path}` : p.path;
  return `${host}/${path}:${p.tag ?? 'latest'}`;
}

/** Copies an image from any non-store transport into the store, as the signature policy allows. */
export async function pullRef(store: Store, ref: ImageRef, opts: PullOptions = {}): Promise<ImageRecord> {
  const text = formatReference(ref);
  const [{ storeImage }, { openSource }] = await Promise.all([import('./pull.js'), import('../transport/transports.js')]);
  return step('pull', text, async (id) => {
    const img = await openSource(ref, { tmpDir: store.paths.tmp, signaturePolicy: opts.signaturePolicy, registry: opts.registry });
    try {
      const docker = ref.transport === 'docker' ? (opts.storeName ?? dockerStoreName(ref.ref)) : undefined;
      const names = ref.transport === 'docker-archive' && img.names ? img.names.map((n) => normalizeName(n)) : docker ? [docker] : [];
      return await storeImage(store, img, { names, extract: true, stepId: id, parallel: ref.transport === 'docker' ? REGISTRY_PARALLEL : 1 });
    } finally {
      await img.close();
    }
  });
}

/** The registry host a name gives (`quay.io` of `quay.io/x/y:1`); undefined for a short name, and `localhost` for cairn's own images. */
function hostOf(name: string): string | undefined {
  try {
    return splitName(name).host;
  } catch {
    return undefined;
  }
}

/** Why a candidate failed, in a few words for the one line listing them. */
function reason(err: unknown): string {
  if (err instanceof NotFoundError) return 'not found';
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/^image docker:\/\/\S+?:? /, '');
}

/**
 * Pulls the first candidate that can be pulled, trying each one's sources in order (mirrors, then the
 * registry). One source: its error as it is; more: one line naming each one tried and why it failed.
 */
async function pullCandidates(store: Store, text: string, cands: NameCandidate[], opts: PullOptions, storeTried: string[]): Promise<ImageRecord> {
  const failed: { ref: string; err: unknown }[] = [];
  for (const c of cands) {
    for (const s of c.sources) {
      try {
        return await pullRef(store, { transport: 'docker', ref: s.ref }, { ...opts, registry: s.registry ?? opts.registry, storeName: c.storeName });
      } catch (err) {
        if (!isCairnError(err)) throw err;
        failed.push({ ref: s.ref, err });
      }
    }
  }
  if (failed.length === 1 && storeTried.length === 0) throw failed[0].err;
  const inStore = storeTried.length ? `not in the store (${storeTried.join(', ')}), ` : '';
  throw new NotFoundError(`image ${text} not found: ${inStore}${failed.map((f) => `${f.ref} (${reason(f.err)})`).join(', ')}`, {
    hint: 'see `cairn images`; registries are searched as registries.conf says (unqualified-search-registries, [aliases], [[registry]]); or write docker://HOST/REPO:TAG',
  });
}

/** Resolves a name without transport: the store first, then (with a resolver plugged in) the registries it may name. */
async function resolveName(store: Store, name: string, pull: PullPolicy, opts: PullOptions): Promise<ImageRecord> {
  const rec = await findStored(store, name);
  const host = hostOf(name);
  const local = host === 'localhost';
  // A stored image is used as it is, except that --pull always fetches a name that gives its registry again
  // (a short name found in the store is a local image: localhost/NAME, or an ID).
  if (rec && (pull !== 'always' || host === undefined || local || !nameResolver)) return rec;
  if (!nameResolver || local) {
    throw new NotFoundError(`image ${name} not found in the store`, { hint: 'see `cairn images`; for other places use a transport such as oci:DIR or docker-archive:FILE' });
  }
  const cands = await nameResolver(name, opts.registry, false);
  let normalized: string | undefined;
  try {
    normalized = normalizeName(name);
  } catch {
    normalized = undefined;
  }
  const storeTried = normalized && normalized.startsWith('localhost/') ? [normalized] : [];
  if (pull !== 'always') {
    for (const c of cands) {
      const hit = c.storeName ? await store.images.find(c.storeName, c.storeName) : undefined;
      if (hit) return hit;
    }
  }
  if (pull === 'never') {
    const tried = [...storeTried, ...cands.map((c) => c.storeName).filter(Boolean)];
    throw new NotFoundError(`image ${name} is not in the store (${tried.join(', ')}) and --pull never was given`, { hint: 'pull it first, or use --pull missing' });
  }
  return pullCandidates(store, name, cands, opts, storeTried);
}

/**
 * Resolves an image reference to a stored image (pulling it when the policy allows), or null for
 * `scratch`. A name without transport is the store's first; with the registry plugged in, names the store
 * lacks are resolved as registries.conf says (short names, aliases, rewrites, mirrors).
 */
export async function resolveImage(store: Store, text: string, pull: PullPolicy = 'missing', opts: PullOptions = {}): Promise<ImageRecord | null> {
  const ref = parseReference(text);
  if (ref.transport === 'scratch') return null;
  if (ref.transport === 'store') return resolveName(store, ref.name, pull, opts);
  if (ref.transport === 'docker' && pull !== 'always') {
    // As buildah: an image pulled by this name before is used as it is, without asking the registry.
    const name = dockerStoreName(ref.ref);
    const rec = name ? await store.images.find(name, name) : undefined;
    if (rec) return rec;
    if (pull === 'never') throw new NotFoundError(`image ${text} is not in the store and --pull never was given`, { hint: 'pull it first, or use --pull missing' });
  }
  if (ref.transport === 'docker' && nameResolver) return pullCandidates(store, text, await nameResolver(ref.ref, opts.registry, true), opts, []);
  return pullRef(store, ref, opts);
}
