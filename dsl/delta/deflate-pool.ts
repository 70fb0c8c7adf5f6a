import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/*
 * Threads that deflate batches of segments for the chunked gzip. Each segment gets a fresh raw deflate stream
 * that ends in a full flush (byte-aligned, no final block), so the segments can be laid end to end; the thread
 * also hashes each compressed segment when the index needs it. A batch is one buffer of consecutive segments,
 * moved to the thread and back (never copied), so a message costs the same for 8 KiB and 1 MiB of work.
 * The pool starts on first use, one thread per core; a thread keeps the process alive only while it has work.
 * The worker's code is evaluated from a string (as core/hashworker's is), so the bundled CLI needs no file for it.
 */

/** One batch: segment lengths, and the bytes of the segments end to end at the start of buf. */
export interface DeflateJob {
  buf: ArrayBuffer;
  ulens: number[];
  level: number;
  /** Also return each compressed segment's sha256. */
  hash: boolean;
}

/** A batch compressed: the segments' deflate streams end to end, their lengths, their sha256s (32 bytes each) if asked. */
export interface DeflateResult {
  out: Buffer;
  clens: Uint32Array;
  hashes?: Buffer;
  /** The job's buffer, handed back for reuse. */
  buf: ArrayBuffer;
}

/**
 * Compresses one batch: what the worker runs (its source is this function's), and what runs in-thread for small
 * inputs, so the bytes are the same either way. It must use nothing but its arguments and JavaScript's globals.
 * memLevel 9 (zlib's largest hash table) deflates about a tenth faster than the default 8 for 0.3% in size. A
 * segment that looks incompressible is stored (deflate level 0) rather than searched for matches that are not
 * there: zlib would store it anyway, after spending as long as on text (random bytes deflate at the same speed).
 */
export function deflateBatch(job: DeflateJob, zlib: typeof import('node:zlib'), createHash?: typeof import('node:crypto').createHash): DeflateResult {
  /**
   * True when seg looks incompressible: the entropy of its byte histogram is at least 7.95 bits (a tar header
   * or two leave it so), and few runs of bytes repeat in it (checked at content-defined anchors, about one
   * position in 32: a repeat of a hundred bytes is caught wherever it lies). Such a segment may still hold a
   * little text deflate would have shrunk: on a tree of text and random files mixed, storing them cost 0.45% in
   * size and saved a sixth of the time.
   */
  const incompressible = (seg: Uint8Array): boolean => {
    const n = seg.length;
    if (n < 16384) return false;
    const counts = new Uint32Array(256);
    const entropy = (len: number): number => {
      let sum = 0;
      for (let b = 0; b < 256; b++) if (counts[b]) sum += counts[b] * Math.log2(counts[b]);
      return Math.log2(len) - sum / len;
    };
    // Text, code and binaries give themselves away in 4 KiB from the middle (the start is often a tar header).
    for (let i = (n >> 1) - 2048; i < (n >> 1) + 2048; i++) counts[seg[i]]++;
    if (entropy(4096) < 7.8) return false;
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[seg[i]]++;
    if (entropy(n) < 7.95) return false;
    // Repeats worth more than about 1.5% of the segment are left to deflate. Each repeated anchor counts once:
    // a run of one byte value (a tar header's zeros) is one anchor repeated at every position, not many repeats.
    const most = n / 2048;
    const seen = new Map<number, number>();
    const repeated = new Set<number>();
    for (let i = 0; i + 8 <= n; i++) {
      const a = seg[i] | (seg[i + 1] << 8) | (seg[i + 2] << 16) | (seg[i + 3] << 24);
      if (Math.imul(a, 0x9e3779b1) >>> 27 !== 0) continue;
      const b = seg[i + 4] | (seg[i + 5] << 8) | (seg[i + 6] << 16) | (seg[i + 7] << 24);
      if (seen.get(a) === b) {
        repeated.add(a);
        if (repeated.size > most) return false;
      }
      seen.set(a, b);
    }
    return true;
  };
  const parts: Buffer[] = [];
  const clens = new Uint32Array(job.ulens.length);
  const hashes = job.hash ? Buffer.allocUnsafeSlow(32 * job.ulens.length) : undefined;
  let at = 0;
  let total = 0;
  const flush = zlib.constants.Z_FULL_FLUSH;
  const deflate = { level: job.level, memLevel: 9, finishFlush: flush };
  const store = { level: 0, finishFlush: flush };
  for (let i = 0; i < job.ulens.length; i++) {
    const seg = Buffer.from(job.buf, at, job.ulens[i]);
    const c = zlib.deflateRawSync(seg, incompressible(seg) ? store : deflate);
    at += job.ulens[i];
    parts.push(c);
    clens[i] = c.length;
    total += c.length;
    if (hashes) createHash!('sha256').update(c).digest().copy(hashes, 32 * i);
  }
  // A buffer of its own (not a slice of Node's pool), so that it can be moved to the other thread.
  const out = Buffer.from(new ArrayBuffer(total));
  let o = 0;
  for (const p of parts) o += p.copy(out, o);
  return { out, clens, hashes, buf: job.buf };
}

