import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { splitName } from '../oci/reference.js';

/*
 * containers-registries.conf(5), the file podman, buildah and skopeo share: the main file, then its drop-in
 * directories (containers-registries.conf.d(5)) in name order, then the short-name alias cache. A later file
 * replaces the search list and the short-name mode when it sets them, replaces a [[registry]] of the same
 * prefix, and adds to (or, with "", removes from) the aliases. The v1 tables ([registries.search] …) are read too.
 */

/** How a short name matching several search registries is treated (short-name-mode). */
export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';

/** Which pulls a mirror serves (pull-from-mirror). */
export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';

/** One place a registry is reached at: its location, and whether TLS is unverified (and plain HTTP allowed). */
export interface Endpoint {
  location: string;
  insecure: boolean;
}

/** A mirror of a registry, with which pulls it serves. */
export interface Mirror extends Endpoint {
  pullFromMirror: PullFromMirror;
}

/** A [[registry]] table: the names it applies to (prefix), where they are fetched (location, mirrors), whether blocked. */
export interface RegistryEntry extends Endpoint {
  /** The names it applies to: `host[:port][/namespace…]`, or `*.domain` for every host of that domain. */
  prefix: string;
  blocked: boolean;
  mirrors: Mirror[];
  /** The file it came from (for messages). */
  file: string;
}

/** An alias value (`docker.io/library/debian`), or null when a later file reset it with "". */
export interface Alias {
  value: string | null;
  file: string;
}

/** The merged configuration. */
export interface RegistriesConf {
  /** unqualified-search-registries, when some file sets it (undefined: no file does). */
  search?: string[];
  /** The file that set the search list. */
  searchFile?: string;
  shortNameMode?: ShortNameMode;
  aliases: Map<string, Alias>;
  registries: RegistryEntry[];
  /** The files read, in order. */
  files: string[];
}

/** Where the files are looked for: environment, home and the system's configuration and cache directories (tests point these elsewhere). */
export interface ConfPlaces {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** The system configuration directory (default /etc/containers). */
  etc?: string;
  /** The user id deciding whether the system alias cache (/var/cache/containers) is read (default: this process's). */
  uid?: number;
}

/** An empty configuration (no file). */
export function emptyConf(): RegistriesConf {
  return { aliases: new Map(), registries: [], files: [] };
}

function confError(file: string, why: string): BadInputError {
  return new BadInputError(`${file}: ${why}`, { hint: 'fix the file (containers-registries.conf(5) format)' });
}

function str(v: unknown, file: string, key: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw confError(file, `${key} must be a string`);
  return v;
}

function bool(v: unknown, file: string, key: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw confError(file, `${key} must be true or false`);
  return v;
}

function strings(v: unknown, file: string, key: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw confError(file, `${key} must be an array of strings`);
  return v as string[];
}

