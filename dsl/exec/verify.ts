import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BadInputError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { uniqueSuffix } from '../core/unique.js';
import { sameStamp, stampOf, writeJson, type CachedImage, type ExecCache, type ExecSigner, type FileStamp } from './cache.js';
import { fetchUrl, keepFile, recheck, type FetchStats, type UrlFetch, type UrlOutcome } from './fetch-url.js';
import { policyRefuses, stillTrusted, type TrustScope } from './trust.js';
import { sweepTmp, unpackEntry } from './unpack.js';
import type { Verdict } from '../flat/trailer.js';
import { fileScopes, refusalError } from '../sign/trust.js';
import { judgeSigned } from '../flat/judge.js';
import { makeDirs } from '../core/fsutil.js';

/*
 * The uncached start of `cairn exec`: get the bytes into a private file in the cache's tmp (a copy of FILE,
 * or the download of URL), verify THAT file, and only then unpack it; the original is never read again, so
 * what runs is what was verified. A start of an image already unpacked verifies and skips the unpack.
 */

/** How the image was asked for. */
export interface ObtainOptions {
  /** FILE (absolute) or URL, as resolved. */
  source: string;
  /** The name to use in messages: what the user typed. */
  what: string;
  url: boolean;
  /** --key PUB: verify against this key only. */
  key?: string;
  /** --signature-policy FILE (else the default places): it may narrow the keys, never waive the signature. */
  signaturePolicy?: string;
  insecure?: boolean;
}

