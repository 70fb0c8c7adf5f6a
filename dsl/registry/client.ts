import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Authenticator, pullScope, pushScope } from './auth.js';
import { findCredentials, type CredentialOptions, type Credentials } from './credentials.js';
import { networkError, RegistryError, statusError } from './errors.js';
import { drain, header, readBody, RegistryHttp, type HttpRequest, type HttpResponse } from './http.js';
import { apiHost, type RegistryRef } from './reference.js';
import { retryableError, retryableStatus, retryDelay, retryPolicy, type RetryPolicy } from './retry.js';
import { tlsSettings, type TlsOptions } from './tls.js';

/*
 * A distribution-spec client for one repository: finds the scheme (https; plain http only with
 * --tls-verify=false, as skopeo), learns the registry's challenge from GET /v2/, then sends requests with
 * authorization, bounded retries (network errors, 408/429/5xx, Retry-After honoured) and one re-authorization
 * on a 401. Pulling uses get(); pushing uses request() with the push scope (open(ref, opts, { push: true })).
 */

/** Options of a registry connection, as skopeo's flags: credentials, auth file, TLS verification, certificates. */
export interface ClientOptions extends CredentialOptions, TlsOptions {}

/** How much of an error answer's body is read for its message. */
const ERROR_BODY_LIMIT = 64 << 10;
/** How much of a token server's answer is read. */
const TOKEN_LIMIT = 1 << 20;

/** What a GET is about and which statuses it takes as success. */
export interface GetOptions {
  /** Names the thing in errors: `image docker://…`, `blob sha256:… of docker://…`. */
  what: string;
  accept?: string;
  range?: string;
  /** Statuses returned to the caller (default 200); any other is an error. */
  ok?: number[];
}

/** What a client is opened for: pulling (the default), or pushing, maybe mounting blobs from another repository. */
export interface ClientAccess {
  push?: boolean;
  /** A repository of the same registry blobs may be mounted from (its pull scope is asked too). */
  mountFrom?: string;
  /** Logging in: these credentials (and no others) are checked against the registry's API root, with no scope (checkLogin). */
  login?: Credentials;
}

/** A request of the push side: a path below the API root or an absolute URL (an upload's Location), and the statuses taken as success. */
export interface SendOptions {
  method: HttpRequest['method'];
  url: string;
  headers?: Record<string, string>;
  /** Makes the body (called again when the request is sent again). */
  body?: () => Buffer | Readable;
  /** Names the thing in errors. */
  what: string;
  ok: number[];
}

/** A connection to one repository of one registry. */
export class RegistryClient {
  private base?: string;
  private readonly auth: Authenticator;
  private readonly scope: string;

  private constructor(
    readonly ref: RegistryRef,
    private readonly http: RegistryHttp,
    private readonly insecure: boolean,
    private readonly policy: RetryPolicy,
    opts: ClientOptions,
    access: ClientAccess = {},
  ) {
    const login = access.login;
    // A login asks for a token without a scope (what docker login asks): it proves the credentials, nothing more.
    this.scope = login ? '' : access.push ? pushScope(ref.repository, access.mountFrom) : pullScope(ref.repository);
    const find = login ? async () => login : () => findCredentials(ref.registry, ref.repository, opts);
    this.auth = new Authenticator(ref.registry, find, (url, authorization, form) => this.token(url, authorization, form));
  }

  /** Opens a client for ref's repository (nothing is sent until the first request). */
  static async open(ref: RegistryRef, opts: ClientOptions = {}, access: ClientAccess = {}): Promise<RegistryClient> {
    const tls = await tlsSettings(ref.registry, opts);
    return new RegistryClient(ref, new RegistryHttp(tls), !tls.verify, retryPolicy(), opts, access);
  }

  /** The host the API is served from. */
  get host(): string {
    return apiHost(this.ref.registry);
  }

  /** GETs path (below the API root, `/v2/…`) with authorization and retries; a status outside o.ok is an error. */
  async get(path: string, o: GetOptions): Promise<HttpResponse> {
    const base = await this.ready();
    const headers: Record<string, string> = {};
    if (o.accept) headers.accept = o.accept;
    if (o.range) headers.range = o.range;
    let answered = false;
    for (;;) {
      const res = await this.exchange({ method: 'GET', url: base + path, headers }, this.scope);
      if (res.status === 401 && !answered) {
        answered = true;
        await drain(res);
        if (await this.auth.answer(header(res, 'www-authenticate'), this.scope)) continue;
        throw statusError(401, o.what, undefined, this.auth.hasCredentials);
      }
      if ((o.ok ?? [200]).includes(res.status)) return res;
      const body = await readBody(res, ERROR_BODY_LIMIT).catch(() => undefined);
      throw statusError(res.status, o.what, body, this.auth.hasCredentials);
    }
  }

