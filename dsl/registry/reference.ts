import { BadInputError } from '../core/errors.js';
import { splitName } from '../oci/reference.js';

/** The registry Docker Hub's short names live in, as references and auth files spell it. */
export const DOCKER_HUB = 'docker.io';
/** The host that serves Docker Hub's API (docker.io itself only redirects). */
const DOCKER_HUB_API = 'registry-1.docker.io';

/** A registry reference, normalized: `docker.io/library/debian:latest`, `127.0.0.1:5000/app@sha256:…`. */
export interface RegistryRef {
  /** The registry as references name it: `docker.io`, `quay.io`, `127.0.0.1:5000`. */
  registry: string;
  /** The repository inside it: `library/debian`, `team/app`. */
  repository: string;
  /** The tag; `latest` when the reference gives neither tag nor digest. */
  tag?: string;
  /** The manifest digest the reference pins, if any. */
  digest?: string;
}

/**
 * Parses what follows `docker://` as docker and skopeo do: a first component without `.` or `:` (and not
 * `localhost`) is a Docker Hub repository, a one-component Hub name is under `library/`, no tag or digest means
 * `:latest`. A tag and a digest may both be given (`repo:tag@sha256:…`): the digest decides what is pulled.
 */
export function parseRegistryRef(text: string): RegistryRef {
  const p = splitName(text);
  let registry = p.host ?? DOCKER_HUB;
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  const repository = registry === DOCKER_HUB && !p.path.includes('/') ? `library/${p.path}` : p.path;
  if (!repository) throw new BadInputError(`invalid registry reference docker://${text}: no repository`, { hint: 'write docker://HOST/REPO[:TAG|@DIGEST]' });
  const tag = p.tag ?? (p.digest ? undefined : 'latest');
  return { registry, repository, ...(tag ? { tag } : {}), ...(p.digest ? { digest: p.digest } : {}) };
}

/** The reference as text, without the transport: `docker.io/library/debian:bookworm`. */
export function formatRegistryRef(r: RegistryRef): string {
  return `${r.registry}/${r.repository}${r.tag ? ':' + r.tag : ''}${r.digest ? '@' + r.digest : ''}`;
}

/** The reference within its repository: the digest when pinned, else the tag (what a manifest URL ends with). */
export function manifestReference(r: RegistryRef): string {
  return r.digest ?? r.tag ?? 'latest';
}

/** The host[:port] that serves a registry's API (Docker Hub's differs from its name). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** The name a pulled image gets in the store: the full reference (a digest-only reference names the digest). */
export function storeName(r: RegistryRef): string {
  return formatRegistryRef(r.tag && r.digest ? { ...r, digest: undefined } : r);
}

/**
 * The scopes of containers-policy.json(5) that may apply to r, most specific first: the reference, the
 * repository, each namespace above it, the registry, then `*.domain` wildcards of the host.
 */
export function policyScopes(r: RegistryRef): string[] {
  const scopes: string[] = [];
  const repo = `${r.registry}/${r.repository}`;
  if (r.digest) scopes.push(`${repo}@${r.digest}`);
  if (r.tag) scopes.push(`${repo}:${r.tag}`);
  const parts = repo.split('/');
  for (let n = parts.length; n >= 1; n--) scopes.push(parts.slice(0, n).join('/'));
  const host = r.registry.replace(/:\d+$/, '');
  const labels = host.split('.');
  for (let i = 1; i < labels.length; i++) scopes.push('*.' + labels.slice(i).join('.'));
  return scopes;
}