/** Copies the open file to dest; the file's stamp when it did not change during the copy. */
async function copyIn(file: string, dest: string, what: string): Promise<FileStamp | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    throw new BadInputError(`${what}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { hint: 'check the path and its permissions', cause: err });
  }
  try {
    const before = await fh.stat({ bigint: true });
    if (!before.isFile()) throw new BadInputError(`${what} is not a file`, { hint: 'give a flat tarball (cairn export writes one) or an http(s) URL' });
    await pipeline(fh.createReadStream({ start: 0, autoClose: false, highWaterMark: 1 << 20 }), createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
    const after = await fh.stat({ bigint: true });
    const a = stampOf(file, before);
    return sameStamp(a, stampOf(file, after)) ? a : undefined;
  } finally {
    await fh.close();
  }
}

/** The policy scopes of the image asked for (a URL has none of its own). */
function scopeOf(o: ObtainOptions): TrustScope {
  return { scopes: fileScopes(o.source, o.url), policy: o.signaturePolicy };
}

/** Verifies the private copy; the verdict and the key that vouches for it (null when run unverified with --insecure-skip-verify). */
async function verify(file: string, o: ObtainOptions): Promise<{ v: Verdict; signer: ExecSigner | null; reason?: string }> {
  const c = await judgeSigned({ source: o.source, url: o.url, what: o.what, key: o.key, signaturePolicy: o.signaturePolicy }, () => createReadStream(file, { highWaterMark: 1 << 20 }));
  const j = c.judgement;
  if (!j.ok) {
    // --insecure-skip-verify waives a signature, never the policy's `reject`.
    if (!o.insecure || j.kind === 'policy' || !c.verdict) throw refusalError(j, o.what);
    warn(`running ${o.what} unverified (${j.message}) because of --insecure-skip-verify`);
    return { v: c.verdict, signer: null, reason: j.message };
  }
  const v = c.verdict!;
  return { v, signer: v.signer ? { id: v.signer.id, source: v.signer.source } : null };
}

/** How fetchUrl() asks for o.source: with the last record of the URL, when the entry it names may still be used. */
function urlFetch(cache: ExecCache, o: ObtainOptions): UrlFetch {
  const prev = cache.lookupUrl(o.source);
  const usable = (e: CachedImage): boolean => stillTrusted(e.meta.signer, o.key, scopeOf(o)) || (!!o.insecure && !policyRefuses(scopeOf(o)));
  const entry = prev && cache.read(prev.digest.replace(/^sha256:/, ''));
  return { url: o.source, what: o.what, prev, prevEntry: entry && usable(entry) ? entry : undefined, usable };
}

/** What fetching URL o.source would download (`cairn fetch --dry-run`): the index (or the file's headers) only, nothing written; and the entry when it is current. */
export async function planUrl(cache: ExecCache, o: ObtainOptions): Promise<FetchStats & { current?: CachedImage }> {
  const r = await fetchUrl(cache, { ...urlFetch(cache, o), dryRun: true }, '');
  return 'current' in r ? { ...r.stats, current: r.current } : r.stats;
}

/** Fetches (or copies), verifies and unpacks the image; the cache entry to run. `stats` receives the figures of a URL's fetch. */
export async function obtain(cache: ExecCache, o: ObtainOptions, stats?: (s: FetchStats) => void): Promise<CachedImage> {
  await makeDirs(cache.tmp, 0o700);
  await sweepTmp(cache);
  const tmp = path.join(cache.tmp, `dl-${uniqueSuffix()}`);
  try {
    let stamp: FileStamp | undefined;
    let got: Extract<UrlOutcome, { validators: unknown }> | undefined;
    if (o.url) {
      // Revalidate what a trusted earlier start fetched: an unchanged index (or a 304) costs no download and no verification.
      const r = await fetchUrl(cache, urlFetch(cache, o), tmp);
      stats?.(r.stats);
      if ('current' in r) {
        if (!stillTrusted(r.current.meta.signer, o.key, scopeOf(o))) warn(`running ${o.what} unverified (${r.current.meta.reason ?? 'its signer is not a key given'}) because of --insecure-skip-verify`);
        if (r.record) await cache.rememberUrl(r.record);
        return r.current;
      }
      got = r;
    } else {
      stamp = await copyIn(o.source, tmp, o.what);
    }
    let checked: Awaited<ReturnType<typeof verify>> | undefined;
    try {
      checked = await verify(tmp, o);
    } catch (err) {
      // A rebuilt file that fails verification may be a wrong rebuild: recheck() decides, by its sha256.
      if (!got?.unchecked) throw err;
    }
    if (got && (await recheck(got, o.source, tmp, checked?.v.sha256))) checked = await verify(tmp, o);
    const { v, signer, reason } = checked!;
    const hex = v.sha256.replace(/^sha256:/, '');
    let entry = cache.read(hex);
    if (!entry) {
      await unpackEntry(cache, tmp, v.tarSize, { digest: v.sha256, signer, ...(signer ? {} : { reason }) }, o.what);
      entry = cache.read(hex);
      if (!entry) throw new BadInputError(`${o.what}: the unpacked image vanished from the cache`, { hint: 'another cairn removed it; try again' });
    } else if (signer && (entry.meta.signer?.id !== signer.id || entry.meta.signer?.source !== signer.source)) {
      // Verified now under a key other than the recorded one (or verified at last): record the key that vouches for it.
      const { reason: _drop, ...rest } = entry.meta;
      entry.meta = { ...rest, signer };
      await writeJson(path.join(entry.dir, 'meta.json'), entry.meta);
    }
    if (stamp) await cache.rememberFile(stamp, v.sha256);
    if (got) {
      // The file is kept beside its entry only when its index describes it: the seed of the next update.
      if (got.index && got.index.index.fileSha256.toString('hex') === hex) await keepFile(cache, hex, tmp, got.index.raw);
      const { etag, lastModified } = got.validators;
      const cidx = got.cidx.etag || got.cidx.lastModified ? { cidxEtag: got.cidx.etag, cidxLastModified: got.cidx.lastModified } : {};
      if (etag || lastModified || cidx.cidxEtag || cidx.cidxLastModified) await cache.rememberUrl({ url: o.source, etag, lastModified, digest: v.sha256, ...cidx });
    }
    return entry;
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
