import { parseChallenges, type Challenge } from './challenge.js';
import type { Credentials } from './credentials.js';
import { RegistryError } from './errors.js';

/*
 * Authorization for one registry: anonymous, Basic (when the registry challenges with Basic and there are
 * credentials), or a Bearer token from the realm the challenge names (the distribution token protocol:
 * GET realm?service=…&scope=…, with Basic credentials when there are some; with an OAuth identity token,
 * POST grant_type=refresh_token to the realm instead, and the GET when the realm answers 404 to the POST, as
 * docker does). Tokens are kept per scope until they expire: an expired one is renewed before the next request
 * needing it, and a 401 to a request that carried one gets a fresh token once.
 */

/**
 * What the authenticator needs from the client: a token request sent (retried) over the registry's connections,
 * a GET, or a POST of the form (application/x-www-form-urlencoded) when one is given.
 */
export type TokenFetch = (url: string, authorization: string | undefined, form?: string) => Promise<{ status: number; body: Buffer }>;

/** The client_id cairn names itself by in OAuth token requests. */
const CLIENT_ID = 'cairn';

/** A token kept for a scope, and when it stops being good (ms since 1970). */
interface Token {
  value: string;
  expires: number;
}

/** A token is taken as expired this long (at most half its life) before the registry says, so a request never carries a dying one. */
const EXPIRY_MARGIN_MS = 10_000;
/** A token without expires_in is good for 60 s (the token spec's default). */
const DEFAULT_LIFETIME_S = 60;

/** The scope a pull of repository needs. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** The scope a push to repository needs, with pull on the repository blobs are mounted from, if any. */
export function pushScope(repository: string, mountFrom?: string): string {
  return `repository:${repository}:pull,push` + (mountFrom && mountFrom !== repository ? ` repository:${mountFrom}:pull` : '');
}

/** The value of an Authorization: Basic header. */
export function basicAuth(c: { username: string; password: string }): string {
  return 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');
}

/** True when c can be sent as Basic credentials (an identity token alone cannot). */
function hasBasic(c: Credentials | undefined): c is Credentials {
  return c !== undefined && c.username !== '';
}

/** The token of a token server's JSON answer (`token` or `access_token`) and its lifetime in seconds. */
export function parseTokenAnswer(body: Buffer): { token: string; expiresIn: number } | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const token = typeof v.token === 'string' && v.token ? v.token : typeof v.access_token === 'string' && v.access_token ? v.access_token : undefined;
    if (!token) return undefined;
    const expiresIn = typeof v.expires_in === 'number' && v.expires_in > 0 ? v.expires_in : DEFAULT_LIFETIME_S;
    return { token, expiresIn };
  } catch {
    return undefined;
  }
}

/** The authorization state of one registry. */
export class Authenticator {
  private challenge?: Challenge;
  private readonly tokens = new Map<string, Token>();
  private readonly refreshing = new Map<string, Promise<void>>();

  private credentials?: Credentials;
  private loaded?: Promise<void>;

