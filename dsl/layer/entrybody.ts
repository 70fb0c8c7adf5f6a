import { writeSync } from 'node:fs';
import { BadInputError, CairnError } from '../core/errors.js';

const CORRUPT_HINT = 'the layer is truncated or corrupt; fetch it again';

/** Any parse error of the tar stream as BadInputError (cairn's own errors pass through). */
export function asBadInput(err: unknown): CairnError {
  if (err instanceof CairnError) return err;
  const msg = (err as Error)?.message ?? String(err);
  if (/unexpected end/i.test(msg)) return new BadInputError('the layer tar is truncated', { hint: CORRUPT_HINT, cause: err });
  return new BadInputError(`the layer is not a valid tar: ${msg}`, { hint: CORRUPT_HINT, cause: err });
}

/** Reads an entry's body to its end without keeping it (errors of the tar stream as BadInputError). */
export async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  try {
    for await (const _ of body) void _;
  } catch (err) {
    throw asBadInput(err);
  }
}

/**
 * Writes an entry's body into an open file descriptor, chunk by chunk as the tar stream gives it. The
 * writes are synchronous: a layer is mostly small files, and a write into the page cache costs less than
 * a trip through libuv's thread pool (measured: a 10,000-file layer extracts several times faster).
 */
export async function writeBody(fd: number, body: AsyncIterable<Buffer>): Promise<void> {
  const it = body[Symbol.asyncIterator]();
  for (;;) {
    let r: IteratorResult<Buffer>;
    try {
      r = await it.next();
    } catch (err) {
      throw asBadInput(err);
    }
    if (r.done) break;
    for (let off = 0; off < r.value.length; ) off += writeSync(fd, r.value, off);
  }
}
