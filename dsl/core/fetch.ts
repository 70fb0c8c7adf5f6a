import type { IncomingMessage } from 'node:http';
import { BadInputError, CairnError } from './errors.js';
import { trustedCAs } from './extra-ca.js';
import { fileSink } from './file-sink.js';

/*
 * cairn's one HTTP client: downloads for `cairn exec URL` and the stream `verify URL` reads. Any dumb http(s)
 * server, untrusted by design, so the only job here is to get the bytes (verified afterwards) and to fail
 * clearly: an HTTP error, a redirect loop, a connection cut short. It is node:http, not fetch: fetch decodes a
 * Content-Encoding it is sent whatever the request asked (the bytes verified would not be the file's), and its
 * first use costs ~65 ms of start-up on every revalidating start (undici is loaded lazily).
 */

/** Redirects followed before giving up (a loop ends here). */
export const MAX_REDIRECTS = 5;
const IDLE_TIMEOUT_MS = 60_000;

/** Validators of a earlier response, for a conditional GET. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

/** How get() asks and words its errors: `named` puts the URL in each message (default); `agent` is the User-Agent. */
interface GetOptions {
  named?: boolean;
  agent?: string;
  /** Extra request headers (Range, If-Range). */
  headers?: Record<string, string>;
  /** Statuses answered to the caller besides 200 and 304 (206 to a Range, 404 for an optional file). */
  statuses?: number[];
}

/** What a download found. */
export type FetchResult = { notModified: true } | { notModified: false; etag?: string; lastModified?: string; size: number };

function request(url: URL, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? Promise.all([import('node:https'), trustedCAs()]) : Promise.all([import('node:http'), undefined]);
    mod.then(([m, ca]) => {
      const req = m.get(url, { headers, ...(ca ? { ca } : {}) }, resolve);
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
    }, reject);
  });
}

function badUrl(url: string): BadInputError {
  return new BadInputError(`${url} is not an http(s) URL`, { hint: 'give a file path, or an http:// or https:// URL' });
}

/**
 * GETs url, following at most MAX_REDIRECTS redirects (http and https only), and answers the final response:
 * a 200, or a 304 to a conditional request. Any other status, a redirect loop or a connection failure is a
 * CairnError naming the URL. The body of the response is the caller's to read (or resume).
 */
async function get(url: string, v: Validators, o: GetOptions = {}): Promise<{ res: IncomingMessage; href: string }> {
  const named = o.named ?? true;
  let at: URL;
  try {
    at = new URL(url);
  } catch {
    throw badUrl(url);
  }
  const headers: Record<string, string> = { 'user-agent': o.agent ?? 'cairn-exec', accept: '*/*' };
  if (v.etag) headers['if-none-match'] = v.etag;
  if (v.lastModified) headers['if-modified-since'] = v.lastModified;
  Object.assign(headers, o.headers);
  for (let hops = 0; ; hops++) {
    if (at.protocol !== 'http:' && at.protocol !== 'https:') throw badUrl(at.href);
    let res: IncomingMessage;
    try {
      res = await request(at, headers);
    } catch (err) {
      throw new CairnError(`cannot fetch${named ? ` ${at.href}` : ''}: ${(err as Error).message}`, { hint: 'check the URL and the network', cause: err });
    }
    const code = res.statusCode ?? 0;
    if (code >= 300 && code < 400 && code !== 304) {
      res.resume();
      const loc = res.headers.location;
      if (!loc) throw new BadInputError(`HTTP ${code}${named ? ` from ${at.href}` : ''} without a Location`, { hint: 'the server is misconfigured; check the URL' });
      if (hops >= MAX_REDIRECTS) {
        throw new BadInputError(`too many redirects${named ? ` fetching ${url}` : ''} (more than ${MAX_REDIRECTS}; a redirect loop?)`, { hint: 'the server redirects in a loop: check the URL' });
      }
      at = new URL(loc, at);
      continue;
    }
    if (code === 304) {
      res.resume();
      if (v.etag || v.lastModified) return { res, href: at.href };
      throw new BadInputError(`HTTP 304${named ? ` from ${at.href}` : ''} to a request that was not conditional`, { hint: 'the server is misconfigured' });
    }
    if (code !== 200 && !o.statuses?.includes(code)) {
      res.resume();
      throw new BadInputError(`HTTP ${code}${res.statusMessage ? ' ' + res.statusMessage : ''}${named ? ` fetching ${at.href}` : ''}`, { hint: code === 404 ? 'check the URL' : 'check the URL and the server' });
    }
    return { res, href: at.href };
  }
}

/**
 * GETs url into dest (created exclusively), following at most MAX_REDIRECTS redirects; with validators, a
 * conditional GET whose 304 answers { notModified: true } and writes nothing.
 */
export async function download(url: string, dest: string, v: Validators = {}): Promise<FetchResult> {
  const { res, href } = await get(url, v);
  if (res.statusCode === 304) return { notModified: true };
  const declared = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  const size = await save(res, dest, href);
  if (declared !== undefined && Number.isFinite(declared) && size !== declared) {
    throw new BadInputError(`the download of ${href} was cut short: ${size} of ${declared} bytes`, { hint: 'try again; if it persists, the server or the network is at fault' });
  }
  const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
  const lastModified = typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : undefined;
  return { notModified: false, etag, lastModified, size };
}

/** Writes the body of a response to dest (created exclusively); its size. Rejects when the connection ends before the body does. */
export function save(res: IncomingMessage, dest: string, href: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = fileSink(dest, { mode: 0o600 });
    let size = 0;
    let failed = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      res.destroy();
      out.destroy();
      reject(err instanceof CairnError ? err : new BadInputError(`the download of ${href} failed: ${err.message}`, { hint: 'try again', cause: err }));
    };
    res.on('data', (c: Buffer) => (size += c.length));
    res.on('aborted', () => fail(new BadInputError(`the download of ${href} was cut short after ${size} bytes`, { hint: 'try again' })));
    res.on('error', fail);
    out.on('error', fail);
    out.on('finish', () => {
      if (!failed) resolve(size);
    });
    res.on('end', () => {
      if (!res.complete) fail(new BadInputError(`the download of ${href} was cut short after ${size} bytes`, { hint: 'try again' }));
    });
    res.pipe(out);
  });
}

/**
 * GETs url for reading as a stream (`cairn verify URL`), following at most MAX_REDIRECTS redirects. Its
 * errors do not name the URL: the caller names what it was asked for.
 */
export async function openUrl(url: string): Promise<IncomingMessage> {
  return (await get(url, {}, { named: false, agent: 'cairn' })).res;
}

/**
 * GETs url with extra headers (a Range, an If-Range), following redirects; answers the final response when its
 * status is 200, 304 (to validators) or one of `statuses`, else throws as download() does. The body is the caller's.
 */
export async function getWith(url: string, headers: Record<string, string>, statuses: number[], v: Validators = {}): Promise<{ res: IncomingMessage; href: string }> {
  return get(url, v, { headers, statuses });
}
