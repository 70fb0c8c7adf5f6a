import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { BadInputError } from '../core/errors.js';
import type { Descriptor } from '../oci/types.js';
import type { GetOptions, RegistryClient } from './client.js';
import { digestMismatch, networkError, networkReason } from './errors.js';
import { header, readBody, type HttpResponse } from './http.js';
import { retryableError } from './retry.js';

/*
 * Blobs from a registry. A small one (a config) is read whole and checked; a layer is streamed, its sha256
 * and size checked as the bytes pass. A body cut short (a reset, a timeout, an early end) is resumed from the
 * bytes already passed on with `Range: bytes=N-`; a registry that answers 200 instead of 206 sends the blob
 * again from its start, and the bytes already passed on are skipped, so the consumer sees one clean stream.
 */

/** The blob's path below the API root. */
function blobPath(client: RegistryClient, digest: string): string {
  return `/v2/${client.ref.repository}/blobs/${digest}`;
}

/**
 * GETs a small document (a manifest, a config) and reads its body whole, at most limit bytes (undefined past
 * that): a body cut off or stalled is asked for again as the retry policy allows. check sees each answer
 * before its body is read (and may throw).
 */
export async function getSmall(client: RegistryClient, path: string, o: GetOptions, limit: number, check?: (res: HttpResponse) => void): Promise<{ res: HttpResponse; bytes: Buffer | undefined }> {
  for (let attempt = 0; ; attempt++) {
    const res = await client.get(path, o);
    check?.(res);
    try {
      return { res, bytes: await readBody(res, limit) };
    } catch (err) {
      res.body.destroy();
      const wait = retryableError(err) ? client.retryWait(attempt) : undefined;
      if (wait === undefined) throw networkError(client.host, err);
      await sleep(wait);
    }
  }
}

/** Reads a small blob (a config) whole: at most limit bytes, size and digest checked. */
export async function readBlob(client: RegistryClient, d: Descriptor, what: string, limit: number): Promise<Buffer> {
  if (d.size > limit) throw new BadInputError(`${what} ${d.digest} declares ${d.size} bytes, more than cairn accepts (${limit})`, { hint: 'the image is corrupt or hostile' });
  const { bytes } = await getSmall(client, blobPath(client, d.digest), { what: `${what} ${d.digest}` }, d.size);
  if (!bytes) throw digestMismatch(d.digest, `${what}: more bytes than its descriptor's ${d.size}`);
  if (bytes.length !== d.size || createHash('sha256').update(bytes).digest('hex') !== d.digest.slice(7)) throw digestMismatch(d.digest, what);
  return bytes;
}

/** Where a 206 answer starts (its Content-Range `bytes START-END/TOTAL`), or undefined when unreadable. */
export function rangeStart(contentRange: string | undefined): number | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(contentRange?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Streams a layer blob: the returned stream carries exactly d.size bytes hashing to d.digest, or errors
 * (BadInputError for a mismatch or a blob still short after the retries, the registry's error otherwise).
 * The body's chunks are passed on as they arrive ('data' events, paused while the consumer is full): an async
 * iteration of the body would join every chunk buffered meanwhile into a new buffer, a copy of the whole blob.
 */
export function openBlob(client: RegistryClient, d: Descriptor, what: string): Readable {
  const out = new BlobStream();
  fetchBlob(client, d, what, out).then(
    () => void (out.destroyed || out.push(null)),
    (err: unknown) => out.destroy(err as Error),
  );
  return out;
}

/** The stream openBlob returns: it pauses the answer being read while its consumer is full, and ends it when the consumer leaves. */
class BlobStream extends Readable {
  /** The body of the answer being read. */
  body?: Readable;

  override _read(): void {
    this.body?.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.body?.destroy();
    cb(err);
  }

  /** Passes a chunk of the body on. */
  pass(c: Buffer): void {
    if (!this.push(c)) this.body?.pause();
  }
}

/** Fetches d into out (retrying and resuming), checking size and digest; stops when out's consumer has left. */
async function fetchBlob(client: RegistryClient, d: Descriptor, what: string, out: BlobStream): Promise<void> {
  const hash = createHash('sha256');
  const label = `${what} ${d.digest}`;
  let sent = 0;
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    let res: HttpResponse | undefined;
    try {
      res = await client.get(blobPath(client, d.digest), { what: label, ...(sent > 0 ? { range: `bytes=${sent}-` } : {}), ok: [200, 206] });
      if (out.destroyed) {
        res.body.destroy();
        return;
      }
      // Bytes of this answer that were already passed on (a 200 to a ranged request starts over).
      let skip = 0;
      if (res.status === 206) {
        if (sent === 0 || rangeStart(header(res, 'content-range')) !== sent) throw new BadInputError(`the registry answered ${label} with a range cairn did not ask for`, { hint: 'the registry is misbehaving' });
      } else skip = sent;
      const body = res.body as Readable;
      out.body = body;
      let over: Error | undefined;
      body.on('data', (chunk: Buffer) => {
        let c = chunk;
        if (skip > 0) {
          const n = Math.min(skip, c.length);
          skip -= n;
          c = c.subarray(n);
          if (c.length === 0) return;
        }
        if (sent + c.length > d.size) {
          over ??= digestMismatch(d.digest, `${what}: more bytes than its descriptor's ${d.size}`);
          body.destroy(over);
          return;
        }
        hash.update(c);
        sent += c.length;
        out.pass(c);
      });
      await finished(body);
      if (over) throw over;
      if (sent === d.size) break;
      lastError = new Error(`the answer ended after ${sent} of ${d.size} bytes`);
    } catch (err) {
      res?.body.destroy();
      if (out.destroyed) return;
      // Only a body cut short is resumed here: statuses were already retried by the client.
      if (!retryableError(err) || res === undefined) throw err;
      lastError = err;
    }
    const wait = client.retryWait(attempt);
    if (wait === undefined) {
      throw new BadInputError(`${label} is truncated: the registry sent ${sent} of ${d.size} bytes in ${attempt + 1} tries (${networkReason(lastError)})`, { hint: 'the connection keeps breaking: try again later' });
    }
    await sleep(wait);
  }
  if ('sha256:' + hash.digest('hex') !== d.digest) throw digestMismatch(d.digest, what);
}
