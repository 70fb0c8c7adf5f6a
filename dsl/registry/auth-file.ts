import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { BadInputError, CairnError, NotFoundError } from '../core/errors.js';
import { readSmallFile } from '../core/regular-file.js';
import { normalizeAuthKey, primaryAuthFile } from './credentials.js';

/*
 * Editing an auth file (containers-auth.json(5)) for login and logout: the file is --authfile, else
 * $REGISTRY_AUTH_FILE, else the primary one (credentials.ts). Edits keep every other entry and every key cairn
 * does not know (docker's config.json holds much more than credentials); the file is written whole by
 * temp-file + rename with mode 0600, its directory made 0700 when missing. The edits are pure functions of the
 * parsed document, so that their rules are tested without files.
 */

/** A parsed auth file: a JSON object, kept as read apart from what an edit changes. */
export type AuthDoc = Record<string, unknown>;

/** The largest auth file read (a docker config.json with many entries stays far below). */
const AUTH_FILE_LIMIT = 1 << 20;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The auth file login and logout edit: the explicit one (--authfile, else $REGISTRY_AUTH_FILE), else the primary one. */
export function authFileToEdit(authfile: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const named = authfile ?? (env.REGISTRY_AUTH_FILE || undefined);
  return path.resolve(named ?? primaryAuthFile(env));
}

/**
 * The key a login stores REGISTRY under: `host[:port]` or `host[:port]/namespace…` (a repository-scoped entry),
 * without a scheme, `docker://` or a tag; Docker Hub's aliases as docker.io.
 */
export function loginKey(registry: string): string {
  const text = registry.trim().replace(/^docker:\/\//, '');
  const key = normalizeAuthKey(text);
  const [host, ...rest] = key.split('/');
  const bad = !host || /[\s@]/.test(key) || rest.some((p) => p === '' || p === '.' || p === '..' || p.includes(':'));
  if (bad) throw new BadInputError(`${JSON.stringify(registry)} is not a registry or a namespace of one`, { hint: 'give HOST[:PORT] or HOST[:PORT]/NAMESPACE (no tag or digest)' });
  return key;
}

/** The host[:port] part of a login key. */
export function keyHost(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? key : key.slice(0, i);
}

/** The repository path part of a login key ('' for a whole registry). */
export function keyPath(key: string): string {
  const i = key.indexOf('/');
  return i < 0 ? '' : key.slice(i + 1);
}

/** The credential helper the document sends host's credentials to (credHelpers, then credsStore), if any. */
export function helperFor(doc: AuthDoc, host: string): string | undefined {
  const helpers = isObject(doc.credHelpers) ? doc.credHelpers : {};
  for (const [k, v] of Object.entries(helpers)) if (normalizeAuthKey(k) === host && typeof v === 'string' && v) return v;
  return typeof doc.credsStore === 'string' && doc.credsStore ? doc.credsStore : undefined;
}

/** The user name the document's own entry for key holds (not through a helper), if any. */
export function storedUser(doc: AuthDoc, key: string): string | undefined {
  const auths = isObject(doc.auths) ? doc.auths : {};
  for (const [k, v] of Object.entries(auths)) {
    if (normalizeAuthKey(k) !== key || !isObject(v)) continue;
    if (typeof v.auth === 'string' && v.auth) {
      const text = Buffer.from(v.auth, 'base64').toString('utf8');
      const i = text.indexOf(':');
      if (i > 0) return text.slice(0, i);
    }
    if (typeof v.username === 'string' && v.username) return v.username;
  }
  return undefined;
}

/**
 * The document with key's entry set to `{auth: base64(user:pass)}`: other spellings of the same key
 * (`https://host/v1/`) go, the entry's other fields stay except the credentials it replaces.
 */
export function withAuthEntry(doc: AuthDoc, key: string, c: { username: string; password: string }): AuthDoc {
  const auths = isObject(doc.auths) ? doc.auths : {};
  const out: Record<string, unknown> = {};
  let kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(auths)) {
    if (normalizeAuthKey(k) !== key) out[k] = v;
    else if (isObject(v) && k === key) kept = v;
  }
  const { auth: _a, username: _u, password: _p, identitytoken: _i, registrytoken: _r, ...rest } = kept;
  out[key] = { ...rest, auth: Buffer.from(`${c.username}:${c.password}`).toString('base64') };
  return { ...doc, auths: out };
}

/** The document without key's entry (any spelling of it), and whether there was one. */
export function withoutAuthEntry(doc: AuthDoc, key: string): { doc: AuthDoc; removed: boolean } {
  const auths = isObject(doc.auths) ? doc.auths : {};
  const out: Record<string, unknown> = {};
  let removed = false;
  for (const [k, v] of Object.entries(auths)) {
    if (normalizeAuthKey(k) === key) removed = true;
    else out[k] = v;
  }
  return { doc: removed ? { ...doc, auths: out } : doc, removed };
}

/** The document with no auths entry left (credHelpers and every other key stay). */
export function withoutAllAuths(doc: AuthDoc): AuthDoc {
  return { ...doc, auths: {} };
}

/** The hosts the document names credential helpers for. */
export function helperHosts(doc: AuthDoc): { host: string; helper: string }[] {
  const helpers = isObject(doc.credHelpers) ? doc.credHelpers : {};
  return Object.entries(helpers)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')
    .map(([k, helper]) => ({ host: normalizeAuthKey(k), helper }));
}

/** Reads an auth file for editing: `{}` when it does not exist; an error naming it when it is not a JSON object. */
export async function readAuthDoc(file: string): Promise<{ doc: AuthDoc; exists: boolean }> {
  let bytes: Buffer;
  try {
    bytes = await readSmallFile(file, `auth file ${file}`, AUTH_FILE_LIMIT);
  } catch (err) {
    if (err instanceof NotFoundError) return { doc: {}, exists: false };
    throw err;
  }
  let v: unknown;
  try {
    v = bytes.length === 0 ? {} : JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BadInputError(`auth file ${file} is not JSON`, { hint: 'fix or remove the file' });
  }
  if (!isObject(v)) throw new BadInputError(`auth file ${file} is not a JSON object`, { hint: 'fix or remove the file' });
  return { doc: v, exists: true };
}

/**
 * Writes an auth file whole (temp file + rename, mode 0600), making its directory 0700 when missing. A symlink
 * at file is kept: its target is what is written.
 */
export async function writeAuthDoc(file: string, doc: AuthDoc): Promise<void> {
  const target = await fsp.realpath(file).catch(() => file);
  try {
    await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await writeFileAtomic(target, JSON.stringify(doc, null, '\t') + '\n', { mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    throw new CairnError(`cannot write auth file ${file}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'}`, {
      hint: 'give --authfile FILE, or set XDG_RUNTIME_DIR to a directory of yours (as /run/user/UID)',
      cause: err,
    });
  }
}
