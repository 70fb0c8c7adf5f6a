import type * as FS from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BadInputError } from '../core/errors.js';

/*
 * The files and symlinks of a copy, copied in batches with synchronous system calls, on worker threads when a
 * batch is big enough to pay for them. A copy of ten thousand small files is a hundred thousand system calls:
 * one promise and one thread-pool round trip each cost more than the calls, and synchronous loops on two
 * threads go faster than `cp -a`. Every destination is a name below a directory the in-root resolver verified
 * and holds open (`/proc/self/fd/N/name`, valid on every thread of the process), created with O_EXCL and never
 * followed; sources are opened without following a symlink.
 */

/** One file or symlink to copy. */
export interface LeafJob {
  /** The path to read (fd-anchored for a source inside another container). */
  src: string;
  /** The name to create, below a verified directory's descriptor. */
  dst: string;
  /** The destination's physical path in the root (for messages and the resolver's cache). */
  rel: string;
  symlink: boolean;
  /** Permission bits to set (ignored for a symlink). */
  mode: number;
  /** Source times, in seconds. */
  atime: number;
  mtime: number;
}

/** What all jobs share: the owner to give (when chown is set) and a crash point after the first file. */
interface LeafOptions {
  chown?: { uid: number; gid: number };
  crashAfterFirst?: boolean;
}

/** A failed job, as a worker can send it back. */
interface LeafFailure {
  code?: string;
  message: string;
  rel: string;
  src: string;
  op: 'changed' | 'chown' | 'other';
}

/**
 * Copies jobs in order; returns the destinations that replaced an existing object. Self-contained (its source
 * text is a worker's program): it uses only its arguments.
 */
