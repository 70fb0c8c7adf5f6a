import { image } from './api.js';
import { CairnError, NotFoundError } from './core/errors.js';
import { warn } from './core/events.js';
import { RegistryError } from './registry/errors.js';
import type { RegistryOptions } from './transport/transports.js';
import type { SourceImage } from './transport/source.js';
import type { BuildState } from './api-dockerfile-steps.js';
import type { StepCacheRecord } from './dockerfile/cache-records.js';

/*
 * The step cache of a layered Dockerfile build in a registry repository, as buildah's --cache-to/--cache-from
 * REPO: each step's image is pushed to REPO tagged with the step's key (its layers image, when it differs, as
 * base-KEY), and looked up by that tag. The record a hit needs besides the image (the config and pending history
 * to put back, the base image's ID) travels as an annotation of the KEY manifest; it is left out of the manifest
 * stored locally, so the image is the one the worker that pushed it had (same ID, same layers). A tag the
 * repository lacks, or a repository that does not exist, is a miss. So is a refusal (401, 403): Docker Hub, GHCR
 * and others answer so for a repository that does not exist yet, as on a first --cache-to run; it is said once
 * and the repository is not asked again in the build. Any other failure ends the build.
 */

/** The manifest annotation holding the step's record (JSON). */
export const RECORD_ANNOTATION = 'io.cairn.dockerfile.step-record';

/** The registry options of the build, for the cache repository (no platform: a step's tag names one image). */
function registryOf(st: BuildState): RegistryOptions {
  const o = st.opts;
  return { creds: o.creds, authfile: o.authfile, tlsVerify: o.tlsVerify, certDir: o.certDir };
}

/** A failure talking to the cache repository, as one line naming the flag and the repository. */
function cacheError(flag: string, repo: string, err: unknown): unknown {
  if (!(err instanceof CairnError)) return err;
  err.message = `${flag} ${repo}: ${err.message}`;
  return err;
}

/** The --cache-from repositories that refused access, by build: not asked again. */
const refused = new WeakMap<BuildState, Set<string>>();
/** The steps a build took from a repository (`REPO` newline `KEY`): --cache-to that repository has them already. */
const found = new WeakMap<BuildState, Set<string>>();

/** Opens docker://REPO:TAG (its manifest and config); throws what the registry answers. */
async function openRemote(st: BuildState, repo: string, tag: string): Promise<SourceImage> {
  const [{ plugRegistry }, { openSource }, { parseReference }] = await Promise.all([import('./registry/plug.js'), import('./transport/transports.js'), import('./oci/reference.js')]);
  plugRegistry();
  return openSource(parseReference(`docker://${repo}:${tag}`), { tmpDir: await st.tmpDir(), signaturePolicy: st.opts.signaturePolicy, registry: registryOf(st) });
}

/** Opens docker://REPO:TAG; undefined when the repository or the tag does not exist, or access is refused. */
async function openTag(st: BuildState, repo: string, tag: string): Promise<SourceImage | undefined> {
  if (refused.get(st)?.has(repo)) return undefined;
  try {
    return await openRemote(st, repo, tag);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    if (err instanceof RegistryError && (err.status === 401 || err.status === 403)) {
      if (!refused.has(st)) refused.set(st, new Set());
      refused.get(st)!.add(repo);
      warn(`--cache-from ${repo}: ${err.message}; taken as a miss (a registry answers so for a repository that does not exist yet)`);
      return undefined;
    }
    throw cacheError('--cache-from', repo, err);
  }
}

/** The record an opened KEY image carries, when it is well formed and names that very image. */
async function recordOf(src: SourceImage, key: string): Promise<StepCacheRecord | undefined> {
  const text = src.manifest.annotations?.[RECORD_ANNOTATION];
  if (!text) return undefined;
  let r: StepCacheRecord;
  try {
    r = JSON.parse(text) as StepCacheRecord;
  } catch {
    return undefined;
  }
  const { imageId } = await import('./store/hash.js');
  const ok = r && r.key === key && r.image === imageId(src.configBytes) && Array.isArray(r.pending) && typeof r.config === 'object' && (r.base === undefined || /^[0-9a-f]{64}$/.test(r.base));
  return ok ? r : undefined;
}

