import { Worker } from 'node:worker_threads';
import { SOURCE_FLAGS } from './tar-entry.js';

/*
 * The threads that fill a big tar (tar-fill.ts): each reads file content into the segments it is sent. A
 * thread costs some 60 ms of CPU to start, so a scan that finds a big tree starts them (prestartCrew) while it
 * still walks, on the core the walk leaves idle.
 */

/**
 * Filler threads. One: the thread that lays the tar out also hashes it, so the two cores are busy with one
 * filler, and each further thread (a second filler, a hashing thread) cost more to start than it saved
 * (measured on a 10,000-file tree: 490 ms for scan and digest with one filler, 530 with two, 530 with a
 * hashing thread too).
 */
export const FILLERS = 1;
/** A crew started ahead and not claimed within this time is stopped. */
const SPARE_MS = 5000;

/** What a filler reports about the first piece of a segment it could not read. */
export interface Failure {
  piece: number;
  op: 'open' | 'read' | 'size';
  err?: { code?: string; errno?: number; syscall?: string; path?: string; message: string };
}

/**
 * Fills b with its pieces (Plan in tar-layout.ts: four numbers a piece, offset in b, length, offset in the file,
 * file size); the first failure, if any. A piece that ends its file also checks that nothing follows: it asks
 * for one byte more, read into what follows the piece in the buffer (a header or padding, overwritten only if
 * that byte exists, which fails the segment), and a short read at the end means the file ends there. A piece
 * at the start of its file reads from the file position, as the serial packer does (a FIFO put in the file's
 * place reads as empty, not as an illegal seek). Filler threads run its source text: it uses nothing but its
 * arguments.
 */
export function fillPieces(fs: typeof import('node:fs'), b: Buffer, paths: string[], nums: number[], flags: number): Failure | undefined {
  const info = (e: NodeJS.ErrnoException): Failure['err'] => ({ code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message });
  for (let k = 0; k < paths.length; k++) {
    const off = nums[4 * k];
    const n = nums[4 * k + 1];
    const at = nums[4 * k + 2];
    const size = nums[4 * k + 3];
    let fd: number;
    try {
      fd = fs.openSync(paths[k], flags);
    } catch (e) {
      return { piece: k, op: 'open', err: info(e as NodeJS.ErrnoException) };
    }
    let fail: Failure | undefined;
    try {
      const last = at + n === size;
      const probe = last && off + n < b.length;
      const want = probe ? n + 1 : n;
      let got = 0;
      while (got < want) {
        const ask = want - got;
        const r = fs.readSync(fd, b, off + got, ask, at === 0 ? null : at + got);
        if (r === 0) break;
        got += r;
        if (r < ask && got >= n) break;
      }
      if (got !== n) fail = { piece: k, op: 'size' };
      else if (last && !probe && fs.readSync(fd, Buffer.alloc(1), 0, 1, at === 0 ? null : size) !== 0) fail = { piece: k, op: 'size' };
    } catch (e) {
      fail = { piece: k, op: (e as NodeJS.ErrnoException).code === 'ESPIPE' ? 'size' : 'read', err: info(e as NodeJS.ErrnoException) };
    }
    try {
      fs.closeSync(fd);
    } catch (e) {
      fail ??= { piece: k, op: 'read', err: info(e as NodeJS.ErrnoException) };
    }
    if (fail) return fail;
  }
  return undefined;
}

/**
 * A filler thread: fills each segment it is sent (fillPieces) and sends the buffer back, with the failure if
 * any. Modules come by import(), which an eval'd worker has whether node runs it as CommonJS or as a module
 * (--input-type=module).
 */
const FILLER_SOURCE = `(async () => {
const { parentPort, workerData } = await import('node:worker_threads');
const fs = await import('node:fs');
const fill = ${fillPieces.toString()};
parentPort.on('message', (m) => {
  const fail = fill(fs, Buffer.from(m.buf), m.paths, m.nums, workerData.flags);
  parentPort.postMessage({ seg: m.seg, k: m.k, buf: m.buf, len: m.len, fail }, [m.buf]);
});
})();
`;

/** The filler threads of one tar. */
export class Crew {
  readonly fillers: Worker[] = [];
  /** Where a thread's failure or unexpected exit goes (the first one is kept until a fill listens). */
  private onError?: (err: Error) => void;
  private broken?: Error;
  private stopped = false;

  constructor() {
    for (let k = 0; k < FILLERS; k++) this.fillers.push(this.thread(FILLER_SOURCE, { flags: SOURCE_FLAGS }));
  }

  private thread(source: string, workerData: object): Worker {
    const w = new Worker(source, { eval: true, workerData });
    const fail = (err: Error): void => {
      if (this.stopped) return;
      this.broken ??= err;
      this.onError?.(err);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`a tar filling thread exited with status ${code}`)));
    return w;
  }

  /** Routes thread failures to onError (one that happened already is given at once); keeps the threads running. */
  listen(onError: (err: Error) => void): void {
    this.onError = onError;
    for (const w of this.fillers) w.ref();
    if (this.broken) onError(this.broken);
  }

  /** Lets the process exit while the threads idle, and stops routing their failures to a fill. */
  unref(): void {
    this.onError = undefined;
    for (const w of this.fillers) w.unref();
  }

  /** True when a thread failed. */
  get failed(): boolean {
    return this.broken !== undefined;
  }

  /** Stops the threads. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const w of this.fillers) void w.terminate();
  }
}

let spare: { crew: Crew; timer: NodeJS.Timeout } | undefined;

/** Keeps crew as the spare, idle and not holding the process, stopped unless claimed within a few seconds. */
function keep(crew: Crew): void {
  crew.unref();
  const timer = setTimeout(() => {
    if (spare?.crew === crew) spare = undefined;
    crew.stop();
  }, SPARE_MS);
  timer.unref();
  spare = { crew, timer };
}

/** Starts a crew ahead of a big tar (once; stopped unless claimed within a few seconds). */
export function prestartCrew(): void {
  if (!spare) keep(new Crew());
}

/**
 * Gives back the crew of a fill that has nothing left with its threads: kept as the spare for the next big tar
 * of this process (a push of several layers, a script's or the shell's next commit), which then starts no thread;
 * stopped when it failed or a spare is already kept.
 */
export function returnCrew(crew: Crew): void {
  if (crew.failed || spare) crew.stop();
  else keep(crew);
}

/** The crew started ahead, or a new one. */
export function claimCrew(): Crew {
  const s = spare;
  spare = undefined;
  if (s) {
    clearTimeout(s.timer);
    if (!s.crew.failed) return s.crew;
    s.crew.stop();
  }
  return new Crew();
}
