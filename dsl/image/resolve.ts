import { BadInputError, NotFoundError } from '../core/errors.js';
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
      const docker = ref.transport === 'docker' ? dockerStoreName(ref.ref) : undefined;
      const names = ref.transport === 'docker-archive' && img.names ? img.names.map((n) => normalizeName(n)) : docker ? [docker] : [];
      return await storeImage(store, img, { names, extract: true, stepId: id, parallel: ref.transport === 'docker' ? REGISTRY_PARALLEL : 1 });
    } finally {
      await img.close();
    }
  });
}

/**
 * Resolves an image reference to a stored image (pulling it when the policy allows), or null for
 * `scratch`.
 */
export async function resolveImage(store: Store, text: string, pull: PullPolicy = 'missing', opts: PullOptions = {}): Promise<ImageRecord | null> {
  const ref = parseReference(text);
  if (ref.transport === 'scratch') return null;
  if (ref.transport === 'store') {
    const rec = await findStored(store, ref.name);
    if (rec) return rec;
    throw new NotFoundError(`image ${ref.name} not found in the store`, { hint: 'see `cairn images`; for other places use a transport such as oci:DIR or docker-archive:FILE' });
  }
  if (ref.transport === 'docker' && pull !== 'always') {
    // As buildah: an image pulled by this name before is used as it is, without asking the registry.
    const name = dockerStoreName(ref.ref);
    const rec = name ? await store.images.find(name, name) : undefined;
    if (rec) return rec;
    if (pull === 'never') throw new NotFoundError(`image ${text} is not in the store and --pull never was given`, { hint: 'pull it first, or use --pull missing' });
  }
  return pullRef(store, ref, opts);
}
