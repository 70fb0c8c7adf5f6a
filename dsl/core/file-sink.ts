import { closeSync, fdatasync, fsync, open, writev } from 'node:fs';
import { Writable } from 'node:stream';

/*
 * A file written from a stream in large writes. Node.js's WriteStream makes one write per chunk, and a network
 * body or a file read arrives in chunks of 16–64 KiB: tens of µs of CPU each, a third of a pull's time. This
 * sink keeps the chunks (not copies) until about a MiB has come and writes them with one writev.
 */

/** Bytes gathered before a writev. */
const BATCH = 1 << 20;
/** At most this many chunks in one writev (IOV_MAX is 1024). */
const MAX_CHUNKS = 512;
/**
 * With sync, an fdatasync is started (not awaited) each time this many bytes were written since the last one: the
 * disk writes while more comes, and the fsync at the end has only the rest to wait for.
 */
const SYNC_EVERY = 8 << 20;

/** Options of a file sink: open(2) flags (default 'wx'), the new file's mode, and whether its end waits for fsync. */
export interface FileSinkOptions {
  flags?: string;
  mode?: number;
  /** The stream finishes only once the file's bytes are on disk (fsync after the last write), for a file renamed into place next. */
  sync?: boolean;
}

/**
 * A Writable into file that writes the chunks it is given about a MiB at a time. A chunk is held until it is
 * written: the source must not reuse a chunk's memory once passed on (Node.js's own streams never do).
 */
export function fileSink(file: string, o: FileSinkOptions = {}): Writable {
  let fd = -1;
  let batch: Buffer[] = [];
  let size = 0;
  let unsynced = 0;
  // The fdatasync running in the background (the descriptor is closed only after it), and the first one that failed.
  let syncing: Promise<void> | undefined;
  let syncErr: Error | null = null;
  const startSync = (): void => {
    unsynced = 0;
    syncing = new Promise((resolve) =>
      fdatasync(fd, (err) => {
        syncErr ??= err;
        syncing = undefined;
        resolve();
      }),
    );
  };
  const flush = (cb: (err?: Error | null) => void): void => {
    const chunks = batch;
    batch = [];
    unsynced += size;
    size = 0;
    writeAll(fd, chunks, (err) => {
      if (!err && o.sync && unsynced >= SYNC_EVERY && !syncing) startSync();
      cb(err);
    });
  };
  const add = (chunk: Buffer, cb: (err?: Error | null) => void): void => {
    batch.push(chunk);
    size += chunk.length;
    if (size >= BATCH || batch.length >= MAX_CHUNKS) flush(cb);
    else cb();
  };
  const afterSyncing = (then: () => void): void => void (syncing ? syncing.then(then) : then());
  return new Writable({
    highWaterMark: BATCH,
    construct(cb) {
      open(file, o.flags ?? 'wx', o.mode ?? 0o644, (err, f) => {
        if (!err) fd = f;
        cb(err);
      });
    },
    write: (chunk: Buffer, _enc, cb) => add(chunk, cb),
    final(cb) {
      // With sync: once the last batch is written and a background fdatasync is done, an fsync of the whole file.
      const end = (err?: Error | null): void => {
        if (err || !o.sync) return cb(err);
        afterSyncing(() => (syncErr ? cb(syncErr) : fsync(fd, cb)));
      };
      if (size > 0) flush(end);
      else end();
    },
    destroy(err, cb) {
      afterSyncing(() => {
        let closeErr: Error | null = null;
        if (fd >= 0) {
          try {
            closeSync(fd);
          } catch (e) {
            closeErr = e as Error;
          }
          fd = -1;
        }
        cb(err ?? closeErr);
      });
    },
  });
}

/** Writes every byte of chunks at fd's position, going on after a short write. */
function writeAll(fd: number, chunks: Buffer[], cb: (err?: Error | null) => void): void {
  writev(fd, chunks, (err, written) => {
    if (err) return cb(err);
    if (written === 0) return cb(new Error(`writev wrote nothing of ${chunks.reduce((n, c) => n + c.length, 0)} bytes`));
    let left = written;
    while (chunks.length > 0 && left >= chunks[0].length) left -= chunks.shift()!.length;
    if (chunks.length === 0) return cb();
    chunks[0] = chunks[0].subarray(left);
    writeAll(fd, chunks, cb);
  });
}
