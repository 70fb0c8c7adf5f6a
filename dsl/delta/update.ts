import { promises as fsp } from 'node:fs';
import { isCairnError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { download, getWith, type Validators } from '../core/fetch.js';
import { decodeIndex, type ChunkIndex } from './cidx.js';
import { checkBounds, planUpdate, type Plan, type Seed } from './plan.js';
import { DeltaMismatch, rebuild, type RebuildOptions } from './rebuild.js';

/*
 * Fetching FILE from a dumb server that publishes FILE.cidx beside it (docs/delta.md, "Fetching an
 * update"): the index first; then the segments no local file holds, by range requests; the file rebuilt
 * and its sha256 checked against the index. No index, a server that ignores Range, a wrong range, an
 * index that does not match: the whole file is downloaded instead, as without an index.
 */

/** The largest index downloaded (a 1 GB file cut into 64 KiB segments has an index of ~400 KB). */
export const INDEX_LIMIT = 4 << 20;

/** The statuses that mean "no index here": every 4xx and 5xx. */
const NO_INDEX = Array.from({ length: 200 }, (_, i) => 400 + i);

/** What asking for URL.cidx found. */
export type IndexAnswer =
  | { kind: 'absent' }
  | { kind: 'not-modified' }
  | { kind: 'index'; index: ChunkIndex; raw: Buffer; etag?: string; lastModified?: string };

/** Reads a body of at most limit bytes, or undefined when it is longer. */
async function readCapped(res: NodeJS.ReadableStream & { destroy(): void }, limit: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) {
      res.destroy();
      return undefined;
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * GETs the index at url (conditionally with v): absent when the server has none (any 4xx or 5xx), or when it is
 * malformed, absurd or larger than INDEX_LIMIT (with a warning: the file is then fetched whole).
 */
export async function fetchIndex(url: string, v: Validators = {}): Promise<IndexAnswer> {
  // Any error status means no usable index (an object store answers 403 for a missing key): the file is fetched as before.
  const { res, href } = await getWith(url, {}, NO_INDEX, v);
  if (res.statusCode === 304) return { kind: 'not-modified' };
  if (res.statusCode !== 200) {
    res.resume();
    return { kind: 'absent' };
  }
  const declared = Number(res.headers['content-length'] ?? 0);
  const body = declared > INDEX_LIMIT ? undefined : await readCapped(res, INDEX_LIMIT);
  if (!body) {
    res.destroy();
    warn(`${href} is larger than ${INDEX_LIMIT >> 20} MiB: ignored, the whole file is downloaded`);
    return { kind: 'absent' };
  }
  try {
    const index = decodeIndex(body, href);
    checkBounds(index, href);
    const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
    const lastModified = typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : undefined;
    return { kind: 'index', index, raw: body, etag, lastModified };
  } catch (err) {
    if (!isCairnError(err)) throw err;
    warn(`${(err as Error).message}: ignored, the whole file is downloaded`);
    return { kind: 'absent' };
  }
}

/** What fetchUpdate did. */
export interface UpdateResult {
  /** 'rebuilt' from local and downloaded segments; 'whole' (the server sent it all) or 'plain' (a plain download). */
  kind: 'rebuilt' | 'whole' | 'plain';
  /** Range and plain requests made (the index's not included). */
  requests: number;
  /** Bytes downloaded (the index's not included). */
  downloaded: number;
  /** Bytes read from local files. */
  reused: number;
  /** Runs of segments to download (adjacent missing segments are one run, one byte range). */
  runs: number;
  /** True when dest is known to be the file of the index (its sha256 checked); else the caller compares (a 'rebuilt' file that does not match is wrong). */
  matched: boolean;
  etag?: string;
  lastModified?: string;
}

/** Plans what fetching the file of idx needs, given the seeds (for --dry-run and for fetchUpdate). */
export function planFetch(idx: ChunkIndex, seeds: Seed[]): Plan {
  return planUpdate(idx, seeds);
}

/**
 * Fetches url into dest (which must not exist): rebuilt from the seeds and range requests when that saves
 * anything, else (or when the rebuild cannot go on) a plain download. A corrupt seed file is removed. With
 * o.wholeHash false the caller compares the file's sha256 with the index's (and downloads the whole file
 * with fetchWhole() when a rebuilt one does not match).
 */
export async function fetchUpdate(url: string, dest: string, idx: ChunkIndex, seeds: Seed[], o: RebuildOptions = {}): Promise<UpdateResult> {
  const plan = planUpdate(idx, seeds);
  const progress = o.progress;
  if (plan.reused > 0) {
    try {
      const r = await rebuild(url, dest, idx, plan, o);
      return { ...r, runs: plan.runs.length, matched: r.kind === 'rebuilt' && o.wholeHash !== false };
    } catch (err) {
      if (!(err instanceof DeltaMismatch)) throw err;
      warn(`${err.message}: downloading the whole file instead`);
      if (err.corruptSeed) await fsp.rm(err.corruptSeed, { force: true });
      await fsp.rm(dest, { force: true });
    }
  }
  const r = await download(url, dest);
  if (r.notModified) throw new Error('unreachable: unconditional GET answered 304');
  progress?.(0, r.size);
  return { kind: 'plain', requests: 1, downloaded: r.size, reused: 0, runs: plan.runs.length, matched: false, etag: r.etag, lastModified: r.lastModified };
}

/** Downloads url whole into dest (removed first): what follows a rebuilt file whose sha256 the caller found wrong. */
export async function fetchWhole(url: string, dest: string, why: string): Promise<UpdateResult> {
  warn(`${why}: downloading the whole file instead`);
  await fsp.rm(dest, { force: true });
  const r = await download(url, dest);
  if (r.notModified) throw new Error('unreachable: unconditional GET answered 304');
  return { kind: 'plain', requests: 1, downloaded: r.size, reused: 0, runs: 0, matched: false, etag: r.etag, lastModified: r.lastModified };
}
