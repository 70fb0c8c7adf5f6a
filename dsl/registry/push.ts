import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BadInputError } from '../core/errors.js';
import { forEachLimit } from '../core/pool.js';
import { MediaType, type Descriptor } from '../oci/types.js';
import { sha256 } from '../oci/validate.js';
import type { SourceImage } from '../transport/source.js';
import type { RegistryOptions } from '../transport/transports.js';
import { ociManifestOf } from '../transport/oci-layout.js';
import { RegistryClient } from './client.js';
import { digestMismatch, RegistryError } from './errors.js';
import { drain, header, type HttpResponse } from './http.js';
import { formatRegistryRef, parseRegistryRef, type RegistryRef } from './reference.js';
import { retryableError, retryableStatus } from './retry.js';
import { addQuery, bytesHeld, chunkRanges, contentRange, resolveLocation } from './upload.js';

/*
 * Pushing an image to a registry (the distribution spec's push flow): each blob is asked for with HEAD and
 * skipped when there; else mounted from another repository of the same registry when one is named; else
 * uploaded — POST opens a session, then one PUT with the whole body, or PATCHes of chunkSize bytes and a
 * final PUT for a larger blob. A failed upload starts a new session (bounded by the retry policy); the
 * digest is checked before a chunked upload is closed. Then the manifest's exact bytes are PUT under the tag.
 */

/** Blobs over this many bytes go in chunks of this size (128 MiB: fewer round trips; a failed chunk restarts the upload anyway), unless PushOptions or $CAIRN_REGISTRY_CHUNK_BYTES say otherwise. */
export const DEFAULT_CHUNK_SIZE = 128 << 20;
/** Blobs sent at the same time. */
const PARALLEL = 3;

/** Options of a push, besides the connection's. */
export interface PushOptions {
  /** Blobs larger than this are sent in chunks of this many bytes (default DEFAULT_CHUNK_SIZE). */
  chunkSize?: number;
  /** A repository of the same registry blobs are mounted from instead of uploaded (copying registry to registry). */
  mountFrom?: string;
}

/** What a push did: the manifest's digest, and how many blobs were already there, mounted, uploaded. */
export interface PushResult {
  digest: string;
  present: number;
  mounted: number;
  uploaded: number;
}

/** Thrown to start an upload again in a new session (a stream body that cannot be sent twice, bytes the registry lost). */
class RestartUpload extends Error {}

/** The chunk size: the option, else $CAIRN_REGISTRY_CHUNK_BYTES (tests force chunking), else the default. */
export function chunkSizeOf(o: PushOptions, env: NodeJS.ProcessEnv = process.env): number {
  if (o.chunkSize !== undefined) {
    if (!Number.isSafeInteger(o.chunkSize) || o.chunkSize <= 0) throw new BadInputError(`chunk size ${o.chunkSize} is not a positive whole number of bytes`);
    return o.chunkSize;
  }
  const e = env.CAIRN_REGISTRY_CHUNK_BYTES;
  return e && /^[1-9]\d*$/.test(e) ? Number(e) : DEFAULT_CHUNK_SIZE;
}

/** A body factory for a stream: the stream once, then RestartUpload (a stream cannot be sent twice). */
function once(s: Readable): () => Readable {
  let used = false;
  return () => {
    if (used) throw new RestartUpload('the upload must start over');
    used = true;
    return s;
  };
}

/** True for a failure a new upload session may not meet: the network, or a registry that says "later". */
function worthRestart(err: unknown): boolean {
  if (err instanceof RestartUpload) return true;
  if (!(err instanceof RegistryError)) return false;
  if (err.status !== undefined) return retryableStatus(err.status);
  return retryableError(err.cause);
}