/** True when the store has the image of this ID. */
async function have(st: BuildState, id: string): Promise<boolean> {
  return image(id, { root: st.root }).then((i) => i.id === id, () => false);
}

/** Copies an opened image into the store without a name (layers the store has are not fetched), its cache annotation left out. */
async function keep(st: BuildState, src: SourceImage): Promise<string> {
  const [{ storeImage }, s] = await Promise.all([import('./image/pull.js'), import('./api.js').then((m) => m.store({ root: st.root }))]);
  const annotations = { ...(src.manifest.annotations ?? {}) };
  delete annotations[RECORD_ANNOTATION];
  const manifest = { ...src.manifest, annotations: Object.keys(annotations).length ? annotations : undefined };
  return (await storeImage(s, { ...src, manifest }, { names: [], parallel: 3 })).id;
}

/** The record of key in the repository, its images pulled into the store; undefined on a miss. */
export async function registryLookup(st: BuildState, repo: string, key: string): Promise<StepCacheRecord | undefined> {
  const src = await openTag(st, repo, key);
  if (!src) return undefined;
  try {
    const r = await recordOf(src, key);
    if (!r) return undefined;
    if (r.base !== undefined && r.base !== r.image && !(await have(st, r.base))) {
      const b = await openTag(st, repo, `base-${key}`);
      if (!b) return undefined;
      try {
        const { imageId } = await import('./store/hash.js');
        if (imageId(b.configBytes) !== r.base) return undefined;
        await keep(st, b).catch((e: unknown) => Promise.reject(cacheError('--cache-from', repo, e)));
      } finally {
        await b.close();
      }
    }
    if (!(await have(st, r.image))) await keep(st, src).catch((e: unknown) => Promise.reject(cacheError('--cache-from', repo, e)));
    if (!found.has(st)) found.set(st, new Set());
    found.get(st)!.add(`${repo}\n${key}`);
    return r;
  } finally {
    await src.close();
  }
}

/** Pushes the stored image id to docker://REPO:TAG, with annotations added to its manifest. */
async function pushTagged(st: BuildState, repo: string, id: string, tag: string, annotations: Record<string, string>): Promise<void> {
  const [{ storeSource }, { pushToRegistry }] = await Promise.all([import('./image/store-image.js'), import('./registry/push.js')]);
  const img = await image(id, { root: st.root });
  const src = await storeSource(img.store, await img.record(), 'gzip');
  const manifest = { ...src.manifest, annotations: { ...(src.manifest.annotations ?? {}), ...annotations } };
  await pushToRegistry(`${repo}:${tag}`, { ...src, manifest, original: undefined }, registryOf(st));
}

/**
 * True when the repository already holds a well-formed record of key. Any failure to read it is a no: the push
 * that follows says what is wrong.
 */
async function holdsRecord(st: BuildState, repo: string, key: string): Promise<boolean> {
  const src = await openRemote(st, repo, key).catch(() => undefined);
  if (!src) return false;
  try {
    return (await recordOf(src, key)) !== undefined;
  } finally {
    await src.close();
  }
}

/**
 * Pushes the records this build made or took, with their images, to the repository (--cache-to REPO); not those
 * it took from that very repository (a CI build with --cache-from R --cache-to R pushes only the steps it ran),
 * nor those the repository holds already (a rebuild from the local cache pushes nothing again).
 */
export async function exportToRegistry(st: BuildState, repo: string): Promise<void> {
  try {
    for (const r of st.cacheUsed) {
      if (found.get(st)?.has(`${repo}\n${r.key}`) || (await holdsRecord(st, repo, r.key))) continue;
      if (r.base !== undefined && r.base !== r.image) await pushTagged(st, repo, r.base, `base-${r.key}`, {});
      await pushTagged(st, repo, r.image, r.key, { [RECORD_ANNOTATION]: JSON.stringify(r) });
    }
  } catch (err) {
    throw cacheError('--cache-to', repo, err);
  }
}
