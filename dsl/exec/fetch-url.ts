import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { download, getWith, type Validators } from '../core/fetch.js';
import { progressOf } from '../core/progress.js';
import { writeFileAtomic } from '../core/atomic.js';
import type { ChunkIndex } from '../delta/cidx.js';
import { KEPT_FILE, KEPT_INDEX, seedsUnder } from '../delta/seeds.js';
import type { Seed } from '../delta/plan.js';
import { fetchIndex, fetchUpdate, fetchWhole, planFetch } from '../delta/update.js';
import type { CachedImage, ExecCache, UrlRecord } from './cache.js';

/*
 * The download half of `cairn exec URL` and `cairn fetch URL`. URL.cidx is asked for first (conditionally,
 * with the validators of the last one): unchanged, or naming a file already in the cache, nothing more is
 * fetched; else the file is rebuilt from the segments of the files the cache kept (KEPT_FILE of each entry
 * that came with an index) and range requests for the rest. Without an index, a conditional plain download.
 */

/** Figures of a fetch (or of what one would do, for --dry-run). */
export interface FetchStats {
  /** 'current': nothing to fetch; 'rebuilt', 'whole', 'plain': how the file came; 'planned': a dry run. */
  kind: 'current' | 'rebuilt' | 'whole' | 'plain' | 'planned';
  /** The file's size, when known. */
  size?: number;
  /** Bytes of the index downloaded (0 when there is none or it was unchanged). */
  indexBytes: number;
  /** Bytes downloaded besides the index (to download, in a dry run). */
  downloaded: number;
  /** Bytes read from files in the cache. */
  reused: number;
  /** HTTP requests, the index's included. */
  requests: number;
  /** Runs of missing segments (each one byte range), when there is an index. */
  runs?: number;
}

/** How obtain() asks: the URL, the last record of it when the entry it names is still usable, and a test of a cached entry. */
export interface UrlFetch {
  url: string;
  what: string;
  prev?: UrlRecord;
  prevEntry?: CachedImage;
  /** True when a cached entry may be used for this URL (its signer still trusted, or --insecure-skip-verify). */
  usable(entry: CachedImage): boolean;
  dryRun?: boolean;
}

/** What fetching a URL came to. */
export type UrlOutcome =
  | { current: CachedImage; stats: FetchStats; /** What to remember of the URL now, when it changed. */ record?: UrlRecord }
  | {
      validators: Validators;
      index?: { index: ChunkIndex; raw: Buffer };
      stats: FetchStats;
      cidx: Validators;
      /** A rebuilt file whose sha256 is yet to be compared with the index's (obtain() does, as it verifies). */
      unchecked?: boolean;
    };

/** The files of the cache's entries kept with a matching index: what an update can reuse. */
export function seedsOf(cache: ExecCache): Promise<Seed[]> {
  return seedsUnder(cache.dir);
}

/** Keeps the verified file and its index in the entry (index first: a file without its index is never read). */
export async function keepFile(cache: ExecCache, hex: string, file: string, rawIndex: Buffer): Promise<void> {
  const dir = cache.entry(hex);
  await writeFileAtomic(path.join(dir, KEPT_INDEX), rawIndex);
  await fsp.rename(file, path.join(dir, KEPT_FILE));
}