/** Takes exactly n bytes from a shared iterator (leftover kept in state), hashing them; errors if the source ends early. */
async function* take(it: AsyncIterator<Buffer>, state: { rest?: Buffer }, n: number, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  let left = n;
  while (left > 0) {
    let c = state.rest;
    state.rest = undefined;
    if (!c) {
      const r = await it.next();
      if (r.done) throw new BadInputError(`the blob ended ${left} bytes early`, { hint: 'the source image is truncated' });
      c = Buffer.from(r.value);
    }
    if (c.length > left) {
      state.rest = c.subarray(left);
      c = c.subarray(0, left);
    }
    left -= c.length;
    hash.update(c);
    yield c;
  }
}

/** One blob upload in the session at loc: a monolithic PUT, or PATCHes and a final PUT. */
async function upload(client: RegistryClient, d: Descriptor, body: Buffer | Readable, loc: string, chunk: number, what: string): Promise<void> {
  const octets = { 'content-type': 'application/octet-stream' };
  if (d.size <= chunk || Buffer.isBuffer(body)) {
    const res = await client.request({
      method: 'PUT',
      url: addQuery(loc, 'digest', d.digest),
      headers: { ...octets, 'content-length': String(d.size) },
      body: Buffer.isBuffer(body) ? () => body : once(body),
      what,
      ok: [201, 204],
    });
    await drain(res);
    return;
  }
  const it = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const state: { rest?: Buffer } = {};
  const hash = createHash('sha256');
  let url = loc;
  for (const [start, len] of chunkRanges(d.size, chunk)) {
    const part = Readable.from(take(it, state, len, hash), { objectMode: false });
    let partError: unknown;
    part.once('error', (e) => (partError ??= e));
    let res: HttpResponse;
    try {
      res = await client.request({ method: 'PATCH', url, headers: { ...octets, 'content-length': String(len), 'content-range': contentRange(start, len) }, body: once(part), what, ok: [202, 204] });
    } catch (err) {
      // A source that fails or ends early is the error to tell, not the request it broke.
      throw partError ?? err;
    }
    await drain(res);
    const held = bytesHeld(header(res, 'range'));
    if (held !== undefined && held !== start + len) throw new RestartUpload(`the registry holds ${held} bytes of ${what}, not ${start + len}`);
    const next = header(res, 'location');
    if (next) url = resolveLocation(next, res.url, what);
  }
  if (state.rest?.length || !(await it.next()).done) throw digestMismatch(d.digest, `${what}: more bytes than its descriptor's ${d.size}`);
  if ('sha256:' + hash.digest('hex') !== d.digest) {
    // Never close an upload with bytes that are not the blob: the session is abandoned.
    await client.request({ method: 'DELETE', url, what, ok: [204, 404] }).then(drain, () => undefined);
    throw new BadInputError(`the bytes of ${what} do not hash to ${d.digest}`, { hint: 'the source image is corrupt; nothing was tagged' });
  }
  const res = await client.request({ method: 'PUT', url: addQuery(url, 'digest', d.digest), headers: { ...octets, 'content-length': '0' }, what, ok: [201, 204] });
  await drain(res);
}

/** Pushes one blob unless the repository has it: mounted when mountFrom is given, else uploaded; says which. */
export async function pushBlob(client: RegistryClient, d: Descriptor, open: () => Promise<Buffer | Readable>, o: PushOptions & { what: string }): Promise<'present' | 'mounted' | 'uploaded'> {
  const repo = client.ref.repository;
  const what = `${o.what} ${d.digest}`;
  const head = await client.request({ method: 'HEAD', url: `/v2/${repo}/blobs/${d.digest}`, what, ok: [200, 404] });
  await drain(head);
  if (head.status === 200) return 'present';
  const chunk = chunkSizeOf(o);
  for (let attempt = 0; ; attempt++) {
    let body: Buffer | Readable | undefined;
    let sourceError: unknown;
    try {
      let start: HttpResponse;
      if (o.mountFrom && attempt === 0) {
        start = await client.request({ method: 'POST', url: `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(o.mountFrom)}`, what, ok: [201, 202] });
        await drain(start);
        if (start.status === 201) return 'mounted';
      } else {
        start = await client.request({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, what, ok: [202] });
        await drain(start);
      }
      const loc = resolveLocation(header(start, 'location'), start.url, what);
      body = await open();
      if (!Buffer.isBuffer(body)) body.once('error', (e) => (sourceError ??= e));
      await upload(client, d, body, loc, chunk, what);
      return 'uploaded';
    } catch (err) {
      if (body && !Buffer.isBuffer(body)) body.destroy();
      // The source's own failure (a blob that does not match its digest) is the one to tell, and final.
      if (sourceError) throw sourceError;
      const wait = worthRestart(err) ? client.retryWait(attempt) : undefined;
      if (wait === undefined) {
        if (err instanceof RestartUpload) throw new RegistryError(`${what}: the upload failed in ${attempt + 1} tries (${err.message})`, { hint: 'the registry or the network is misbehaving: try again later' });
        throw err;
      }
      await sleep(wait);
    }
  }
}

