import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { BadInputError } from '../core/errors.js';
import { isMissing } from '../core/fsutil.js';
import { realHome } from '../core/config-dir.js';
import { policyScopes, type RegistryRef } from './reference.js';

/*
 * containers-registries.d(5): YAML files that say where a registry's OpenPGP simple signatures live (the
 * "lookaside" storage). One directory is read: --registries.d DIR, else ~/.config/containers/registries.d when
 * it exists, else /etc/containers/registries.d. Every *.yaml file in it is merged; a namespace (or
 * default-docker) configured in two files is an error, as in containers/image. For an image, the most specific
 * namespace that matches and names a URL gives it, else default-docker, else the built-in default.
 */

/** The system's registries.d. */
export const SYSTEM_REGISTRIES_D = '/etc/containers/registries.d';

/** One configuration section: the lookaside URLs (the old names sigstore/sigstore-staging are read too). */
export interface LookasideSection {
  lookaside?: string;
  lookasideStaging?: string;
  useSigstoreAttachments?: boolean;
}

/** The merged configuration of a registries.d directory. */
export interface RegistriesD {
  /** Where it was read from (for messages). */
  dir: string;
  defaultDocker?: LookasideSection;
  docker: Map<string, LookasideSection>;
}

function bad(file: string, why: string): BadInputError {
  return new BadInputError(`registries.d file ${file}: ${why}`, { hint: 'fix the file (containers-registries.d(5) format)' });
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function section(v: unknown, file: string, where: string): LookasideSection {
  if (v === null || v === undefined) return {};
  if (!isMap(v)) throw bad(file, `${where} is not a mapping`);
  const s: LookasideSection = {};
  const url = (k: string): string | undefined => {
    const x = v[k];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'string') throw bad(file, `${where}.${k} is not a string`);
    return x;
  };
  const [lookaside, old] = [url('lookaside'), url('sigstore')];
  const [staging, oldStaging] = [url('lookaside-staging'), url('sigstore-staging')];
  if (lookaside !== undefined && old !== undefined) throw bad(file, `${where} has both lookaside and sigstore (the old name of lookaside)`);
  if (staging !== undefined && oldStaging !== undefined) throw bad(file, `${where} has both lookaside-staging and sigstore-staging`);
  if ((lookaside ?? old) !== undefined) s.lookaside = lookaside ?? old;
  if ((staging ?? oldStaging) !== undefined) s.lookasideStaging = staging ?? oldStaging;
  const attach = v['use-sigstore-attachments'];
  if (attach !== undefined && attach !== null) {
    if (typeof attach !== 'boolean') throw bad(file, `${where}.use-sigstore-attachments is not true or false`);
    s.useSigstoreAttachments = attach;
  }
  return s;
}

/** Merges one file's parsed YAML into cfg (pure; file names it in errors). */
export function mergeRegistriesFile(cfg: RegistriesD, doc: unknown, file: string): void {
  if (doc === null || doc === undefined) return;
  if (!isMap(doc)) throw bad(file, 'is not a YAML mapping');
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'default-docker') {
      if (cfg.defaultDocker) throw bad(file, 'default-docker is configured in more than one file');
      cfg.defaultDocker = section(v, file, k);
    } else if (k === 'docker') {
      if (v === null) continue;
      if (!isMap(v)) throw bad(file, 'docker is not a mapping of namespaces');
      for (const [ns, sv] of Object.entries(v)) {
        if (cfg.docker.has(ns)) throw bad(file, `namespace ${ns} is configured in more than one place`);
        cfg.docker.set(ns, section(sv, file, `docker.${ns}`));
      }
    }
    // Other top-level keys (other transports) are not cairn's to judge.
  }
}

/** The registries.d directory that applies: the explicit one, else the user's when it exists, else the system's. */
export function registriesDir(explicit?: string): string {
  if (explicit !== undefined) return path.resolve(explicit);
  const user = path.join(realHome(), '.config/containers/registries.d');
  return existsSync(user) ? user : SYSTEM_REGISTRIES_D;
}

/** Reads and merges every *.yaml file of dir (a missing dir is an empty configuration); loads the YAML parser only here. */
export async function loadRegistriesD(dir: string): Promise<RegistriesD> {
  const cfg: RegistriesD = { dir, docker: new Map() };
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.yaml')).sort();
  } catch (err) {
    if (isMissing(err)) return cfg;
    throw new BadInputError(`cannot read registries.d ${dir}: ${(err as Error).message}`, { hint: 'fix its permissions, or give another with --registries.d', cause: err });
  }
  if (names.length === 0) return cfg;
  const { parse } = await import('yaml');
  for (const n of names) {
    const file = path.join(dir, n);
    let doc: unknown;
    try {
      doc = parse(await fsp.readFile(file, 'utf8'), { uniqueKeys: true });
    } catch (err) {
      throw bad(file, `is not valid YAML (${(err as Error).message.split('\n')[0]})`);
    }
    mergeRegistriesFile(cfg, doc, file);
  }
  return cfg;
}

/** The URL of a section for reading or (staging first) writing, if it names one. */
function sectionUrl(s: LookasideSection | undefined, write: boolean): string | undefined {
  return (write ? (s?.lookasideStaging ?? s?.lookaside) : s?.lookaside) || undefined;
}

/**
 * The configured lookaside for ref: the first namespace that matches and names one, most specific first
 * (host/repo:tag … host, *.domain), else default-docker's; undefined when none does.
 */
export function configuredLookaside(cfg: RegistriesD, ref: RegistryRef, write: boolean): string | undefined {
  for (const scope of policyScopes(ref)) {
    const url = sectionUrl(cfg.docker.get(scope), write);
    if (url) return url;
  }
  return sectionUrl(cfg.defaultDocker, write);
}

/** The default lookaside when none is configured: /var/lib/containers/sigstore for root, ~/.local/share/containers/sigstore otherwise. */
export function defaultLookaside(euid = process.geteuid?.() ?? 0, home = realHome()): string {
  return euid === 0 ? 'file:///var/lib/containers/sigstore' : `file://${path.join(home, '.local/share/containers/sigstore')}`;
}

/** The lookaside base URL for ref (for writing the staging one first), else the built-in default. */
export function lookasideBase(cfg: RegistriesD, ref: RegistryRef, write: boolean): string {
  return configuredLookaside(cfg, ref, write) ?? defaultLookaside();
}

/** The URL of signature number n (from 1) of the manifest digest: `BASE/REPO@sha256=HEX/signature-N`. */
export function lookasideUrl(base: string, ref: RegistryRef, digest: string, n: number): string {
  const u = new URL(base);
  const [algo, hex] = digest.split(':');
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/${ref.repository}@${algo}=${hex}/signature-${n}`;
  return u.href;
}
