import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readJson, writeJsonAtomic } from '../core/atomic.js';
import { makeDirs } from '../core/fsutil.js';
import { BadInputError } from '../core/errors.js';
import type { ImageConfig } from '../oci/types.js';

/*
 * The step cache of Dockerfile builds with layers: one record per step key, STORE/cache/dockerfile-steps/KEY.json.
 * A record names two images kept in the store without a name (like buildah's intermediate images): `image`, the
 * state after the step as a whole image (what a later stage or the build's result takes), and `base`, the
 * layers sealed so far (what the build continues from after a hit), with the config and the pending history to
 * put back on a container made from base. A record whose images were removed is a miss.
 *
 * Exported (--cache-to DIR) as an OCI layout: each step's image under the ref KEY (its base, when it differs,
 * under base-KEY), and the record as DIR/cairn-steps/KEY.json; --cache-from DIR reads it back, pulling only the
 * images of the steps that hit. To a registry repository the same tags are pushed, the record riding on the KEY
 * manifest (dsl/api-dockerfile-cache-registry.ts).
 */

/** What a step left: the images, config and pending history a hit puts back. */
export interface StepCacheRecord {
  key: string;
  /** The instruction, for people reading the store. */
  instruction: string;
  /** The image of the state after the step (pending history committed as an empty-layer entry). */
  image: string;
  /** The image of the layers sealed so far (equal to image when nothing was pending); undefined: scratch. */
  base?: string;
  /** The container's pending history after the step. */
  pending: string[];
  /** The container's config after the step (its rootfs and history left out). */
  config: Omit<ImageConfig, 'rootfs' | 'history'>;
  created: string;
}

const KEY_RE = /^[0-9a-f]{64}$/;

/** The directory of the step records of the store at root. */
export function stepCacheDir(root: string): string {
  return path.join(root, 'cache', 'dockerfile-steps');
}

/** The record of key in dir (a store's cache directory, or an exported layout's cairn-steps), if any. */
export async function readStepRecord(dir: string, key: string): Promise<StepCacheRecord | undefined> {
  if (!KEY_RE.test(key)) return undefined;
  const r = await readJson<StepCacheRecord>(path.join(dir, `${key}.json`)).catch(() => undefined);
  return r && r.key === key && typeof r.image === 'string' && Array.isArray(r.pending) && r.config ? r : undefined;
}

/** Writes the record (atomically) into dir. */
export async function writeStepRecord(dir: string, rec: StepCacheRecord): Promise<void> {
  await makeDirs(dir);
  await writeJsonAtomic(path.join(dir, `${rec.key}.json`), rec);
}

/** The directory of records in an exported cache layout. */
export function exportedRecords(layout: string): string {
  return path.join(layout, 'cairn-steps');
}

/** True when dir looks like a cache export (holds cairn-steps/). */
export async function isCacheExport(dir: string): Promise<boolean> {
  return fsp.stat(exportedRecords(dir)).then((s) => s.isDirectory(), () => false);
}

/** Where a step cache export lives: an OCI layout directory, or a registry repository (`HOST/REPO`, no tag). */
export type CacheLocation = { dir: string; repo?: undefined } | { repo: string; dir?: undefined };

/**
 * The place a --cache-from/--cache-to value names: `docker://HOST/REPO` or a bare `HOST/REPO` whose first part
 * is a registry host (it holds `.` or `:`, or is `localhost`) is a repository, as buildah takes it; `oci:DIR`,
 * a path starting with `/`, `.` or `~`, and anything else is a directory.
 */
export function cacheLocation(text: string): CacheLocation {
  if (text.startsWith('oci:')) return { dir: text.slice(4) };
  const docker = text.startsWith('docker://');
  const rest = docker ? text.slice('docker://'.length) : text;
  const first = rest.split('/')[0];
  const hostLike = rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') && !/^[./~]/.test(rest);
  if (!docker && !hostLike) return { dir: text };
  const last = rest.split('/').at(-1) ?? '';
  if (!rest || last.includes(':') || rest.includes('@') || !/^[a-z0-9][a-z0-9._/:-]*$/.test(rest)) {
    throw new BadInputError(`invalid cache repository ${text}`, { hint: 'give a repository without a tag (HOST/REPO or docker://HOST/REPO): each step is tagged with its key' });
  }
  return { repo: rest.replace(/\/+$/, '') };
}
