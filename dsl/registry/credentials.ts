import path from 'node:path';
import { BadInputError, CairnError, NotFoundError } from '../core/errors.js';
import { realHome } from '../core/config-dir.js';
import { readSmallFile } from '../core/regular-file.js';
import { DOCKER_HUB } from './reference.js';

/*
 * Where registry credentials come from (containers-auth.json(5), docker's config.json): --creds, else the
 * --authfile (or $REGISTRY_AUTH_FILE) alone, else the first of ${XDG_RUNTIME_DIR}/containers/auth.json,
 * ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json and ${DOCKER_CONFIG:-~/.docker}/config.json that knows the
 * registry. In a file, a credHelpers entry for the registry wins, then credsStore, then the auths entry whose
 * key is the most specific for the repository (`host`, `host/ns`, `host/ns/repo`).
 */

/** A user name and password for a registry (or an OAuth identity token), and where they were found (for messages). */
export interface Credentials {
  username: string;
  password: string;
  /** An OAuth refresh token (`identitytoken` of an auth file, a helper's `<token>` user), traded for bearer tokens. */
  identityToken?: string;
  source: string;
}

/** What the user gave: `--creds USER:PASS` and `--authfile FILE`. */
export interface CredentialOptions {
  creds?: string;
  authfile?: string;
}

/** What an auth file says of a registry: credentials, or a helper program to ask. */
export type AuthFileAnswer = { username: string; password: string; identityToken?: string } | { helper: string } | undefined;

/** Parses `--creds USER:PASS` (the password may hold ':'). */
export function parseCreds(s: string): { username: string; password: string } {
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1) throw new BadInputError('--creds must be USER:PASS, both non-empty', { hint: 'write --creds alice:secret (a password may contain ":")' });
  return { username: s.slice(0, i), password: s.slice(i + 1) };
}

/**
 * The primary (read/write) auth file: ${XDG_RUNTIME_DIR}/containers/auth.json, else /run/containers/UID/auth.json
 * (containers/image's place when XDG_RUNTIME_DIR is unset, root's being /run/containers/0). UID is the real user's,
 * also inside cairn's rootless namespace.
 */
export function primaryAuthFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR)) return path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  const outer = env.CAIRN_ROOTLESS_UID;
  const uid = outer && /^\d+$/.test(outer) ? Number(outer) : (process.getuid?.() ?? 0);
  return `/run/containers/${uid}/auth.json`;
}

/** The auth files read, in order: the explicit one alone, or the default places. */
export function authFilePaths(o: CredentialOptions, env: NodeJS.ProcessEnv = process.env): { files: string[]; explicit: boolean } {
  const named = o.authfile ?? (env.REGISTRY_AUTH_FILE || undefined);
  if (named !== undefined) return { files: [path.resolve(named)], explicit: true };
  const home = realHome();
  const files: string[] = [primaryAuthFile(env)];
  const config = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  files.push(path.join(config, 'containers', 'auth.json'));
  files.push(path.join(env.DOCKER_CONFIG && path.isAbsolute(env.DOCKER_CONFIG) ? env.DOCKER_CONFIG : path.join(home, '.docker'), 'config.json'));
  return { files, explicit: false };
}

/** An auth file key as a plain `host[/path]`: no scheme, no `/v1/`, Docker Hub's aliases as docker.io. */
export function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^https?:\/\//, '').replace(/\/+$/, '');
  k = k.replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  const host = slash < 0 ? k : k.slice(0, slash);
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === 'registry.hub.docker.com') k = DOCKER_HUB + (slash < 0 ? '' : k.slice(slash));
  return k;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function decodeEntry(v: unknown, where: string): { username: string; password: string; identityToken?: string } | undefined {
  if (!isObject(v)) return undefined;
  // An identity token (docker login to an OAuth registry) is traded for bearer tokens; the user name beside it is for show.
  const token = typeof v.identitytoken === 'string' && v.identitytoken !== '' ? { identityToken: v.identitytoken } : {};
  if (typeof v.auth === 'string' && v.auth !== '') {
    const text = Buffer.from(v.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i <= 0) throw new BadInputError(`${where}: its "auth" is not base64 of USER:PASS`, { hint: 'log in again, or fix the file' });
    return { username: text.slice(0, i), password: text.slice(i + 1), ...token };
  }
  if (typeof v.username === 'string' && typeof v.password === 'string' && v.username !== '') return { username: v.username, password: v.password, ...token };
  if (token.identityToken) return { username: '', password: '', ...token };
  return undefined;
}

/**
 * What a parsed auth file says of `registry/repository` (file names it in errors): pure, so that the rules
 * are tested without files.
 */