function copyLeaves(fs: typeof FS, jobs: LeafJob[], opts: LeafOptions): { replaced: string[] } | { failed: LeafFailure } {
  const C = fs.constants;
  const buf = Buffer.allocUnsafe(1 << 20);
  const replaced: string[] = [];
  // Creates the destination with make(); an object already there (a symlink is never followed) is removed first.
  const create = <T>(job: LeafJob, make: () => T): T => {
    try {
      return make();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      fs.rmSync(job.dst, { recursive: true, force: true });
      replaced.push(job.rel);
      return make();
    }
  };
  let job: LeafJob | undefined;
  let op: LeafFailure['op'] = 'other';
  try {
    for (job of jobs) {
      op = 'other';
      if (job.symlink) {
        const target = fs.readlinkSync(job.src);
        const j = job;
        create(job, () => fs.symlinkSync(target, j.dst));
        if (opts.chown) {
          op = 'chown';
          fs.lchownSync(job.dst, opts.chown.uid, opts.chown.gid);
        }
        op = 'other';
        fs.lutimesSync(job.dst, job.atime, job.mtime);
      } else {
        const from = fs.openSync(job.src, C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
        let to = -1;
        try {
          if (!fs.fstatSync(from).isFile()) {
            op = 'changed';
            throw new Error('not a regular file');
          }
          const j = job;
          to = create(job, () => fs.openSync(j.dst, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600));
          for (let n = fs.readSync(from, buf, 0, buf.length, null); n > 0; n = fs.readSync(from, buf, 0, buf.length, null)) {
            for (let off = 0; off < n; ) off += fs.writeSync(to, buf, off, n - off);
          }
          if (opts.chown) {
            op = 'chown';
            fs.fchownSync(to, opts.chown.uid, opts.chown.gid);
            op = 'other';
          }
          fs.fchmodSync(to, job.mode);
          fs.futimesSync(to, job.atime, job.mtime);
        } finally {
          fs.closeSync(from);
          if (to >= 0) fs.closeSync(to);
        }
      }
      if (opts.crashAfterFirst) process.kill(process.pid, 'SIGKILL');
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { failed: { code: e.code, message: e.message, rel: job?.rel ?? '', src: job?.src ?? '', op } };
  }
  return { replaced };
}

const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort } = require('node:worker_threads');
const copyLeaves = ${copyLeaves.toString()};
parentPort.on('message', (m) => parentPort.postMessage(copyLeaves(fs, m.jobs, m.opts)));
`;

/** Jobs in a batch before it is copied; a batch holds open only the directories it names. */
const BATCH_JOBS = 4096;
/** A batch smaller than this (files, or bytes) is copied on the calling thread: a worker takes ~30 ms to start. */
const WORKER_MIN_JOBS = 256;
const WORKER_MIN_BYTES = 64 << 20;

/** The error for an owner that the user namespace does not map (the object at path could not be given it). */
export function unmappedOwner(p: string, owner: { uid: number; gid: number }): BadInputError {
  return new BadInputError(`cannot give ${path.basename(p)} the owner ${owner.uid}:${owner.gid}: that id is not mapped in your user namespace`, {
    hint: 'add subordinate id ranges for your user to /etc/subuid and /etc/subgid, then end your cairn namespace (kill the PID in ${XDG_RUNTIME_DIR:-/tmp}/cairn-$(id -u)/pause.pid; see docs/rootless.md) so the next verb maps them',
  });
}

/** The error a failed job stands for. */
function failure(f: LeafFailure, owner?: { uid: number; gid: number }): Error {
  if (f.op === 'changed') return new BadInputError(`cannot copy ${f.src}: it changed while being copied`);
  if (f.op === 'chown' && f.code === 'EINVAL' && owner) return unmappedOwner(f.rel, owner);
  return Object.assign(new Error(`${f.message} (copying to /${f.rel})`), { code: f.code });
}

/**
 * Gathers leaf copies and runs them in batches: on this thread for small ones, else split between worker
 * threads (one per core, at most four) by runs of neighbouring jobs, so that two threads seldom write into the
 * same directory. The caller keeps every directory a batch names open until flush() resolves.
 */
export class LeafCopier {
  private jobs: LeafJob[] = [];
  private bytes = 0;
  private workers: Worker[] = [];
  private opts: LeafOptions;

  constructor(private owner: { uid: number; gid: number } | undefined, crashAfterFirst: boolean) {
    this.opts = { ...(owner ? { chown: owner } : {}), crashAfterFirst };
  }

  /** Adds a job (size: the source's bytes); true when the batch is full and should be flushed. */
  add(job: LeafJob, size: number): boolean {
    this.jobs.push(job);
    this.bytes += size;
    // Workers start as soon as the batch is sure to need them, and boot while the rest is gathered.
    if (this.jobs.length === WORKER_MIN_JOBS || (this.bytes >= WORKER_MIN_BYTES && this.bytes - size < WORKER_MIN_BYTES)) this.start();
    return this.jobs.length >= BATCH_JOBS;
  }

  /** The worker threads, started unless there are some already (none on a single core). */
  private start(): Worker[] {
    const n = Math.min(4, availableParallelism());
    while (n > 1 && this.workers.length < n) this.workers.push(new Worker(WORKER_SOURCE, { eval: true }));
    return this.workers;
  }

  /** Copies every job added so far; returns the destinations that replaced an existing object. */
  async flush(fs: typeof FS): Promise<string[]> {
    const jobs = this.jobs;
    const bytes = this.bytes;
    this.jobs = [];
    this.bytes = 0;
    if (jobs.length === 0) return [];
    const workers = jobs.length < WORKER_MIN_JOBS && bytes < WORKER_MIN_BYTES ? [] : this.start();
    if (workers.length === 0) return this.result(copyLeaves(fs, jobs, this.opts));
    const per = Math.ceil(jobs.length / workers.length);
    const results = await Promise.all(workers.map((w, i) => this.run(w, jobs.slice(i * per, (i + 1) * per))));
    return results.flatMap((r) => this.result(r));
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }

  private run(w: Worker, jobs: LeafJob[]): Promise<ReturnType<typeof copyLeaves>> {
    if (jobs.length === 0) return Promise.resolve({ replaced: [] });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      w.once('error', onError);
      w.once('message', (m: ReturnType<typeof copyLeaves>) => {
        w.off('error', onError);
        resolve(m);
      });
      w.postMessage({ jobs, opts: this.opts });
    });
  }

  private result(r: ReturnType<typeof copyLeaves>): string[] {
    if ('failed' in r) throw failure(r.failed, this.owner);
    return r.replaced;
  }
}
