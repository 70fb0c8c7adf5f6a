import { checkOptions } from './core/options.js';

/*
 * Logging in to registries and out again, as `podman login`/`logout` do (docs/registry-login.md). The registry
 * client loads only when a call is made.
 */

/** Options of login(): the credentials, the auth file to write, the registry's TLS options, and how to ask for what is missing. */
export interface LoginCallOptions {
  /** The user name (asked for with `ask` when missing). */
  username?: string;
  /** The password (asked for with `ask` when missing). */
  password?: string;
  /** The auth file to write (default $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json). */
  authfile?: string;
  /** Verify the registry's TLS certificate (default true); false also allows plain HTTP. */
  tlsVerify?: boolean;
  /** A directory of *.crt CAs and NAME.cert/NAME.key client pairs for the registry. */
  certDir?: string;
  /** Asks for a value not given (a terminal prompt); without it, a missing user name or password is an error. */
  ask?: (what: 'username' | 'password', suggested?: string) => Promise<string>;
}

/** What login() did: the key it stored under, the user, where (an auth file or `docker-credential-NAME`), and whether stored credentials were only checked. */
export interface LoginResult {
  registry: string;
  username: string;
  storedIn: string;
  reused: boolean;
}

/** Options of logout(): the auth file to edit, and whether to remove every entry. */
export interface LogoutCallOptions {
  authfile?: string;
  all?: boolean;
}

/**
 * Logs in to a registry (`host[:port]`, or `host[:port]/namespace` for credentials of a part of it): the
 * credentials are checked against the registry first and stored only when it accepts them. Given neither user
 * nor password, credentials already stored are checked and kept.
 */
export async function login(registry: string, opts: LoginCallOptions = {}): Promise<LoginResult> {
  checkOptions('login', opts, { username: 'string', password: 'string', authfile: 'string', tlsVerify: 'boolean', certDir: 'string', ask: (v) => (typeof v === 'function' ? undefined : 'must be a function') });
  const { login: run } = await import('./registry/login.js');
  return run(registry, opts);
}

/** Removes a registry's stored credentials (or, with all, every entry of the auth file); returns what was removed and the file. */
export async function logout(registry: string | undefined, opts: LogoutCallOptions = {}): Promise<{ removed: string[]; file: string }> {
  checkOptions('logout', opts, { authfile: 'string', all: 'boolean' });
  const { logout: run } = await import('./registry/login.js');
  return run(registry, opts);
}

/** The user name stored for a registry, as pulls would find it (auth files, credential helpers); an error when there is none. */
export async function loginUser(registry: string, opts: { authfile?: string } = {}): Promise<string> {
  checkOptions('loginUser', opts, { authfile: 'string' });
  const { loginUser: run } = await import('./registry/login.js');
  return run(registry, opts);
}
