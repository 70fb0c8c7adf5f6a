import { BadInputError } from '../core/errors.js';

/*
 * The arithmetic of a blob upload, pure so that it is tested without a registry. An upload session lives at
 * the URL a registry's Location header names: relative (`/v2/app/blobs/uploads/UUID?_state=…`) or absolute,
 * maybe on another host, maybe with a query of its own that must be sent back as it is. Chunks go by PATCH with
 * `Content-Range: START-END` (inclusive, no unit, as the distribution spec writes it); the registry answers
 * with `Range: 0-END`, the bytes it holds.
 */

/** The upload URL a Location header names, made absolute against the URL of the request that got it. */
export function resolveLocation(location: string | undefined, requestUrl: string, what: string): string {
  if (!location) throw new BadInputError(`the registry answered ${what} without a Location to upload to`, { hint: 'the registry is misbehaving' });
  let u: URL;
  try {
    u = new URL(location, requestUrl);
  } catch {
    throw new BadInputError(`the registry answered ${what} with a Location that is not a URL: ${location}`, { hint: 'the registry is misbehaving' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BadInputError(`the registry answered ${what} with a ${u.protocol} Location`, { hint: 'the registry is misbehaving' });
  u.hash = '';
  return u.href;
}

/** url with name=value added to its query; the query it has is kept byte for byte (an upload state must come back unchanged). */
export function addQuery(url: string, name: string, value: string): string {
  const u = new URL(url);
  const pair = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
  u.search = u.search && u.search !== '?' ? `${u.search}&${pair}` : `?${pair}`;
  return u.href;
}

/** The Content-Range of a chunk of length bytes at start: `START-END`, END inclusive. */
export function contentRange(start: number, length: number): string {
  if (length <= 0) throw new RangeError('an upload chunk has at least one byte');
  return `${start}-${start + length - 1}`;
}

/** The chunks a blob of size bytes is sent in, chunk bytes each (the last one shorter): [start, length] pairs. */
export function chunkRanges(size: number, chunk: number): [number, number][] {
  if (!(chunk > 0)) throw new RangeError('the chunk size must be positive');
  const out: [number, number][] = [];
  for (let start = 0; start < size; start += chunk) out.push([start, Math.min(chunk, size - start)]);
  return out;
}

/** The number of bytes a registry says it holds from its `Range: 0-END` answer (END inclusive), undefined when unreadable. */
export function bytesHeld(range: string | undefined): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  return m ? Number(m[1]) + 1 : undefined;
}
