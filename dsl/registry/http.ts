import { rootCertificates } from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { CairnError } from '../core/errors.js';
import type { TlsSettings } from './tls.js';

/*
 * One registry's HTTP connections: an undici Agent with that registry's TLS settings and timeouts, and one
 * request with its redirects followed. Authorization is sent to the origin it was meant for only: a redirect
 * to another host (a blob served by a CDN) goes without it, as the distribution spec's clients do.
 */

// undici parses HTTP with llhttp compiled to WebAssembly. V8 first compiles it quickly (Liftoff), then again,
// optimized, in the background once it runs hot, and Node.js waits for that second compile before it exits:
// ~150 ms added to every verb that spoke to a registry (measured), for parsing that is a small part of a pull.
// Liftoff's code is enough for headers and body framing.
setFlagsFromString('--liftoff-only');

/** Redirects followed for one request before giving up. */
const MAX_REDIRECTS = 5;
/** Connecting (TCP and TLS) may take this long. */
const CONNECT_TIMEOUT_MS = 30_000;
/** The answer's headers must come within this, and the body may stall this long between chunks ($CAIRN_REGISTRY_TIMEOUT_MS: tests shorten it). */
const IDLE_TIMEOUT_MS = positiveMs(process.env.CAIRN_REGISTRY_TIMEOUT_MS) ?? 60_000;

/** How long an answer may keep the client waiting for data (the idle timeout). */
export function idleTimeoutMs(): number {
  return IDLE_TIMEOUT_MS;
}

/** A whole positive number of milliseconds from the environment, else undefined. */
function positiveMs(v: string | undefined): number | undefined {
  return v && /^[1-9]\d*$/.test(v) ? Number(v) : undefined;
}

/** A request as the registry client builds it. */
export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** The Authorization value, sent to url's origin only (never after a redirect elsewhere). */
  authorization?: string;
  body?: Buffer | Readable;
  /** Follow redirects (GET and HEAD; default true). */
  follow?: boolean;
}

/** An answer: status, headers (lower-case names), the body stream, and the URL that gave it (after redirects). */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  url: string;
}

/** The single value of header name (the first when repeated). */
export function header(res: { headers: HttpResponse['headers'] }, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads and discards what is left of a body, so that its connection can be used again (an error is ignored). */
export async function drain(res: HttpResponse): Promise<void> {
  try {
    for await (const _ of res.body) void _;
  } catch {
    // The connection is gone: nothing to reuse.
  }
}

/** Reads a body of at most limit bytes; undefined (the connection dropped) when it has more. */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      res.body.destroy();
      return undefined;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/**
 * Bytes of a response body buffered before the connection is paused. undici's default (64 KiB) pauses and
 * resumes the socket every few packets while a layer streams; a few MiB lets the body run ahead of its consumer.
 */
const BODY_BUFFER = 4 << 20;

/** The HTTP connections to one registry (and the hosts it redirects to), with its TLS settings. */
export class RegistryHttp {
  private readonly agent: Dispatcher;

  constructor(tls: TlsSettings) {
    this.agent = new Agent({
      connect: {
        rejectUnauthorized: tls.verify,
        // Node's `ca` replaces the system's CAs: the directory's are added to them. Unverified, no CA is read
        // (parsing the system's costs a first connection tens of ms, also for the https attempt before http).
        ...(!tls.verify ? { ca: [] } : tls.ca.length ? { ca: [...rootCertificates, ...tls.ca] } : {}),
        ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      },
      connectTimeout: CONNECT_TIMEOUT_MS,
      headersTimeout: IDLE_TIMEOUT_MS,
      bodyTimeout: IDLE_TIMEOUT_MS,
      connections: 8,
    });
  }

  /** Sends req, following redirects of GET and HEAD; throws the network's error as it is (the caller words it). */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const origin = new URL(req.url).origin;
    let url = req.url;
    for (let hops = 0; ; hops++) {
      const here = new URL(url);
      const headers: Record<string, string> = { 'user-agent': 'cairn', ...req.headers };
      if (req.authorization && here.origin === origin) headers.authorization = req.authorization;
      const r = await this.agent.request({ origin: here.origin, path: here.pathname + here.search, method: req.method, headers, body: req.body, highWaterMark: BODY_BUFFER });
      const res: HttpResponse = { status: r.statusCode, headers: r.headers, body: r.body, url };
      const location = header(res, 'location');
      const redirect = [301, 302, 303, 307, 308].includes(res.status) && location !== undefined;
      if (!redirect || req.follow === false || (req.method !== 'GET' && req.method !== 'HEAD')) return res;
      await drain(res);
      if (hops >= MAX_REDIRECTS) throw new CairnError(`${req.url}: more than ${MAX_REDIRECTS} redirects`, { hint: 'the registry redirects in a loop' });
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new CairnError(`${req.url} redirects to ${next.protocol} URL`, { hint: 'the registry is misconfigured' });
      url = next.href;
    }
  }

  /** Closes the connections (waits for none). */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}
