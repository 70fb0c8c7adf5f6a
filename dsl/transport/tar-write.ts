import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { NotFoundError } from '../core/errors.js';
import { asTargetError, tempBeside } from '../core/atomic.js';
import { crashPoint } from '../core/crash.js';

// Fixed owner, modes and mtime: the same image always gives the same archive bytes.
const FIXED = { uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) };

/** Adds entries to a tar being written. */
export interface TarSink {
  /** A directory entry. */
  dir(name: string): Promise<void>;
  /** A regular file from bytes. */
  bytes(name: string, data: Buffer): Promise<void>;
  /** A regular file streamed from src, which must give exactly size bytes. */
  stream(name: string, size: number, src: Readable): Promise<void>;
}

function add(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, src?: Readable | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (src === undefined || Buffer.isBuffer(src)) {
      pack.entry(header, src ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
      return;
    }
    const w = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    // The archive failing (its file cannot be written) fails the entry being written, with no stray 'error' event.
    (w as unknown as NodeJS.EventEmitter).on('error', reject);
    // A failing source (a digest mismatch) must fail the whole archive, never leave a short entry.
    src.once('error', reject);
    src.pipe(w as unknown as NodeJS.WritableStream);
  });
}

/**
 * Writes a tar to file by temp-file + rename: fill() adds the entries; when it throws, no file
 * appears and the temp file is removed.
 */
export async function writeTarFile(file: string, fill: (t: TarSink) => Promise<void>): Promise<void> {
  const parent = path.dirname(path.resolve(file));
  if (!(await fsp.stat(parent).then((s) => s.isDirectory(), () => false))) {
    throw new NotFoundError(`directory ${parent} does not exist`, { hint: `create it before writing ${file}` });
  }
  const tmp = tempBeside(path.resolve(file));
  // Opened before anything is packed: a place that cannot be written fails here, with its own error.
  const fh = await fsp.open(tmp, 'wx', 0o644).catch((err: NodeJS.ErrnoException) => {
    throw asTargetError(err, file);
  });
  const pack = tar.pack();
  const out = pipeline(pack as unknown as NodeJS.ReadableStream, fh.createWriteStream());
  out.catch(() => undefined);
  const sink: TarSink = {
    dir: (name) => add(pack, { ...FIXED, name, type: 'directory', mode: 0o755 }),
    bytes: (name, data) => add(pack, { ...FIXED, name, type: 'file', mode: 0o644, size: data.length }, data),
    stream: (name, size, src) => add(pack, { ...FIXED, name, type: 'file', mode: 0o644, size }, src),
  };
  try {
    await fill(sink);
    pack.finalize();
    await out;
    crashPoint('push.tar.before-rename');
    await fsp.rename(tmp, file);
  } catch (err) {
    pack.destroy();
    await out.catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