/**
 * Pushes img to ref's repository through client (opened for pushing): blobs first, then the OCI manifest's
 * exact bytes under the tag (or the digest the reference pins, which must be the manifest's).
 */
export async function pushImage(client: RegistryClient, img: SourceImage, o: PushOptions = {}): Promise<PushResult> {
  const ref = client.ref;
  const target = `docker://${formatRegistryRef(ref)}`;
  const manifest = ociManifestOf(img);
  // The source's own manifest when it has one (its blobs are the ones sent), else the OCI manifest cairn writes.
  const bytes = img.original?.bytes ?? Buffer.from(JSON.stringify(manifest));
  const mediaType = img.original?.mediaType ?? manifest.mediaType ?? MediaType.manifest;
  const digest = sha256(bytes);
  if (ref.digest && ref.digest !== digest) throw new BadInputError(`cannot push to ${target}: the image's manifest is ${digest}`, { hint: 'push to a tag; a digest reference must be the manifest written' });
  const counts = { present: 0, mounted: 0, uploaded: 0 };
  const blobs: { d: Descriptor; open: () => Promise<Buffer | Readable>; what: string }[] = [
    { d: manifest.config, open: async () => img.configBytes, what: `the config for ${target}` },
    ...img.layers.map((l, i) => ({ d: manifest.layers[i], open: () => l.open(), what: `layer for ${target}` })),
  ];
  await forEachLimit(blobs, PARALLEL, async (b) => {
    counts[await pushBlob(client, b.d, b.open, { ...o, what: b.what })]++;
  });
  const res = await client.request({
    method: 'PUT',
    url: `/v2/${ref.repository}/manifests/${ref.tag ?? digest}`,
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    body: () => bytes,
    what: `the manifest of ${target}`,
    ok: [201, 200, 204],
  });
  await drain(res);
  const said = header(res, 'docker-content-digest');
  if (said?.startsWith('sha256:') && said !== digest) throw new RegistryError(`the registry stored the manifest of ${target} as ${said}, not ${digest}`, { hint: 'the registry rewrote the manifest: check it with skopeo inspect' });
  return { digest, ...counts };
}

/** The repository of the same registry a source image can mount blobs from (a docker:// source), if any. */
function mountSource(img: SourceImage, dest: RegistryRef): string | undefined {
  const src = (img as { ref?: Partial<RegistryRef> }).ref;
  if (!src || typeof src.registry !== 'string' || typeof src.repository !== 'string') return undefined;
  return src.registry === dest.registry && src.repository !== dest.repository ? src.repository : undefined;
}

/** Pushes img to `docker://TEXT` (the text after the transport) with the registry options; a docker:// source on the same registry lends its blobs by mount. */
export async function pushToRegistry(text: string, img: SourceImage, opts: RegistryOptions & PushOptions = {}): Promise<PushResult> {
  const ref = parseRegistryRef(text);
  const mountFrom = opts.mountFrom ?? mountSource(img, ref);
  const client = await RegistryClient.open(ref, opts, { push: true, mountFrom });
  try {
    return await pushImage(client, img, { chunkSize: opts.chunkSize, mountFrom });
  } finally {
    await client.close();
  }
}