/** Fetches url into tmp (or finds it current), as the module comment says. */
export async function fetchUrl(cache: ExecCache, f: UrlFetch, tmp: string): Promise<UrlOutcome> {
  const { prev, prevEntry } = f;
  const cidxV: Validators = prevEntry && prev ? { etag: prev.cidxEtag, lastModified: prev.cidxLastModified } : {};
  const ans = await fetchIndex(f.url + '.cidx', cidxV);
  const stats: FetchStats = { kind: 'current', indexBytes: 0, downloaded: 0, reused: 0, requests: 1 };
  if (ans.kind === 'not-modified' && prevEntry && prev) return { current: prevEntry, stats };
  if (ans.kind === 'index') {
    const { index } = ans;
    stats.indexBytes = ans.raw.length;
    stats.size = index.fileSize;
    const cidx = { cidxEtag: ans.etag, cidxLastModified: ans.lastModified };
    const hex = index.fileSha256.toString('hex');
    const have = cache.read(hex);
    if (have && f.usable(have)) {
      const same = prev?.digest === `sha256:${hex}`;
      return { current: have, stats, record: { url: f.url, ...(same ? { etag: prev!.etag, lastModified: prev!.lastModified } : {}), digest: `sha256:${hex}`, ...cidx } };
    }
    const seeds = await seedsOf(cache);
    const p = planFetch(index, seeds);
    if (f.dryRun) {
      const requests = p.reused > 0 ? p.requests : 1;
      Object.assign(stats, { kind: 'planned', downloaded: p.reused > 0 ? p.download : index.fileSize, reused: p.reused, requests: 1 + requests, runs: p.runs.length });
      return { validators: {}, stats, cidx: {} };
    }
    const rep = progressOf({ id: 'fetch', item: `${f.what} reused`, total: p.reused });
    const dl = progressOf({ id: 'fetch', item: `${f.what} downloaded`, total: p.reused > 0 ? p.download : index.fileSize });
    // The file's sha256 is compared with the index's when its signature is verified (the same pass): obtain().
    const r = await fetchUpdate(f.url, tmp, index, seeds, {
      wholeHash: false,
      progress: (reused, downloaded) => {
        rep(reused);
        dl(downloaded);
      },
    });
    rep(r.reused, true);
    dl(r.downloaded, true);
    Object.assign(stats, { kind: r.kind, downloaded: r.downloaded, reused: r.reused, requests: 1 + r.requests, runs: r.runs });
    return { validators: { etag: r.etag, lastModified: r.lastModified }, index: { index, raw: ans.raw }, stats, cidx: { etag: ans.etag, lastModified: ans.lastModified }, unchecked: r.kind === 'rebuilt' };
  }
  // No index: the file itself, conditionally when the last one is still usable.
  const fileV = prevEntry && prev ? { etag: prev.etag, lastModified: prev.lastModified } : {};
  if (f.dryRun) {
    // The answer's headers say whether and how much: the body is not read.
    const { res } = await getWith(f.url, {}, [], fileV);
    res.destroy();
    stats.requests = 2;
    if (res.statusCode === 304) return { current: prevEntry!, stats };
    const size = Number(res.headers['content-length']);
    Object.assign(stats, { kind: 'planned', ...(Number.isFinite(size) ? { downloaded: size, size } : {}) });
    return { validators: {}, stats, cidx: {} };
  }
  const dl = progressOf({ id: 'fetch', item: `${f.what} downloaded` });
  const r = await download(f.url, tmp, fileV);
  stats.requests = 2;
  if (r.notModified) return { current: prevEntry!, stats };
  dl(r.size, true);
  Object.assign(stats, { kind: 'plain', downloaded: r.size, size: r.size });
  return { validators: { etag: r.etag, lastModified: r.lastModified }, stats, cidx: {} };
}

/**
 * After a rebuilt file's verification: when its sha256 is not the index's (or verifying it failed), downloads the
 * whole file into tmp instead (updating the figures); true when it did, and the file must be verified again.
 */
export async function recheck(got: Extract<UrlOutcome, { validators: unknown }>, url: string, tmp: string, sha256: string | undefined): Promise<boolean> {
  if (!got.unchecked || !got.index) return false;
  got.unchecked = false;
  if (sha256 === `sha256:${got.index.index.fileSha256.toString('hex')}`) return false;
  const r = await fetchWhole(url, tmp, `${url}: the rebuilt file does not match its index`);
  Object.assign(got.stats, { kind: 'plain', downloaded: got.stats.downloaded + r.downloaded, reused: 0, requests: got.stats.requests + 1 });
  got.validators = { etag: r.etag, lastModified: r.lastModified };
  return true;
}
