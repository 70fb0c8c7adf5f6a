import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { BadInputError, NotFoundError } from '../errors.js';
import { checkDigest } from '../store/digest.js';

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

/** Opens file as a verified stream; a missing file rejects with NotFoundError before any byte flows. */
export async function openVerifiedFile(file: string, expected: Expected, what = 'layer'): Promise<Readable> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`${what} ${expected.digest} is missing (${file})`, { hint: 'the image is incomplete; copy it again' });
    }
    throw err;
  }
  return verified(fh.createReadStream(), expected, what);
}

/** Reads a small blob whole (a manifest, index or config) and checks its size and digest. */
export async function readVerifiedFile(file: string, expected: Expected, what: string, limit = 16 << 20): Promise<Buffer> {
  checkDigest(expected.digest);
  if (!Number.isSafeInteger(expected.size) || expected.size < 0 || expected.size > limit) {
    throw new BadInputError(`${what} ${expected.digest} declares ${expected.size} bytes, more than cairn accepts (${limit})`, { hint: 'the image is corrupt or hostile' });
  }
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(`${what} ${expected.digest} is missing (${file})`, { hint: 'the image is incomplete; copy it again' });
    }
    throw err;
  }
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== expected.size || digest !== expected.digest) {
    throw new BadInputError(`${what} ${expected.digest} does not match its digest (${file})`, { hint: 'the image is corrupt or was tampered with' });
  }
  return bytes;
}