  constructor(
    private readonly host: string,
    /** Finds the credentials (--creds, auth files, helpers): asked once, and only when the registry challenges. */
    private readonly findCredentials: () => Promise<Credentials | undefined>,
    private readonly fetchToken: TokenFetch,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when credentials were given or found (for the wording of a refusal). */
  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  private async load(): Promise<void> {
    this.loaded ??= this.findCredentials().then((c) => {
      this.credentials = c;
    });
    await this.loaded;
  }

  /** The Authorization value for a request needing scope, if any is known yet. */
  header(scope: string): string | undefined {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') return hasBasic(this.credentials) ? basicAuth(this.credentials) : undefined;
    const t = this.tokens.get(scope);
    return t && t.expires > this.now() ? `Bearer ${t.value}` : undefined;
  }

  /**
   * Renews scope's token when it has expired, before a request that would carry it (rather than sending the
   * request without one to get a 401 first). Nothing happens for a scope that never had a token.
   */
  async ensure(scope: string): Promise<void> {
    const c = this.challenge;
    if (!c || c.scheme !== 'bearer') return;
    const t = this.tokens.get(scope);
    if (!t || t.expires > this.now()) return;
    await this.shared(c, scope);
  }

  /** One token request for scope at a time: requests refused (or expiring) together share it. */
  private shared(c: Challenge, scope: string): Promise<void> {
    let pending = this.refreshing.get(scope);
    if (!pending) {
      // The registry may name the scope it wants (insufficient_scope); the token is kept under ours.
      pending = this.refresh(c, c.params.scope || scope, scope).finally(() => this.refreshing.delete(scope));
      this.refreshing.set(scope, pending);
    }
    return pending;
  }

  /** Learns the registry's challenge (from GET /v2/) and finds the credentials it may need; no token is fetched yet. */
  async learn(wwwAuthenticate: string | undefined): Promise<void> {
    const c = pick(wwwAuthenticate);
    if (!c) return;
    this.challenge = c;
    await this.load();
  }

  /**
   * Answers a 401 (its WWW-Authenticate) for a request needing scope: true when there is something new to try
   * (Basic credentials, a fresh token), false when the request cannot be authorized.
   */
  async answer(wwwAuthenticate: string | undefined, scope: string): Promise<boolean> {
    const c = pick(wwwAuthenticate) ?? this.challenge;
    if (!c) return false;
    await this.load();
    const first = this.challenge === undefined || this.challenge.scheme !== c.scheme;
    this.challenge = c;
    if (c.scheme === 'basic') return first && hasBasic(this.credentials);
    if (c.scheme !== 'bearer') return false;
    await this.shared(c, scope);
    return true;
  }

  /** Fetches a token for scope from the challenge's realm and keeps it under key. */
  private async refresh(c: Challenge, scope: string, key: string): Promise<void> {
    const realm = c.params.realm;
    if (!realm) throw new RegistryError(`${this.host} asks for a bearer token but names no realm`, { hint: 'the registry is misconfigured' });
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`${this.host} names a token realm that is not a URL: ${realm}`, { hint: 'the registry is misconfigured' });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RegistryError(`${this.host} names a token realm that is not http(s): ${realm}`, { hint: 'the registry is misconfigured' });
    const scopes = scope.split(' ').filter(Boolean);
    const creds = this.credentials;
    let r: { status: number; body: Buffer } | undefined;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: CLIENT_ID });
      if (c.params.service) form.set('service', c.params.service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      r = await this.fetchToken(url.href, undefined, form.toString());
      // A token server without the OAuth endpoint: the plain GET below, as docker falls back.
      if (r.status === 404) r = undefined;
    }
    if (!r) {
      if (c.params.service) url.searchParams.set('service', c.params.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      if (hasBasic(creds)) url.searchParams.set('account', creds.username);
      r = await this.fetchToken(url.href, hasBasic(creds) ? basicAuth(creds) : undefined);
    }
    if (r.status === 401 || r.status === 403) {
      const e = new RegistryError(`the token server of ${this.host} refused ${creds ? `the credentials from ${creds.source}` : 'an anonymous token'} (${r.status})`, {
        hint: creds ? (creds.identityToken ? 'the identity token may have expired: log in again' : 'check the user name and password') : 'give --creds USER:PASS or --authfile FILE',
      });
      e.status = r.status;
      throw e;
    }
    if (r.status !== 200) throw new RegistryError(`the token server of ${this.host} answered HTTP ${r.status}`, { hint: 'try again later' });
    const t = parseTokenAnswer(r.body);
    if (!t) throw new RegistryError(`the token server of ${this.host} answered without a token`, { hint: 'the registry is misconfigured' });
    this.tokens.set(key, { value: t.token, expires: this.now() + t.expiresIn * 1000 - Math.min(EXPIRY_MARGIN_MS, (t.expiresIn * 1000) / 2) });
  }
}

/** The challenge cairn answers among a header's: Bearer first, then Basic. */
function pick(wwwAuthenticate: string | undefined): Challenge | undefined {
  if (!wwwAuthenticate) return undefined;
  const all = parseChallenges(wwwAuthenticate);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}
