import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/*
 * A hash (SHA-256 or SHA-512) of a byte stream that moves to a worker thread once the stream is big enough to pay for one:
 * verifying hashes every byte twice (SHA-256 of the file, SHA-512 for the signature), and Node's hashes
 * are synchronous, so on two cores the second hash is nearly free when it runs beside the first.
 * Bytes travel in a few fixed buffers that go to the worker and come back: a fresh buffer per chunk would
 * cost page faults worth a third of the hashing, and the caller's chunks are never detached or kept. Small
 * chunks (a socket's 64 KiB) fill a buffer before it goes: one message per MiB, not per chunk.
 */

/** Bytes hashed on the calling thread before the hash moves to a worker (small files never start one). */
export const SPILL_AT = 8 << 20;
/** Size of one transfer buffer. */
const BUF = 1 << 20;
/** Transfer buffers: at most this many MiB are in flight, which bounds memory and paces the reader. */
const POOL = 16;

/** The worker: modules come by import(), which an eval'd worker has whether node runs it as CommonJS or as a module. */
const WORKER_SOURCE = `(async () => {
const { parentPort, workerData } = await import('node:worker_threads');
const h = (await import('node:crypto')).createHash(workerData.algorithm);
parentPort.on('message', (m) => {
  if (m === null) return parentPort.postMessage({ digest: h.digest('hex') });
  h.update(new Uint8Array(m.buf, 0, m.len));
  parentPort.postMessage({ buf: m.buf }, [m.buf]);
});
})();
`;

/** The hashes a HashSpill computes. */
export type SpillAlgorithm = 'sha256' | 'sha512';

/** A hash of everything given to update(), computed off the main thread for big inputs. */
export class HashSpill {
  private hash: Hash | undefined;
  /** Copies of what was hashed here before the worker started, replayed to it (at most SPILL_AT bytes). */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private worker?: Worker;
  private free: ArrayBuffer[] = [];
  /** The buffer being filled, and how many of its bytes are filled. */
  private filling?: ArrayBuffer;
  private filled = 0;
  private made = 0;
  private waiting?: () => void;
  private failed?: Error;
  private result?: (hex: string) => void;

  /**
   * big: the caller knows the input is past the spill size (a file's size), so the worker starts with the first
   * bytes, which are then not hashed here as well.
   */
  constructor(
    private readonly algorithm: SpillAlgorithm = 'sha256',
    private big = false,
  ) {
    this.hash = createHash(algorithm);
  }

  /** Adds bytes; resolves at once unless every transfer buffer is with the worker. */
  async update(c: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.big && this.hash) {
      this.big = false;
      await this.start();
    }
    if (this.hash) {
      this.hash.update(c);
      this.early.push(c);
      this.earlyBytes += c.length;
      if (this.earlyBytes >= SPILL_AT) await this.start();
      return;
    }
    await this.send(c);
  }

  /** Starts the worker and replays what was hashed here (this thread's hash is dropped). */
  private async start(): Promise<void> {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { algorithm: this.algorithm } });
    w.unref();
    w.on('message', (m: { buf?: ArrayBuffer; digest?: string }) => {
      if (m.buf) {
        this.free.push(m.buf);
        const wake = this.waiting;
        this.waiting = undefined;
        wake?.();
      } else if (m.digest !== undefined) this.result?.(m.digest);
    });
    w.on('error', (err) => this.fail(err));
    w.on('exit', (code) => {
      if (code !== 0 && !this.failed) this.fail(new Error(`the hashing thread exited with status ${code}`));
    });
    this.worker = w;
    this.hash = undefined;
    const early = this.early;
    this.early = [];
    for (const c of early) await this.send(c);
  }

  private fail(err: Error): void {
    this.failed = err;
    const wake = this.waiting;
    this.waiting = undefined;
    wake?.();
    this.result?.('');
  }

  /** Copies c into transfer buffers, posting each one once it is full (they wait for one to come back when all are out). */
  private async send(c: Buffer): Promise<void> {
    for (let off = 0; off < c.length; ) {
      this.filling ??= await this.freeBuffer();
      const len = Math.min(BUF - this.filled, c.length - off);
      new Uint8Array(this.filling, this.filled, len).set(c.subarray(off, off + len));
      this.filled += len;
      off += len;
      if (this.filled === BUF) this.post();
    }
  }

  /** Posts the buffer being filled, if it holds anything. */
  private post(): void {
    if (!this.filling || this.filled === 0) return;
    const buf = this.filling;
    this.worker!.postMessage({ buf, len: this.filled }, [buf]);
    this.filling = undefined;
    this.filled = 0;
  }

  /** A transfer buffer not with the worker: a free one, a new one while fewer than POOL exist, or the next one back. */
  private async freeBuffer(): Promise<ArrayBuffer> {
    let buf = this.free.pop();
    if (!buf && this.made < POOL) {
      buf = new ArrayBuffer(BUF);
      this.made++;
    }
    while (!buf) {
      await new Promise<void>((r) => (this.waiting = r));
      if (this.failed) throw this.failed;
      buf = this.free.pop();
    }
    return buf;
  }

  /** The hex digest. */
  async digest(): Promise<string> {
    try {
      if (this.hash) return this.hash.digest('hex');
      this.post();
      const hex = await new Promise<string>((resolve) => {
        this.result = resolve;
        this.worker!.postMessage(null);
      });
      if (this.failed) throw this.failed;
      return hex;
    } finally {
      this.close();
    }
  }

  /** Stops the worker, if any (always call when giving up early). */
  close(): void {
    this.early = [];
    this.free = [];
    this.filling = undefined;
    void this.worker?.terminate();
    this.worker = undefined;
  }
}
