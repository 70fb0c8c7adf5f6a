import { defaultRoot } from '../store/paths.js';
import { BadInputError } from '../core/errors.js';
import { ExecCache } from './cache.js';
import { isUrl } from './exec.js';
import type { FetchStats } from './fetch-url.js';

/*
 * `cairn fetch URL`: bring a flat signed image into the exec cache (verified and unpacked, as `cairn exec`
 * would) without running it, reusing what the cache holds when the server publishes URL.cidx; or, with
 * dryRun, only say what that would download.
 */

/** Options of fetchImage. */
export interface FetchOptions {
  /** The store root whose exec cache is filled (default: $CAIRN_ROOT or the per-user default). */
  root?: string;
  /** Accept signatures by this key only: a public key PEM file or an identity string. */
  key?: string;
  /** Also apply this signature policy file. */
  signaturePolicy?: string;
  /** Keep an unsigned or untrusted image, with a warning (never one the policy rejects). */
  insecure?: boolean;
  /** Download nothing but the index: report what an update would download. */
  dryRun?: boolean;
}

/** What fetchImage did (or, with dryRun, would do). */
export interface FetchImageResult extends FetchStats {
  /** 'sha256:…' of the image now in the cache (absent in a dry run that would fetch). */
  digest?: string;
}

/** Fetches (or updates) the flat image at url into the exec cache, verified; its figures. */
export async function fetchImage(url: string, o: FetchOptions = {}): Promise<FetchImageResult> {
  if (!isUrl(url)) throw new BadInputError(`${url} is not an http(s) URL`, { hint: 'cairn fetch takes the http(s) URL of a flat image; cairn exec runs a local file directly' });
  const { obtain, planUrl } = await import('./verify.js');
  const cache = new ExecCache(o.root ?? defaultRoot());
  const asked = { source: url, what: url, url: true, key: o.key, signaturePolicy: o.signaturePolicy, insecure: o.insecure };
  if (o.dryRun) {
    const { current, ...plan } = await planUrl(cache, asked);
    return { ...plan, ...(current ? { digest: current.meta.digest } : {}) };
  }
  let stats: FetchStats | undefined;
  const entry = await obtain(cache, asked, (s) => (stats = s));
  return { ...stats!, digest: entry.meta.digest };
}