const WORKER_SOURCE = `(async () => {
const { parentPort, workerData } = await import('node:worker_threads');
const zlib = await import('node:zlib');
const { createHash } = await import('node:crypto');
const deflateBatch = new Function('return ' + workerData.deflateBatch)();
parentPort.on('message', (m) => {
  try {
    const r = deflateBatch(m.job, zlib, createHash);
    const move = [r.out.buffer, r.buf];
    if (r.hashes) move.push(r.hashes.buffer);
    parentPort.postMessage({ id: m.id, out: r.out.buffer, clens: r.clens, hashes: r.hashes?.buffer, buf: r.buf }, move);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.stack || e) });
  }
});
})();
`;

interface Pending {
  resolve: (r: DeflateResult) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/** Threads deflating batches; jobs go to the least busy thread. */
class DeflatePool {
  private slots: Slot[] = [];
  private pending = new Map<number, Pending & { slot: Slot }>();
  private nextId = 0;

  constructor(readonly size: number) {}

  /** Compresses a batch in a thread. */
  run(job: DeflateJob): Promise<DeflateResult> {
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<DeflateResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, job }, [job.buf]);
    });
  }

  private pick(): Slot {
    let best = this.slots.reduce<Slot | undefined>((b, s) => (!b || s.busy < b.busy ? s : b), undefined);
    if ((!best || best.busy > 0) && this.slots.length < this.size) best = this.start();
    return best!;
  }

  private start(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { deflateBatch: deflateBatch.toString() } });
    const slot: Slot = { worker, busy: 0 };
    worker.unref();
    worker.on('message', (m: { id: number; out?: ArrayBuffer; clens?: Uint32Array; hashes?: ArrayBuffer; buf?: ArrayBuffer; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (--slot.busy === 0) worker.unref();
      if (m.error !== undefined) p.reject(new Error(`the compressing thread failed: ${m.error}`));
      else p.resolve({ out: Buffer.from(m.out!), clens: m.clens!, hashes: m.hashes ? Buffer.from(m.hashes) : undefined, buf: m.buf! });
    });
    const fail = (err: Error): void => {
      this.slots = this.slots.filter((s) => s !== slot);
      for (const [id, p] of this.pending) {
        if (p.slot !== slot) continue;
        this.pending.delete(id);
        p.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the compressing thread exited with status ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}

let pool: DeflatePool | undefined;

/** The number of compressing threads: $CAIRN_COMPRESS_THREADS, else one per core. */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.CAIRN_COMPRESS_THREADS);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 64) : Math.min(availableParallelism(), 64);
}

/** The process's pool (started on first use; its threads start as work comes). */
export function deflatePool(): DeflatePool {
  pool ??= new DeflatePool(Math.max(1, defaultThreads()));
  return pool;
}
