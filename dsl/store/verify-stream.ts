import { createHash } from 'node:crypto';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { BadInputError } from '../core/errors.js';
import { checkDigest } from '../oci/digest.js';
import { JSON_LIMIT, openRegular, readExactly, type OpenRegularOptions } from '../core/regular-file.js';

/** What a blob must be: its digest and size. */
export interface Expected {
  digest: string;
  size: number;
}

/**
 * A pass-through that hashes and counts what flows through it and errors (BadInputError) as soon as
 * more bytes than expected arrive, or at the end when the size or the sha256 differ. The last chunk
 * has already been passed on when the error comes: consumers must treat the stream's error as fatal.
 */
export class VerifyStream extends Transform {
  private hash = createHash('sha256');
  private seen = 0;
  constructor(private readonly expected: Expected, private readonly what = 'layer') {
    super();
    checkDigest(expected.digest);
  }
  _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected.size) {
      cb(new BadInputError(`${this.what} ${this.expected.digest} is larger than its descriptor's ${this.expected.size} bytes`, { hint: 'the source is corrupt or was tampered with' }));
      return;
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }
  _flush(cb: TransformCallback): void {
    if (this.seen !== this.expected.size) {
      cb(new BadInputError(`${this.what} ${this.expected.digest} has ${this.seen} bytes, its descriptor says ${this.expected.size}`, { hint: 'the source is truncated or corrupt' }));
      return;
    }
    if ('sha256:' + this.hash.digest('hex') !== this.expected.digest) {
      cb(new BadInputError(`${this.what} ${this.expected.digest} does not match its digest`, { hint: 'the source is corrupt or was tampered with' }));
      return;
    }
    cb();
  }
}

/** Pipes src through a VerifyStream; the returned stream carries src's errors too. */
export function verified(src: Readable, expected: Expected, what = 'layer'): Readable {
  const v = new VerifyStream(expected, what);
  pipeline(src, v, () => undefined);
  return v;
}

/** The error of a blob whose size is not its descriptor's, worded as VerifyStream words it. */
function sizeError(label: string, size: number, expected: number): BadInputError {
  return size > expected
    ? new BadInputError(`${label} is larger than its descriptor's ${expected} bytes (${size})`, { hint: 'the source is corrupt or was tampered with' })
    : new BadInputError(`${label} has ${size} bytes, its descriptor says ${expected}`, { hint: 'the source is truncated or corrupt' });
}

/**
 * Opens file as a verified stream: a regular file (opened as openRegular does, with o's nofollow and
 * within) read to at most one byte past the expected size, so a file grown since still fails as too large
 * and a huge one costs nothing: a size that is not the descriptor's errors the stream before any byte.
 * Missing → NotFoundError, and not a regular file → BadInputError, before any byte flows.
 */
export async function openVerifiedFile(file: string, expected: Expected, what = 'layer', o: OpenRegularOptions = {}): Promise<Readable> {
  checkDigest(expected.digest);
  const label = `${what} ${expected.digest}`;
  const fh = await openRegular(file, label, o);
  let size: number;
  try {
    size = (await fh.stat()).size;
  } catch (err) {
    await fh.close();
    throw err;
  }
  if (size !== expected.size) {
    await fh.close();
    const err = sizeError(label, size, expected.size);
    return new Readable({
      read() {
        this.destroy(err);
      },
    });
  }
  return verified(fh.createReadStream({ start: 0, end: expected.size, highWaterMark: 1 << 20 }), expected, what);
}

/** Reads a small blob whole (a manifest, index or config): at most `limit` bytes, its size and digest checked. */
export async function readVerifiedFile(file: string, expected: Expected, what: string, limit = JSON_LIMIT, o: OpenRegularOptions = {}): Promise<Buffer> {
  checkDigest(expected.digest);
  const label = `${what} ${expected.digest}`;
  if (!Number.isSafeInteger(expected.size) || expected.size < 0 || expected.size > limit) {
    throw new BadInputError(`${label} declares ${expected.size} bytes, more than cairn accepts (${limit})`, { hint: 'the image is corrupt or hostile' });
  }
  const fh = await openRegular(file, label, o);
  let bytes: Buffer;
  try {
    const { size } = await fh.stat();
    if (size !== expected.size) throw sizeError(label, size, expected.size);
    bytes = await readExactly(fh, size, label);
  } finally {
    await fh.close();
  }
  if ('sha256:' + createHash('sha256').update(bytes).digest('hex') !== expected.digest) {
    throw new BadInputError(`${label} does not match its digest (${file})`, { hint: 'the image is corrupt or was tampered with' });
  }
  return bytes;
}