  /**
   * Sends a request of any method with authorization (sent only to the registry's own origin, never to an upload
   * Location elsewhere) and one re-authorization on a 401. A Buffer body is retried by the policy; a stream body
   * is sent once (the caller starts over). A status outside o.ok is an error.
   */
  async request(o: SendOptions): Promise<HttpResponse> {
    const base = await this.ready();
    const url = new URL(o.url, base + '/').href;
    const own = new URL(url).origin === new URL(base).origin;
    let answered = false;
    for (;;) {
      const body = o.body?.();
      const res = await this.exchange({ method: o.method, url, headers: o.headers, body, follow: false }, own ? this.scope : undefined, !(body && !Buffer.isBuffer(body)));
      if (res.status === 401 && own && !answered) {
        answered = true;
        await drain(res);
        if (await this.auth.answer(header(res, 'www-authenticate'), this.scope)) continue;
        throw statusError(401, o.what, undefined, this.auth.hasCredentials);
      }
      if (o.ok.includes(res.status)) return res;
      const text = o.method === 'HEAD' ? undefined : await readBody(res, ERROR_BODY_LIMIT).catch(() => undefined);
      throw statusError(res.status, o.what, text, this.auth.hasCredentials);
    }
  }

  /**
   * Checks the credentials of a client opened with access.login: GET /v2/ answered through the registry's
   * challenge (Basic, or a bearer token for no scope). A registry that asks for nothing passes; a refusal throws
   * the RegistryError of the 401 (or of the token server).
   */
  async checkLogin(): Promise<void> {
    await this.get('/v2/', { what: `login to ${this.ref.registry}` });
  }

  /** The API root (`https://host` or `http://host`), found by GET /v2/ on first use. */
  async apiRoot(): Promise<string> {
    return this.ready();
  }

  /** Closes the connections. */
  async close(): Promise<void> {
    await this.http.close();
  }

  /** The API root (`https://host`), found once by GET /v2/, which also gives the registry's challenge. */
  private async ready(): Promise<string> {
    if (this.base) return this.base;
    const host = this.host;
    let res: HttpResponse;
    let base = `https://${host}`;
    try {
      // Insecure: one quick https try, then plain http (a plain-HTTP registry resets or garbles a TLS hello).
      res = await this.exchange({ method: 'GET', url: `${base}/v2/` }, undefined, !this.insecure);
    } catch (err) {
      if (!this.insecure) throw err;
      base = `http://${host}`;
      res = await this.exchange({ method: 'GET', url: `${base}/v2/` });
    }
    await drain(res);
    if (res.status === 401) await this.auth.learn(header(res, 'www-authenticate'));
    else if (res.status !== 200) {
      const e = new RegistryError(`${host} does not answer as a container registry (GET /v2/ gave HTTP ${res.status})`, { hint: 'check the registry host and port' });
      e.status = res.status;
      throw e;
    }
    this.base = base;
    return base;
  }

  /** Sends one request, retried by the policy; scope, when given, picks the Authorization. */
  private async exchange(req: HttpRequest, scope?: string, retries = true): Promise<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      // Outside the try: a token server's refusal is its own error, not a network failure of this request.
      if (scope !== undefined) await this.auth.ensure(scope);
      try {
        res = await this.http.send(scope !== undefined ? { ...req, authorization: this.auth.header(scope) } : req);
      } catch (err) {
        const wait = retries && retryableError(err) ? retryDelay(attempt, this.policy) : undefined;
        if (wait === undefined) throw networkError(new URL(req.url).host, err);
        await sleep(wait);
        continue;
      }
      if (retries && retryableStatus(res.status)) {
        const wait = retryDelay(attempt, this.policy, header(res, 'retry-after'));
        if (wait !== undefined) {
          await drain(res);
          await sleep(wait);
          continue;
        }
      }
      return res;
    }
  }

  /** Sends a token request (for the authenticator), retried as any other: a GET, or a POST of an OAuth form. */
  private async token(url: string, authorization: string | undefined, form?: string): Promise<{ status: number; body: Buffer }> {
    const req: HttpRequest = form === undefined ? { method: 'GET', url, authorization } : { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form) };
    const res = await this.exchange(req);
    const body = await readBody(res, TOKEN_LIMIT);
    if (!body) throw new RegistryError(`the token answer of ${new URL(url).host} is larger than ${TOKEN_LIMIT} bytes`, { hint: 'the registry is misbehaving' });
    return { status: res.status, body };
  }

  /** Retries a blob read cut short: the same policy as requests (exposed for the blob reader). */
  retryWait(attempt: number): number | undefined {
    return retryDelay(attempt, this.policy);
  }
}
