import { splitName } from '../oci/reference.js';
import { DOCKER_HUB, type RegistryRef } from './reference.js';

/*
 * signedIdentity of containers-policy.json(5): whether the reference a signature claims fits the image being
 * pulled. References are compared normalized (`busybox` is `docker.io/library/busybox`); a signed reference
 * may name a repository only (cosign writes those), which only the repository-wide matches accept.
 */

/** A normalized reference: `host/path` and its tag and digest, if any (no `:latest` is added). */
export interface NamedRef {
  name: string;
  tag?: string;
  digest?: string;
}

/** A signedIdentity value, as policy-format.ts validated it. */
export type IdentityMatch =
  | { type: 'matchExact' | 'matchRepoDigestOrExact' | 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string };

/** Parses a reference as docker normalizes it, without adding a tag; undefined when it is not one. */
export function parseNamed(text: string): NamedRef | undefined {
  try {
    const p = splitName(text);
    let host = p.host ?? DOCKER_HUB;
    if (host === 'index.docker.io') host = DOCKER_HUB;
    const path = host === DOCKER_HUB && !p.path.includes('/') ? `library/${p.path}` : p.path;
    if (!path) return undefined;
    return { name: `${host}/${path}`, ...(p.tag ? { tag: p.tag } : {}), ...(p.digest ? { digest: p.digest } : {}) };
  } catch {
    return undefined;
  }
}

/** The NamedRef of a pulled registry reference. */
export function namedOf(r: RegistryRef): NamedRef {
  return { name: `${r.registry}/${r.repository}`, ...(r.tag ? { tag: r.tag } : {}), ...(r.digest ? { digest: r.digest } : {}) };
}

/** The reference as text: `host/path[:tag][@digest]`. */
export function formatNamed(r: NamedRef): string {
  return `${r.name}${r.tag ? ':' + r.tag : ''}${r.digest ? '@' + r.digest : ''}`;
}

const nameOnly = (r: NamedRef) => !r.tag && !r.digest;

function exact(intended: NamedRef, signed: NamedRef): boolean {
  return !nameOnly(intended) && !nameOnly(signed) && formatNamed(intended) === formatNamed(signed);
}

function repoDigestOrExact(intended: NamedRef, signed: NamedRef): boolean {
  return intended.digest ? intended.name === signed.name : exact(intended, signed);
}

/** True when name is prefix, or below it (`prefix/…`). */
function underPrefix(name: string, prefix: string): boolean {
  return name === prefix || (name.startsWith(prefix) && name[prefix.length] === '/');
}

/** True when the reference a signature claims (signedText) fits the image pulled as intended, under match. */
export function identityMatches(match: IdentityMatch, intended: NamedRef, signedText: string): boolean {
  const signed = parseNamed(signedText);
  if (!signed) return false;
  switch (match.type) {
    case 'matchExact':
      return exact(intended, signed);
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(intended, signed);
    case 'matchRepository':
      return intended.name === signed.name;
    case 'exactReference': {
      const want = parseNamed(match.dockerReference);
      return want !== undefined && exact(want, signed);
    }
    case 'exactRepository': {
      const want = parseNamed(match.dockerRepository);
      return want !== undefined && want.name === signed.name;
    }
    case 'remapIdentity': {
      if (!underPrefix(intended.name, match.prefix)) return repoDigestOrExact(intended, signed);
      const remapped = parseNamed(match.signedPrefix + formatNamed(intended).slice(match.prefix.length));
      return remapped !== undefined && repoDigestOrExact(remapped, signed);
    }
  }
}
