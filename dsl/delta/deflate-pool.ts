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
 * memLevel 9 (zlib's largest hash table) deflates about a tenth faster than the default 8 for 0.3% in size.
 * Runs of a segment that look incompressible are stored (deflate level 0) rather than searched for matches that
 * are not there: zlib would store them anyway, after spending as long as on text (random bytes deflate at the
 * same speed). A segment is thus one or more pieces, each a fresh raw deflate stream ending in a full flush, laid
 * end to end (as the segments of a file are); the pieces depend only on the segment's bytes.
 */
export function deflateBatch(job: DeflateJob, zlib: typeof import('node:zlib'), createHash?: typeof import('node:crypto').createHash): DeflateResult {
  /** Blocks of a segment (from its start) judged one by one. */
  const BLOCK = 4096;
  /** Bytes of a block sampled, at three places. */
  const SAMPLE = 512;
  const counts = new Uint32Array(256);
  const nlog = new Float64Array(SAMPLE + 1);
  for (let n = 1; n <= SAMPLE; n++) nlog[n] = n * Math.log2(n);
  /** True when the SAMPLE bytes of seg from `from` on have an entropy of at least 7.2 bits per byte. */
  const noisy = (seg: Uint8Array, from: number): boolean => {
    counts.fill(0);
    for (let i = from; i < from + SAMPLE; i++) counts[seg[i]]++;
    let sum = 0;
    for (let b = 0; b < 256; b++) sum += nlog[counts[b]];
    return Math.log2(SAMPLE) - sum / SAMPLE >= 7.2;
  };
  /**
   * True when seg[from, from + BLOCK) looks incompressible: three samples of it, from its middle first, each have
   * an entropy of at least 7.2 bits. Random and compressed bytes give about 7.6 in 512 bytes; text, code and tar
   * headers far less. Sampling rather than counting the whole block costs a third of the time for random bytes,
   * and what it misjudges is a block partly of text, whose text is then stored: a few hundred bytes at most.
   */
  const random = (seg: Uint8Array, from: number): boolean =>
    noisy(seg, from + (BLOCK >> 1) - (SAMPLE >> 1)) && noisy(seg, from + (SAMPLE >> 1)) && noisy(seg, from + BLOCK - (3 * SAMPLE) / 2);
  /**
   * Which blocks of seg to store (true), or undefined when none are or when runs of its random blocks repeat
   * (more than one anchor in 16 seen before): deflate would find those repeats, if in one piece. Runs are compared
   * at content-defined anchors, the 8 bytes after a zero byte (about one position in 256 of random bytes) when
   * none of them is zero, so a repeat of a kilobyte is caught wherever it lies.
   */
  const storedBlocks = (seg: Uint8Array): boolean[] | undefined => {
    const blocks: boolean[] = [];
    const seen = new Map<number, number>();
    let anchors = 0;
    let repeats = 0;
    for (let from = 0; from + BLOCK <= seg.length; from += BLOCK) {
      const r = random(seg, from);
      blocks.push(r);
      if (!r) continue;
      const to = from + BLOCK;
      for (let i = seg.indexOf(0, from); i >= 0 && i + 9 <= to; i = seg.indexOf(0, i + 1)) {
        const a = seg[i + 1] | (seg[i + 2] << 8) | (seg[i + 3] << 16) | (seg[i + 4] << 24);
        const b = seg[i + 5] | (seg[i + 6] << 8) | (seg[i + 7] << 16) | (seg[i + 8] << 24);
        // A key holding a zero byte is left out: the zero runs and NUL-ended fields of tar headers repeat anyway.
        if (((a - 0x01010101) & ~a & 0x80808080) !== 0 || ((b - 0x01010101) & ~b & 0x80808080) !== 0) continue;
        anchors++;
        if (seen.get(a) === b) repeats++;
        else seen.set(a, b);
      }
    }
    return anchors && repeats * 16 <= anchors ? blocks : undefined;
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
    const pieces: Buffer[] = [];
    const blocks = storedBlocks(seg) ?? [];
    // Pieces alternate between deflated and stored runs of whole blocks; the last, short block joins the run before it.
    let start = 0;
    let stored = false;
    for (let k = 0; k < blocks.length; k++) {
      if (blocks[k] === stored) continue;
      if (k * BLOCK > start) pieces.push(zlib.deflateRawSync(seg.subarray(start, k * BLOCK), stored ? store : deflate));
      start = k * BLOCK;
      stored = blocks[k];
    }
    pieces.push(zlib.deflateRawSync(seg.subarray(start), stored ? store : deflate));
    const c = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
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
