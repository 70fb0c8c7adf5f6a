import { statSync } from 'node:fs';
import path from 'node:path';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { ExecCache, stampOf, type CachedImage } from './cache.js';
import { policyRefuses, stillTrusted } from './trust.js';
import { fileScopes } from '../sign/trust.js';

/*
 * `cairn exec`'s image side: a verified, unpacked flat image in the exec cache. A start of a local FILE
 * that is unchanged since it was verified (same path, device, inode, size, mtime, ctime) costs a stat and
 * two small JSON reads here; everything else (download, verification, unpacking, with tar-stream, zlib and
 * the curve library) is loaded only when needed, from exec-verify.ts.
 */

export type { CachedImage } from './cache.js';

/** Options of execImage. */
export interface ExecImageOptions {
  /** The store root (the cache is <root>/exec). */
  storeRoot: string;
  /** --key PUB: accept signatures by this key only (a public key PEM file or an identity string). */
  key?: string;
  /** Run an unsigned or untrusted image, with a warning. */
  insecure?: boolean;
  /** --signature-policy FILE (else the default places). */
  signaturePolicy?: string;
}

/** True for an http(s) URL (anything else is a file path). */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * The cache entry of FILE or URL, verified (or, with `insecure`, run unverified with a warning): from the
 * cache when FILE is unchanged or URL answers 304, else fetched, verified and unpacked first.
 */
export async function execImage(source: string, o: ExecImageOptions): Promise<CachedImage> {
  const cache = new ExecCache(o.storeRoot);
  const url = isUrl(source);
  const abs = url ? source : path.resolve(source);
  if (!url) {
    let st;
    try {
      st = statSync(abs, { bigint: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError(`${source}: no such file`, { hint: 'give the path of a flat tarball (cairn export writes one) or an http(s) URL' });
      throw new BadInputError(`${source}: cannot read it (${code})`, { hint: 'check the path and its permissions', cause: err });
    }
    if (!st.isFile()) throw new BadInputError(`${source} is not a file`, { hint: 'give a flat tarball (cairn export writes one) or an http(s) URL' });
    const hit = cache.lookupFile(stampOf(abs, st));
    const where = { scopes: fileScopes(abs), policy: o.signaturePolicy };
    if (hit) {
      if (stillTrusted(hit.meta.signer, o.key, where)) return hit;
      if (o.insecure && !policyRefuses(where)) {
        warn(`running ${source} unverified (${hit.meta.reason ?? 'its signer is not a key given'}) because of --insecure-skip-verify`);
        return hit;
      }
    }
  }
  const { obtain } = await import('./verify.js');
  return obtain(cache, { source: abs, what: source, url, key: o.key, signaturePolicy: o.signaturePolicy, insecure: o.insecure });
}
