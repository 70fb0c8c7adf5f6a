import { BadInputError, CairnError, NotFoundError } from '../core/errors.js';
import type { ImageRecord } from '../store/images.js';
import type { Store } from '../store/store.js';
import { step } from '../core/events.js';
import { formatReference, normalizeName, parseReference, type ImageRef } from '../oci/reference.js';

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

/** Options of pulling: the signature policy file to judge the source by (else the default places). */
export interface PullOptions {
  signaturePolicy?: string;
}

/** Copies an image from any non-store transport into the store, as the signature policy allows. */
export async function pullRef(store: Store, ref: ImageRef, opts: PullOptions = {}): Promise<ImageRecord> {
  const text = formatReference(ref);
  const [{ storeImage }, { openSource }] = await Promise.all([import('./pull.js'), import('../transport/transports.js')]);
  return step('pull', text, async (id) => {
    const img = await openSource(ref, { tmpDir: store.paths.tmp, signaturePolicy: opts.signaturePolicy });
    try {
      const names = ref.transport === 'docker-archive' && img.names ? img.names.map((n) => normalizeName(n)) : [];
      return await storeImage(store, img, { names, extract: true, stepId: id });
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
  if (ref.transport === 'docker' && pull === 'never') throw new CairnError(`image ${text} is not in the store and --pull never was given`);
  return pullRef(store, ref, opts);
}
