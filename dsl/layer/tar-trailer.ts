import { Transform, type TransformCallback } from 'node:stream';

/** GNU tar's record: 20 blocks of 512 bytes. A flat file's tar is padded to it, as GNU tar pads its own. */
export const RECORD_SIZE = 10240;

const BLOCK = 512;
const TRAILER = 80;
const MAGIC = Buffer.from('iksig');

/** A pass-through that appends zeros up to the next multiple of `record` bytes (tar record padding). */
export function recordPadding(record = RECORD_SIZE): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      n += chunk.length;
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      const pad = (record - (n % record)) % record;
      cb(null, pad ? Buffer.alloc(pad) : undefined);
    },
  });
}

/** True when b (80 bytes) is a bali signature trailer: 8 zero bytes, "iksig", 3 zero bytes, the signature. */
export function isTrailer(b: Buffer): boolean {
  return b.length === TRAILER && b.subarray(0, 8).every((x) => x === 0) && b.subarray(8, 13).equals(MAGIC) && b.subarray(13, 16).every((x) => x === 0);
}

/**
 * A pass-through for an uncompressed tar stream that drops a bali signature trailer: the last 80 bytes, when
 * they follow whole 512-byte blocks ending in the two zero end-of-archive blocks. GNU tar stops at those blocks
 * and never reads the trailer; a strict reader (tar-read.ts) reads on and fails on a partial block, so an extractor
 * puts this in front. Anything else passes through unchanged, so a truncated archive still fails as one.
 */
export function stripTrailer(): Transform {
  let tail = Buffer.alloc(0);
  let total = 0;
  // Zero bytes at the end of what was passed on (capped: only the last 1024 matter).
  let zeros = 0;
  const passed = (b: Buffer): void => {
    let i = b.length;
    while (i > 0 && b[i - 1] === 0) i--;
    zeros = i === 0 ? Math.min(zeros + b.length, 2 * BLOCK) : Math.min(b.length - i, 2 * BLOCK);
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      total += chunk.length;
      const all = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      if (all.length <= TRAILER) {
        tail = Buffer.from(all);
        cb();
        return;
      }
      const out = all.subarray(0, all.length - TRAILER);
      tail = Buffer.from(all.subarray(all.length - TRAILER));
      passed(out);
      cb(null, out);
    },
    flush(cb: TransformCallback) {
      const aligned = total >= 2 * BLOCK + TRAILER && (total - TRAILER) % BLOCK === 0;
      if (aligned && zeros >= 2 * BLOCK && isTrailer(tail)) cb();
      else cb(null, tail.length ? tail : undefined);
    },
  });
}
