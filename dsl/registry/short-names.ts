import { BadInputError, NotFoundError } from '../core/errors.js';
import type { NameCandidate } from '../image/resolve.js';
import { splitName } from '../oci/reference.js';
import type { RegistryOptions } from '../transport/transports.js';
import { findRegistry, loadRegistriesConf, searchRegistries, type ConfPlaces, type RegistriesConf } from './registries-conf.js';

/*
 * Short names as podman resolves them (containers-registries.conf(5), "short-name aliasing"): a name that names
 * its registry is taken as it is; a short name (`debian:bookworm`) is looked up in the [aliases], else qualified
 * with each unqualified-search registry in order. Then each fully qualified name is mapped through its
 * [[registry]]: blocked, rewritten from prefix to location, insecure, mirrors first.
 */

/** How a name became fully qualified names: it named its registry, an alias, or the search list. */
export interface ShortNameResolution {
  how: 'qualified' | 'alias' | 'search';
  /** The fully qualified names to try, in order (`docker.io/library/debian:bookworm`). */
  candidates: string[];
  /** The file that gave the alias or the search list (for messages). */
  origin?: string;
}

/** The error of a short name the configuration cannot resolve. */
export class ShortNameError extends BadInputError {}

/** The error of a name under a registry that registries.conf blocks. */
export class BlockedRegistryError extends BadInputError {}

/** Docker Hub's names spelled as in a store: `docker.io/library/NAME`. */
function qualify(host: string, path: string): string {
  const h = host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
  return h === 'docker.io' && !path.includes('/') ? `docker.io/library/${path}` : `${h}/${path}`;
}

/** The tag and digest part of a name (`:latest` when it has neither). */
function suffixOf(p: { tag?: string; digest?: string }): string {
  return (p.tag ? ':' + p.tag : p.digest ? '' : ':latest') + (p.digest ? '@' + p.digest : '');
}

/**
 * Resolves a name (no transport) to the fully qualified names to try, as podman does, without prompting:
 * with short-name-mode enforcing, a short name that several search registries could serve is an error.
 */
export function resolveShortName(conf: RegistriesConf, name: string): ShortNameResolution {
  const p = splitName(name);
  const suffix = suffixOf(p);
  if (p.host) return { how: 'qualified', candidates: [qualify(p.host, p.path) + suffix] };
  const alias = conf.aliases.get(p.path);
  if (alias?.value) return { how: 'alias', candidates: [alias.value + suffix], origin: alias.file };
  const search = searchRegistries(conf);
  const where = conf.searchFile ?? (conf.files.length ? conf.files.join(', ') : 'registries.conf (none found: Docker Hub is the default)');
  if (search.length === 0) {
    throw new ShortNameError(`short name ${JSON.stringify(name)} has no alias and no unqualified-search registries are set in ${where}`, {
      hint: 'write the full name (HOST/REPO:TAG), add an [aliases] entry, or set unqualified-search-registries',
    });
  }
  const candidates = search.map((r) => qualify(r, p.path) + suffix);
  if (conf.shortNameMode === 'enforcing' && candidates.length > 1) {
    throw new ShortNameError(`short name ${JSON.stringify(name)} is ambiguous: short-name-mode is enforcing and it could be any of ${candidates.join(', ')}`, {
      hint: `write the full name (one of those), or add an [aliases] entry for ${p.path} (cairn does not prompt)`,
    });
  }
  return { how: 'search', candidates, origin: conf.searchFile };
}

/** One place to pull a fully qualified name from: the reference there and whether its TLS is unverified. */
export interface PullSource {
  ref: string;
  insecure: boolean;
  mirror: boolean;
}

/**
 * Where a fully qualified name is pulled from, in order: its [[registry]]'s mirrors (those serving this kind of
 * reference, by digest or by tag), then the registry, each with the prefix rewritten to its location; the
 * name itself when no [[registry]] matches. A blocked registry is an error.
 */
export function pullSources(conf: RegistriesConf, qualified: string): PullSource[] {
  const p = splitName(qualified);
  const name = `${p.host}/${p.path}`;
  const r = findRegistry(conf, name);
  if (!r) return [{ ref: qualified, insecure: false, mirror: false }];
  if (r.blocked) {
    throw new BlockedRegistryError(`${qualified} is blocked: registries.conf blocks ${r.prefix} (${r.file})`, { hint: 'pull from another registry, or remove blocked = true from that [[registry]]' });
  }
  // A wildcard prefix (*.example.com) stands for the name's own host.
  const prefix = r.prefix.startsWith('*.') ? p.host! : r.prefix;
  const rewrite = (loc: string) => loc + qualified.slice(prefix.length);
  const byDigest = p.digest !== undefined;
  const mirrors = r.mirrors.filter((m) => m.pullFromMirror === 'all' || (m.pullFromMirror === 'digest-only') === byDigest);
  return [
    ...mirrors.map((m) => ({ ref: rewrite(m.location), insecure: m.insecure, mirror: true })),
    { ref: r.location ? rewrite(r.location) : qualified, insecure: r.insecure, mirror: false },
  ];
}

/** The registry options for a source: insecure turns TLS verification off unless the caller said otherwise. */
function optionsFor(s: PullSource, registry: RegistryOptions | undefined): RegistryOptions | undefined {
  if (!s.insecure || registry?.tlsVerify !== undefined) return registry;
  return { ...registry, tlsVerify: false };
}

/** The store name of a fully qualified name: tagged names keep the tag, digest-only ones name none. */
function storeNameOf(qualified: string): string | undefined {
  const p = splitName(qualified);
  if (p.digest) return undefined;
  return `${p.host}/${p.path}:${p.tag ?? 'latest'}`;
}

/**
 * The images a name the store lacks may be, in the order to try, each with its store name and its pull sources
 * (for a docker:// reference, the one name it gives; else resolved as a short name). places: where
 * registries.conf is read (tests).
 */
export function nameCandidates(name: string, registry: RegistryOptions | undefined, docker: boolean, places: ConfPlaces = {}): NameCandidate[] {
  const conf = loadRegistriesConf(places);
  const qualified = docker ? [resolveShortName(conf, qualifyDocker(name)).candidates[0]] : resolveShortName(conf, name).candidates;
  const out: NameCandidate[] = [];
  const blocked: Error[] = [];
  for (const q of qualified) {
    let sources: PullSource[];
    try {
      sources = pullSources(conf, q);
    } catch (err) {
      if (!(err instanceof BlockedRegistryError) || qualified.length === 1) throw err;
      blocked.push(err);
      continue;
    }
    out.push({ storeName: storeNameOf(q), sources: sources.map((s) => ({ ref: s.ref, registry: optionsFor(s, registry) })) });
  }
  if (out.length === 0) throw new NotFoundError(`${name}: every search registry is blocked (${blocked.map((e) => e.message).join('; ')})`, { hint: 'write a full name under a registry that is not blocked' });
  return out;
}

/** A docker:// name qualified as docker reads it: no registry means Docker Hub. */
function qualifyDocker(text: string): string {
  const p = splitName(text);
  return p.host ? text : `docker.io/${text}`;
}
