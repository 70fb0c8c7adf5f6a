import { createHash } from 'node:crypto';
import { Transform, Writable } from 'node:stream';

/** A pass-through stream that hashes (sha256) and counts what flows through it. */
export class HashCounter extends Transform {
  private hash = createHash('sha256');
  /** Bytes seen so far. */
  size = 0;
  _transform(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.push(chunk);
    cb();
  }
  /** The digest of everything seen (call once, after the end). */
  digest(): string {
    return 'sha256:' + this.hash.digest('hex');
  }
}

/** The image ID (hex) of config bytes: the sha256 of the config. */
export function imageId(configBytes: Buffer): string {
  return createHash('sha256').update(configBytes).digest('hex');
}

/** A writable sink that discards everything (what is hashed on the way, a quiet build's RUN stdout). */
export function nullSink(): Writable {
  return new Writable({ write(_c, _e, cb) { cb(); } });
}
