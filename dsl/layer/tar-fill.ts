import { createHash } from 'node:crypto';
import type { LayerEntry } from './entry.js';
import { changedSize, vanished } from './tar-entry.js';
import { Layout, type Plan } from './tar-layout.js';
import { claimCrew, prestartCrew, returnCrew, type Crew, type Failure } from './tar-threads.js';

/*
 * The tar of a list of entries, its file content read by a filler thread. Opening, reading and closing
 * thousands of files is most of a big layer's cost: this thread lays the tar out (tar-layout.ts), writing each
 * segment's headers and padding into a transfer buffer, and sends it to a filler (tar-threads.ts) with the
 * file pieces to read into it; filled segments come back and are handed on strictly in order (TarFill), to be
 * hashed here (digest) or streamed (packEntries). Reading on one core and laying out and hashing on the other
 * keeps both busy. A fixed pool of buffers bounds memory and paces the layout.
 */

/** Size of one segment (and transfer buffer). */
export const SEG = 512 << 10;
/** Transfer buffers: at most this many segments are being filled, or waiting for their turn. */
const POOL = 8;

/** Tars with at least this much file content are filled in parallel (below it, starting threads costs more than it saves). */
export const PARALLEL_AT = 32 << 20;

/** True when the tar of these entries holds at least `at` bytes of file content (default PARALLEL_AT): big enough to be filled by threads. */
export function fillsInParallel(entries: LayerEntry[], at = PARALLEL_AT): boolean {
  let content = 0;
  for (const e of entries) if (e.type === 'file') content += e.size;
  return content >= at;
}

/** Starts the threads of a parallel fill ahead (a scan calls it once it has found PARALLEL_AT bytes of content). */
export const prestartFill = prestartCrew;

/** The error a filler's failure stands for: the serial packer's own for the same source. */
function errorOf(f: Failure, plan: Plan, entries: LayerEntry[]): unknown {
  const e = entries[plan.entries[f.piece]];
  if (f.op === 'size') return changedSize(e);
  const err = Object.assign(new Error(f.err!.message), f.err);
  return f.op === 'open' ? vanished(e, err) : err;
}

/** The threads and buffers of one parallel fill: lays segments out and sends each to the least busy filler. */
class Fill {
  readonly crew: Crew = claimCrew();
  private load: number[] = [];
  private free: ArrayBuffer[] = [];
  /** Buffers this fill holds (free, being filled, or waiting for their turn). */
  held = 0;
  /** Segments laid out, and each one's plan until it is taken. */
  planned = 0;
  readonly plans = new Map<number, Plan>();
  laidOut = false;
  /** The layout stopped at an entry the serial packer also fails on (after the segments laid out before it). */
  error?: unknown;
  failed?: Error;
  private wake?: () => void;
  private closed = false;
  private layout: Layout;

  constructor(readonly entries: LayerEntry[], timestamp: number | undefined) {
    this.layout = new Layout(entries, timestamp);
    this.load = this.crew.fillers.map(() => 0);
    this.crew.listen((err) => this.fail(err));
  }

  fail(err: Error): void {
    if (this.closed) return;
    this.failed ??= err;
    this.poke();
  }

  /** Wakes whoever waits in sleep(). */
  poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Waits for poke(); throws a thread's failure. */
  async sleep(): Promise<void> {
    if (this.failed) throw this.failed;
    await new Promise<void>((r) => (this.wake = r));
    if (this.failed) throw this.failed;
  }

  /** Filler k sent a segment on. */
  filled(k: number): void {
    if (k >= 0) this.load[k]--;
  }

  /** A buffer leaves the pool (handed to the caller). */
  handOut(): void {
    this.held--;
  }

  /** A buffer handed out comes back: kept unless the pool is full again. */
  takeBack(buf: ArrayBuffer): void {
    if (this.closed || this.held >= POOL) return;
    this.free.push(buf);
    this.held++;
  }

