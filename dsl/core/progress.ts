import { Transform, pipeline, type Readable } from 'node:stream';
import { emit, nowMs } from './events.js';

/** At most this many progress events a second for one item (the last one, with done = total, always). */
const PER_SECOND = 10;

/** A progress target: the step the events belong to and the item they count. */
export interface ProgressTarget {
  id: string;
  item: string;
}

/**
 * A reporter of one item's bytes for step id: call it with the running total, and with finished at the end
 * (throttled to 10 events a second; the first and the last are always sent).
 */
export function progressOf(o: ProgressTarget & { total?: number }): (done: number, finished?: boolean) => void {
  let last = -Infinity;
  return (done, finished = false) => {
    const now = nowMs();
    if (!finished && now - last < 1000 / PER_SECOND) return;
    last = now;
    emit({ type: 'progress', id: o.id, item: o.item, done, total: finished ? (o.total ?? done) : o.total, unit: 'bytes', ...(finished ? { finished } : {}) });
  };
}

/**
 * Passes src through unchanged, emitting `progress` events (unit 'bytes') for one item of step id: what a
 * long verb's progress bar and per-item lines are drawn from.
 */
export function withProgress(src: Readable, o: ProgressTarget & { total?: number }): Readable {
  const report = progressOf(o);
  let done = 0;
  report(0);
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      report((done += chunk.length));
      cb(null, chunk);
    },
    flush(cb) {
      report(done, true);
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