export function lookupAuthFile(doc: unknown, registry: string, repository: string, file: string): AuthFileAnswer {
  if (!isObject(doc)) throw new BadInputError(`auth file ${file} is not a JSON object`, { hint: 'fix or remove the file' });
  const helpers = isObject(doc.credHelpers) ? doc.credHelpers : {};
  for (const [k, v] of Object.entries(helpers)) if (normalizeAuthKey(k) === registry && typeof v === 'string' && v) return { helper: v };
  if (typeof doc.credsStore === 'string' && doc.credsStore) return { helper: doc.credsStore };
  const auths = isObject(doc.auths) ? doc.auths : {};
  const full = `${registry}/${repository}`;
  let best: { key: string; value: unknown } | undefined;
  for (const [k, v] of Object.entries(auths)) {
    const key = normalizeAuthKey(k);
    if (key !== registry && full !== key && !full.startsWith(key + '/')) continue;
    if (!best || key.length > best.key.length) best = { key, value: v };
  }
  return best ? decodeEntry(best.value, `auth file ${file}, entry ${best.key}`) : undefined;
}

/** The server URL a credential helper knows a registry by (Docker Hub's is its old index URL, as docker stores it). */
export function helperServer(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/**
 * Runs `docker-credential-NAME ACTION` with input on stdin (the docker-credential-helpers protocol); resolves to
 * its trimmed stdout, or to undefined when it says it has nothing for the server ("credentials not found").
 */
export async function runHelper(helper: string, action: 'get' | 'store' | 'erase', input: string): Promise<string | undefined> {
  if (!/^[A-Za-z0-9._-]+$/.test(helper)) throw new BadInputError(`credential helper name ${JSON.stringify(helper)} is not a plain name`, { hint: 'fix credHelpers/credsStore in the auth file' });
  const { runCommand } = await import('../core/spawn.js');
  const program = `docker-credential-${helper}`;
  let r;
  try {
    r = await runCommand(program, [action], { input });
  } catch (err) {
    throw new CairnError(`cannot run credential helper ${program}: ${(err as Error).message}`, { hint: `install ${program}, or remove it from the auth file's credHelpers/credsStore`, cause: err });
  }
  const out = r.stdout.toString().trim();
  if (r.code !== 0) {
    // The helpers' convention for "nothing stored for this server".
    if (/credentials not found/i.test(out + r.stderr)) return undefined;
    throw new CairnError(`credential helper ${program} ${action} failed: ${(r.stderr.trim() || out).split('\n').pop()}`, { hint: action === 'get' ? 'check the helper, or give --creds' : 'check the helper' });
  }
  return out;
}

/** Asks `docker-credential-NAME get` for a registry's credentials; undefined when it has none. */
export async function fromHelper(helper: string, registry: string): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const out = await runHelper(helper, 'get', helperServer(registry));
  if (out === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(out);
  } catch {
    throw new CairnError(`credential helper ${program} did not answer JSON`, { hint: 'check the helper, or give --creds' });
  }
  if (!isObject(v) || typeof v.Username !== 'string' || typeof v.Secret !== 'string') throw new CairnError(`credential helper ${program} answered without Username and Secret`, { hint: 'check the helper, or give --creds' });
  // `<token>` marks an identity token (an OAuth refresh token): the secret is traded for bearer tokens.
  if (v.Username === '<token>') return v.Secret ? { username: '', password: '', identityToken: v.Secret, source: program } : undefined;
  if (v.Username === '') return undefined;
  return { username: v.Username, password: v.Secret, source: program };
}

async function readAuthFile(file: string, explicit: boolean): Promise<unknown | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readSmallFile(file, `auth file ${file}`, 1 << 20);
  } catch (err) {
    if (err instanceof NotFoundError && !explicit) return undefined;
    if (err instanceof NotFoundError) throw new NotFoundError(`auth file ${file} does not exist`, { hint: 'check the path given to --authfile or in REGISTRY_AUTH_FILE' });
    throw err;
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BadInputError(`auth file ${file} is not JSON`, { hint: 'fix or remove the file' });
  }
}

/** The credentials for registry/repository, from --creds or the auth files; undefined when none knows it. */
export async function findCredentials(registry: string, repository: string, o: CredentialOptions, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  if (o.creds !== undefined) return { ...parseCreds(o.creds), source: '--creds' };
  const { files, explicit } = authFilePaths(o, env);
  for (const file of files) {
    const doc = await readAuthFile(file, explicit);
    if (doc === undefined) continue;
    const answer = lookupAuthFile(doc, registry, repository, file);
    if (answer === undefined) continue;
    if ('helper' in answer) {
      const c = await fromHelper(answer.helper, registry);
      if (c) return c;
      continue;
    }
    return { ...answer, source: file };
  }
  return undefined;
}

/** Stores a user name and password for registry with `docker-credential-NAME store`. */
export async function storeInHelper(helper: string, registry: string, c: { username: string; password: string }): Promise<void> {
  await runHelper(helper, 'store', JSON.stringify({ ServerURL: helperServer(registry), Username: c.username, Secret: c.password }));
}

/** Erases registry's credentials with `docker-credential-NAME erase`; false when the helper had none. */
export async function eraseFromHelper(helper: string, registry: string): Promise<boolean> {
  return (await runHelper(helper, 'erase', helperServer(registry))) !== undefined;
}