  /**
   * Lays out and sends segments while buffers are free; a segment with no file content goes to done(), which
   * takes the buffer. Returns once the pool is out or the tar is laid out.
   */
  dispatch(done: (seg: number, buf: ArrayBuffer) => void): void {
    while (!this.laidOut && (this.free.length > 0 || this.held < POOL)) {
      let buf = this.free.pop();
      if (!buf) {
        buf = new ArrayBuffer(SEG);
        this.held++;
      }
      const plan = this.layout.next(Buffer.from(buf));
      if (plan.len === 0 && plan.error === undefined) {
        this.free.push(buf);
        this.laidOut = true;
        break;
      }
      if (plan.error !== undefined) {
        this.laidOut = true;
        this.error = plan.error;
      }
      const seg = this.planned++;
      this.plans.set(seg, plan);
      if (plan.paths.length === 0) {
        done(seg, buf);
        continue;
      }
      let k = 0;
      for (let j = 1; j < this.load.length; j++) if (this.load[j] < this.load[k]) k = j;
      this.load[k]++;
      this.crew.fillers[k].postMessage({ seg, k, buf, len: plan.len, paths: plan.paths, nums: plan.nums }, [buf]);
    }
  }

  /** Ends the fill: its threads are given back when no segment is out with them (else stopped: one would come back late). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.failed === undefined && this.load.every((n) => n === 0)) returnCrew(this.crew);
    else this.crew.stop();
    this.plans.clear();
    this.free = [];
  }
}

/**
 * The bytes of the tar of entries (packEntries's), segment by segment in order, filled by filler threads. A
 * segment handed out is the caller's; release() gives its buffer back for reuse (one never given back is
 * replaced). Always close() when done or giving up.
 */
export class TarFill {
  private fill: Fill;
  private done = new Map<number, { buf: ArrayBuffer; fail?: Failure }>();
  private handed = 0;

  private readonly onFilled = (m: { seg: number; k: number; buf: ArrayBuffer; fail?: Failure }): void => {
    this.fill.filled(m.k);
    this.done.set(m.seg, m);
    this.fill.poke();
  };

  constructor(entries: LayerEntry[], timestamp?: number) {
    this.fill = new Fill(entries, timestamp);
    for (const w of this.fill.crew.fillers) w.on('message', this.onFilled);
  }

  /** The next segment of the tar, or null at its end; throws what the serial packer would throw at that point. */
  async next(): Promise<Buffer | null> {
    const f = this.fill;
    for (;;) {
      f.dispatch((seg, buf) => this.done.set(seg, { buf }));
      const plan = f.plans.get(this.handed);
      if (!plan) {
        // Every segment laid out was handed on: the tar is complete, or the layout stopped at an error.
        if (f.error !== undefined) throw f.error;
        return null;
      }
      const d = this.done.get(this.handed);
      if (d) {
        if (d.fail) throw errorOf(d.fail, plan, f.entries);
        this.done.delete(this.handed);
        f.plans.delete(this.handed++);
        f.handOut();
        if (plan.len > 0) return Buffer.from(d.buf, 0, plan.len);
        continue;
      }
      await f.sleep();
    }
  }

  /** Gives a segment's buffer back for reuse. */
  release(b: Buffer): void {
    this.fill.takeBack(b.buffer as ArrayBuffer);
  }

  /** The sha256 digest and size of the whole tar, each segment hashed here in order (onBytes told the running size). */
  async digest(onBytes?: (size: number) => void): Promise<{ digest: string; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    for (let b = await this.next(); b; b = await this.next()) {
      hash.update(b);
      size += b.length;
      onBytes?.(size);
      this.release(b);
    }
    return { digest: 'sha256:' + hash.digest('hex'), size };
  }

  /** Ends the fill (its threads are kept a few seconds for the next one, or stopped). */
  close(): void {
    for (const w of this.fill.crew.fillers) w.off('message', this.onFilled);
    this.fill.close();
    this.done.clear();
  }
}
