import { BadInputError, NotFoundError } from '../core/errors.js';
import { authFileToEdit, helperFor, helperHosts, keyHost, keyPath, loginKey, readAuthDoc, storedUser, withAuthEntry, withoutAllAuths, withoutAuthEntry, writeAuthDoc } from './auth-file.js';
import { RegistryClient } from './client.js';
import { eraseFromHelper, findCredentials, storeInHelper, type Credentials } from './credentials.js';
import { RegistryError } from './errors.js';
import type { TlsOptions } from './tls.js';

/*
 * login and logout, as podman, buildah and skopeo do them: login proves the credentials to the registry (GET
 * /v2/ through its challenge) before anything is written, then stores them in the auth file, or with the
 * credential helper the file names for the host (credHelpers, credsStore); logout removes them again.
 */

/** What login needs: the credentials (asked for when missing and ask is given), the auth file, TLS options. */
export interface LoginOptions extends TlsOptions {
  username?: string;
  password?: string;
  /** The auth file to write (default $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json). */
  authfile?: string;
  /** Asks the user for a value that was not given (a terminal prompt); without it a missing value is an error. */
  ask?: (what: 'username' | 'password', suggested?: string) => Promise<string>;
}

/** What a login did: the key it stored under, the user, where (a file or a helper program), and whether stored credentials were only checked. */
export interface LoginOutcome {
  registry: string;
  username: string;
  storedIn: string;
  reused: boolean;
}

/** True for the error of credentials the registry (or its token server) refused. */
function isRefusal(err: unknown): err is RegistryError {
  return err instanceof RegistryError && (err.status === 401 || err.status === 403);
}

/** Proves credentials to the registry of key; a refusal is one line naming the registry and the status. */
export async function verifyLogin(key: string, creds: Credentials, tls: TlsOptions): Promise<void> {
  const client = await RegistryClient.open({ registry: keyHost(key), repository: keyPath(key) }, tls, { login: creds });
  try {
    await client.checkLogin();
  } catch (err) {
    if (!isRefusal(err)) throw err;
    const e = new RegistryError(`login to ${key} failed: ${err.status === 401 ? '401 unauthorized' : '403 forbidden'} (credentials of ${creds.username || 'an identity token'} not accepted)`, {
      hint: 'check the user name and password; nothing was written',
      cause: err,
    });
    e.status = err.status;
    throw e;
  } finally {
    await client.close();
  }
}

/** The credentials pulls would use for key (an auth file that does not exist holds none). */
async function storedCredentials(key: string, authfile: string | undefined): Promise<Credentials | undefined> {
  try {
    return await findCredentials(keyHost(key), keyPath(key), { authfile });
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Logs in to registry (`host[:port]` or `host[:port]/namespace`): checks the credentials, then stores them. */
export async function login(registry: string, o: LoginOptions): Promise<LoginOutcome> {
  const key = loginKey(registry);
  const host = keyHost(key);
  const file = authFileToEdit(o.authfile);
  const tls: TlsOptions = { tlsVerify: o.tlsVerify, certDir: o.certDir };
  // Read first: a broken file fails before the user is asked anything.
  const { doc } = await readAuthDoc(file);
  const helper = helperFor(doc, host);
  if (helper && key !== host) throw new BadInputError(`credential helper ${helper} keeps credentials per registry, not for namespace ${key}`, { hint: `log in to ${host}, or give --authfile FILE without credHelpers` });
  let { username, password } = o;
  if (username === undefined && password === undefined) {
    // Nothing given: credentials already stored for the registry are checked and kept, when they still work.
    const stored = await storedCredentials(key, o.authfile);
    if (stored) {
      try {
        await verifyLogin(key, stored, tls);
        return { registry: key, username: stored.username, storedIn: stored.source, reused: true };
      } catch (err) {
        if (!isRefusal(err) || !o.ask) throw err;
      }
    }
  }
  const need = async (what: 'username' | 'password', suggested?: string): Promise<string> => {
    if (o.ask) return o.ask(what, suggested);
    throw new BadInputError(`login to ${key} needs a ${what === 'username' ? 'user name' : 'password'}: none was given, and there is no terminal to ask on`, {
      hint: 'give --username USER and the password on stdin with --password-stdin',
    });
  };
  username ??= await need('username', storedUser(doc, key));
  password ??= await need('password');
  if (username === '' || username.includes(':')) throw new BadInputError(`login to ${key}: the user name is empty or holds ':'`, { hint: 'give the user name the registry knows' });
  if (password === '') throw new BadInputError(`login to ${key}: the password is empty`, { hint: 'give the password with --password-stdin or --password' });
  await verifyLogin(key, { username, password, source: 'login' }, tls);
  if (helper) {
    await storeInHelper(helper, host, { username, password });
    return { registry: key, username, storedIn: `docker-credential-${helper}`, reused: false };
  }
  await writeAuthDoc(file, withAuthEntry(doc, key, { username, password }));
  return { registry: key, username, storedIn: file, reused: false };
}

/** What logout removed: the keys (or `*` for all) and the file edited. */
export interface LogoutOutcome {
  removed: string[];
  file: string;
}

/** Removes registry's credentials from the auth file (or its helper); all: every entry of the file and of its credHelpers. */
export async function logout(registry: string | undefined, o: { authfile?: string; all?: boolean }): Promise<LogoutOutcome> {
  const file = authFileToEdit(o.authfile);
  const { doc, exists } = await readAuthDoc(file);
  if (o.all) {
    for (const { host, helper } of helperHosts(doc)) await eraseFromHelper(helper, host);
    if (exists) await writeAuthDoc(file, withoutAllAuths(doc));
    return { removed: ['*'], file };
  }
  if (registry === undefined) throw new BadInputError('logout needs a registry, or --all', { hint: 'cairn logout HOST[:PORT][/NAMESPACE]' });
  const key = loginKey(registry);
  const host = keyHost(key);
  const helper = helperFor(doc, host);
  let removed = helper !== undefined && key === host ? await eraseFromHelper(helper, host) : false;
  const edit = withoutAuthEntry(doc, key);
  if (edit.removed) {
    await writeAuthDoc(file, edit.doc);
    removed = true;
  }
  if (!removed) {
    // Say where the credentials the pulls use come from, when it is a file logout does not edit.
    const elsewhere = o.authfile === undefined ? await findCredentials(host, keyPath(key), {}).catch(() => undefined) : undefined;
    throw new NotFoundError(`not logged into ${key}`, {
      hint: elsewhere ? `the credentials for ${key} come from ${elsewhere.source}: remove them there, or give --authfile` : `${file} has no entry for ${key}`,
    });
  }
  return { removed: [key], file };
}

/** The user name stored for registry (as pulls would find it: the auth files and helpers). */
export async function loginUser(registry: string, o: { authfile?: string }): Promise<string> {
  const key = loginKey(registry);
  const c = await storedCredentials(key, o.authfile);
  if (!c) throw new NotFoundError(`not logged into ${key}`, { hint: `run cairn login ${key}` });
  return c.username || '<token>';
}
