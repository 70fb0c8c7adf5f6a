import { Transform, pipeline, type Readable } from 'node:stream';
import { emit } from './events.js';

/** At most this many progress events a second for one item (the last one, with done = total, always). */
const PER_SECOND = 10;

/**
 * Passes src through unchanged, emitting `progress` events (unit 'bytes') for one item of step id: what a
 * long verb's progress bar and per-item lines are drawn from.
 */
export function withProgress(src: Readable, o: { id: string; item: string; total?: number }): Readable {
  let done = 0;
  let last = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      const now = performance.now();
      if (now - last >= 1000 / PER_SECOND) {
        last = now;
        emit({ type: 'progress', id: o.id, item: o.item, done, total: o.total, unit: 'bytes' });
      }
      cb(null, chunk);
    },
    flush(cb) {
      emit({ type: 'progress', id: o.id, item: o.item, done, total: o.total ?? done, unit: 'bytes', finished: true });
      cb();
    },
  });
  // pipeline: an error of src reaches t (and whoever reads it), with nothing left unhandled.
  pipeline(src, t, () => undefined);
  return t;
}

/** How progress names a blob: its algorithm and the first 12 hex digits (`sha256:0123456789ab`). */
export function shortDigest(digest: string): string {
  return digest.slice(0, digest.indexOf(':') + 13);
}