/** A location or prefix as the file gives it, checked: no URL scheme, trailing slashes dropped. */
function location(v: string, file: string, key: string): string {
  const t = v.replace(/\/+$/, '');
  if (!t) throw confError(file, `${key} must not be empty`);
  if (/^https?:\/\//.test(t)) throw confError(file, `${key} ${JSON.stringify(v)}: URL schemes are not supported (write host[:port][/path])`);
  return t;
}

function mirrorMode(v: unknown, file: string): PullFromMirror | undefined {
  const s = str(v, file, 'pull-from-mirror');
  if (s === undefined || s === '') return undefined;
  if (s === 'all' || s === 'digest-only' || s === 'tag-only') return s;
  throw confError(file, `pull-from-mirror must be all, digest-only or tag-only, not ${JSON.stringify(s)}`);
}

function parseRegistry(t: Record<string, unknown>, file: string): RegistryEntry {
  const loc = str(t.location, file, 'location') ?? '';
  const rawPrefix = str(t.prefix, file, 'prefix');
  const prefix = rawPrefix ? location(rawPrefix, file, 'prefix') : loc ? location(loc, file, 'location') : '';
  if (!prefix) throw confError(file, 'a [[registry]] needs a location or a prefix');
  const wildcard = prefix.startsWith('*.');
  if (wildcard && loc) throw confError(file, `[[registry]] prefix ${prefix}: a wildcard prefix takes no location`);
  const byDigest = bool(t['mirror-by-digest-only'], file, 'mirror-by-digest-only');
  const rawMirrors = t.mirror === undefined ? [] : t.mirror;
  if (!Array.isArray(rawMirrors)) throw confError(file, '[[registry.mirror]] must be an array of tables');
  const mirrors = rawMirrors.map((m: Record<string, unknown>) => ({
    location: location(str(m.location, file, 'mirror location') ?? '', file, 'mirror location'),
    insecure: bool(m.insecure, file, 'insecure'),
    pullFromMirror: mirrorMode(m['pull-from-mirror'], file) ?? (byDigest ? ('digest-only' as const) : ('all' as const)),
  }));
  return { prefix, location: wildcard ? '' : loc ? location(loc, file, 'location') : prefix, insecure: bool(t.insecure, file, 'insecure'), blocked: bool(t.blocked, file, 'blocked'), mirrors, file };
}

/** Parses one registries.conf file's text (v2 format, or the v1 [registries.*] tables) into a configuration of its own. */
export function parseRegistriesConf(text: string, file: string): RegistriesConf {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new BadInputError(`${file} is not valid TOML: ${(err as Error).message.split('\n')[0]}`, { hint: 'fix the file (containers-registries.conf(5) format)', cause: err });
  }
  const conf = emptyConf();
  conf.files.push(file);
  const search = strings(doc['unqualified-search-registries'], file, 'unqualified-search-registries');
  const v1 = doc.registries as Record<string, { registries?: unknown }> | undefined;
  const v1Search = strings(v1?.search?.registries, file, 'registries.search');
  const v1Insecure = strings(v1?.insecure?.registries, file, 'registries.insecure') ?? [];
  const v1Block = strings(v1?.block?.registries, file, 'registries.block') ?? [];
  const v1Used = v1Search !== undefined || v1Insecure.length > 0 || v1Block.length > 0;
  if (v1Used && (search !== undefined || doc.registry !== undefined)) throw confError(file, 'mixing the v1 [registries.*] tables with v2 keys is not supported');
  const list = search ?? v1Search;
  if (list) {
    for (const r of list) {
      const host = location(r, file, 'unqualified-search-registries entry');
      if (host.includes('/') || !/^[A-Za-z0-9.-]+(:\d+)?$/.test(host)) throw confError(file, `unqualified-search-registries entry ${JSON.stringify(r)} is not a host[:port]`);
    }
    conf.search = list.map((r) => location(r, file, 'unqualified-search-registries entry'));
    conf.searchFile = file;
  }
  const mode = str(doc['short-name-mode'], file, 'short-name-mode');
  if (mode !== undefined && mode !== '') {
    if (mode !== 'enforcing' && mode !== 'permissive' && mode !== 'disabled') throw confError(file, `short-name-mode must be enforcing, permissive or disabled, not ${JSON.stringify(mode)}`);
    conf.shortNameMode = mode;
  }
  if (doc.registry !== undefined) {
    if (!Array.isArray(doc.registry)) throw confError(file, 'registry must be an array of tables ([[registry]])');
    for (const t of doc.registry as Record<string, unknown>[]) mergeEntry(conf.registries, parseRegistry(t, file));
  }
  for (const loc of [...v1Block, ...v1Insecure]) {
    const l = location(loc, file, 'registries entry');
    if (!conf.registries.some((r) => r.prefix === l)) conf.registries.push({ prefix: l, location: l, insecure: false, blocked: false, mirrors: [], file });
  }
  for (const r of conf.registries) {
    if (v1Block.includes(r.prefix)) r.blocked = true;
    if (v1Insecure.includes(r.prefix)) r.insecure = true;
  }
  const aliases = doc.aliases;
  if (aliases !== undefined) {
    if (typeof aliases !== 'object' || aliases === null || Array.isArray(aliases)) throw confError(file, '[aliases] must be a table');
    for (const [name, value] of Object.entries(aliases)) {
      if (typeof value !== 'string') throw confError(file, `alias ${name} must be a string`);
      conf.aliases.set(checkShortName(name, file), { value: value === '' ? null : checkAliasValue(value, file), file });
    }
  }
  return conf;
}

/** An alias's name: a short name (no registry, tag or digest). */
function checkShortName(name: string, file: string): string {
  let p;
  try {
    p = splitName(name);
  } catch {
    throw confError(file, `alias name ${JSON.stringify(name)} is not an image name`);
  }
  if (p.host || p.tag || p.digest) throw confError(file, `alias name ${JSON.stringify(name)} must be a short name (no registry, tag or digest)`);
  return name;
}

/** An alias's value: a registry-qualified repository without tag or digest, Docker Hub's spelled docker.io/library/NAME. */
function checkAliasValue(value: string, file: string): string {
  let p;
  try {
    p = splitName(value);
  } catch {
    throw confError(file, `alias value ${JSON.stringify(value)} is not an image name`);
  }
  if (!p.host) throw confError(file, `alias value ${JSON.stringify(value)} must name its registry (host/repository)`);
  if (p.tag || p.digest) throw confError(file, `alias value ${JSON.stringify(value)} must not have a tag or digest`);
  const host = p.host === 'index.docker.io' || p.host === 'registry-1.docker.io' ? 'docker.io' : p.host;
  return host === 'docker.io' && !p.path.includes('/') ? `docker.io/library/${p.path}` : `${host}/${p.path}`;
}

