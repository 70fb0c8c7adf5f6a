import { readFile } from 'node:fs/promises';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { splitName } from '../oci/reference.js';
import type { RegistryOptions } from '../transport/transports.js';

/*
 * skopeo sync's YAML source: registry → { images: {repo: [tags]}, images-by-tag-regex: {repo: regex},
 * credentials: {username, password}, tls-verify, cert-dir }. An empty tag list means every tag.
 */

/** One repository to sync: where it is, which tags (undefined: all), a tag regex, and the registry's options. */
export interface SyncRepo {
  registry: string;
  repository: string;
  tags?: string[];
  tagRegex?: string;
  options: RegistryOptions;
}

function yamlError(file: string, why: string): BadInputError {
  return new BadInputError(`${file}: ${why}`, { hint: 'see skopeo-sync(1) for the YAML format: REGISTRY: {images: {REPO: [TAG…]}, images-by-tag-regex: {REPO: REGEX}}' });
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The registry settings of a YAML registry entry over the command line's. */
function registryOptions(e: Record<string, unknown>, base: RegistryOptions, file: string, reg: string): RegistryOptions {
  const o: RegistryOptions = { ...base };
  if (e['tls-verify'] !== undefined) {
    if (typeof e['tls-verify'] !== 'boolean') throw yamlError(file, `${reg}: tls-verify must be true or false`);
    o.tlsVerify = e['tls-verify'];
  }
  if (e['cert-dir'] !== undefined) {
    if (typeof e['cert-dir'] !== 'string') throw yamlError(file, `${reg}: cert-dir must be a path`);
    o.certDir = e['cert-dir'];
  }
  const c = e.credentials;
  if (c !== undefined) {
    if (!isMap(c) || typeof c.username !== 'string' || typeof c.password !== 'string') throw yamlError(file, `${reg}: credentials must have a username and a password`);
    o.creds = `${c.username}:${c.password}`;
  }
  return o;
}

/** Parses a sync YAML document (text) into repositories, with base as the registry options a registry does not set. */
export async function parseSyncYaml(text: string, file: string, base: RegistryOptions = {}): Promise<SyncRepo[]> {
  const { parse } = await import('yaml');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw yamlError(file, `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isMap(doc)) throw yamlError(file, 'the document must map registries to their images');
  const out: SyncRepo[] = [];
  for (const [reg, entry] of Object.entries(doc)) {
    if (!isMap(entry)) throw yamlError(file, `${reg}: must be a mapping (images, images-by-tag-regex, credentials, tls-verify, cert-dir)`);
    for (const k of Object.keys(entry)) {
      if (k === 'images-by-semver') throw yamlError(file, `${reg}: images-by-semver is not supported by cairn (use images-by-tag-regex)`);
      if (!['images', 'images-by-tag-regex', 'credentials', 'tls-verify', 'cert-dir'].includes(k)) throw yamlError(file, `${reg}: unknown key ${k}`);
    }
    const options = registryOptions(entry, base, file, reg);
    const repo = (name: string): string => {
      try {
        const p = splitName(`${reg}/${name}`);
        if (p.tag || p.digest) throw new Error('tagged');
      } catch {
        throw yamlError(file, `${reg}: ${JSON.stringify(name)} is not a repository name (tags go in its list)`);
      }
      return name;
    };
    const images = entry.images ?? {};
    if (!isMap(images)) throw yamlError(file, `${reg}: images must map repositories to tag lists`);
    for (const [name, tags] of Object.entries(images)) {
      if (tags !== null && (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string'))) throw yamlError(file, `${reg}: the tags of ${name} must be a list of strings`);
      out.push({ registry: reg, repository: repo(name), tags: tags?.length ? (tags as string[]) : undefined, options });
    }
    const byRegex = entry['images-by-tag-regex'] ?? {};
    if (!isMap(byRegex)) throw yamlError(file, `${reg}: images-by-tag-regex must map repositories to regular expressions`);
    for (const [name, re] of Object.entries(byRegex)) {
      if (typeof re !== 'string') throw yamlError(file, `${reg}: the tag regex of ${name} must be a string`);
      out.push({ registry: reg, repository: repo(name), tagRegex: re, options });
    }
  }
  return out;
}

/** Reads a sync YAML file (parseSyncYaml). */
export async function readSyncYaml(file: string, base: RegistryOptions = {}): Promise<SyncRepo[]> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new NotFoundError(`sync YAML file ${file} does not exist`, { hint: 'give the path of a YAML file (skopeo-sync(1) format)' }) : err;
  });
  return parseSyncYaml(text, file, base);
}