/** Replaces the entry of the same prefix, else appends. */
function mergeEntry(list: RegistryEntry[], e: RegistryEntry): void {
  const i = list.findIndex((r) => r.prefix === e.prefix);
  if (i >= 0) list[i] = e;
  else list.push(e);
}

/** Merges over into base (a later file over an earlier one), in place; returns base. */
export function mergeConf(base: RegistriesConf, over: RegistriesConf): RegistriesConf {
  if (over.search !== undefined) {
    base.search = over.search;
    base.searchFile = over.searchFile;
  }
  if (over.shortNameMode !== undefined) base.shortNameMode = over.shortNameMode;
  for (const e of over.registries) mergeEntry(base.registries, e);
  for (const [k, v] of over.aliases) base.aliases.set(k, v);
  base.files.push(...over.files);
  return base;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The *.conf files of a drop-in directory, in name order (none when it is missing). */
function dropIns(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.conf'))
      .sort()
      .map((n) => path.join(dir, n))
      .filter(isFile);
  } catch {
    return [];
  }
}

/**
 * The files to read, in order: $CONTAINERS_REGISTRIES_CONF (which must exist), else the user's
 * ~/.config/containers/registries.conf (whose presence also drops the system drop-ins), else the system's;
 * then the drop-in directories; then the short-name alias caches.
 */
export function confFiles(places: ConfPlaces = {}): { main?: string; dropIns: string[]; aliasCaches: string[] } {
  const env = places.env ?? process.env;
  const home = places.home ?? env.HOME ?? os.homedir();
  const etc = places.etc ?? '/etc/containers';
  const userFile = path.join(home, '.config/containers/registries.conf');
  const userDir = path.join(home, '.config/containers/registries.conf.d');
  const explicit = env.CONTAINERS_REGISTRIES_CONF;
  let main: string | undefined;
  let dirs: string[];
  if (explicit) {
    if (!isFile(explicit)) throw new NotFoundError(`CONTAINERS_REGISTRIES_CONF names ${explicit}, which is not a file`, { hint: 'point it at a registries.conf file, or unset it' });
    main = explicit;
    dirs = [path.join(etc, 'registries.conf.d'), userDir];
  } else if (isFile(userFile)) {
    main = userFile;
    dirs = [userDir];
  } else {
    const sys = path.join(etc, 'registries.conf');
    main = isFile(sys) ? sys : undefined;
    dirs = [path.join(etc, 'registries.conf.d'), userDir];
  }
  const cache = path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'containers/short-name-aliases.conf');
  const uid = places.uid ?? process.getuid?.() ?? -1;
  const aliasCaches = [...(uid === 0 ? ['/var/cache/containers/short-name-aliases.conf'] : []), cache].filter(isFile);
  return { main, dropIns: dirs.flatMap(dropIns), aliasCaches: [...new Set(aliasCaches)] };
}

/** Reads and merges the registries.conf files (confFiles); an empty configuration when there are none. */
export function loadRegistriesConf(places: ConfPlaces = {}): RegistriesConf {
  const { main, dropIns: extra, aliasCaches } = confFiles(places);
  const conf = emptyConf();
  for (const f of [...(main ? [main] : []), ...extra]) mergeConf(conf, parseRegistriesConf(readFileSync(f, 'utf8'), f));
  // The alias cache holds only [aliases]; it takes precedence over every registries.conf.
  for (const f of aliasCaches) {
    const c = parseRegistriesConf(readFileSync(f, 'utf8'), f);
    for (const [k, v] of c.aliases) conf.aliases.set(k, v);
    conf.files.push(f);
  }
  return conf;
}

/** Docker Hub's search default: used when no file sets unqualified-search-registries (an explicit [] means none). */
export const DEFAULT_SEARCH = ['docker.io'];

/** The registries a short name is searched in, in order. */
export function searchRegistries(conf: RegistriesConf): string[] {
  return conf.search ?? DEFAULT_SEARCH;
}

/** True when ref (a name `host/repo…` without transport) is under prefix: equal, or followed by `/`, `:` or `@`; `*.domain` matches the hosts of that domain. */
export function matchesPrefix(ref: string, prefix: string): boolean {
  if (prefix.startsWith('*.')) {
    const host = ref.split('/')[0].replace(/:\d+$/, '');
    return host.endsWith(prefix.slice(1));
  }
  if (ref.length < prefix.length || !ref.startsWith(prefix)) return false;
  return ref.length === prefix.length || '/:@'.includes(ref[prefix.length]);
}

/** The [[registry]] with the longest prefix matching name (`host/repo`, no tag), if any. */
export function findRegistry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  let bestLen = -Infinity;
  for (const r of conf.registries) {
    // An exact prefix beats a wildcard; among wildcards, the longest domain.
    const len = r.prefix.startsWith('*.') ? r.prefix.length - 1000 : r.prefix.length;
    if (matchesPrefix(name, r.prefix) && len > bestLen) {
      best = r;
      bestLen = len;
    }
  }
  return best;
}
