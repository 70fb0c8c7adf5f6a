import { createHash } from 'node:crypto';
import { ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { BadInputError, SignatureError } from '../core/errors.js';
import { decompress, type ExpandLimit } from '../layer/compress.js';
import { signatureWellFormed, signPrehashed, verifyPrehashed } from '../sign/ed25519ph.js';
import type { KeyPair, PublicKey } from '../sign/keys.js';
import { signatureHint, type SignatureFault } from '../sign/policy-judge.js';
import { HashSpill, SPILL_AT } from '../core/hashworker.js';
import { TarCheck } from './tarcheck.js';

/*
 * bali's signed flat tarball: the uncompressed stream is the tar archive (end-of-archive blocks and any
 * padding included) followed by an 80-byte trailer
 *   8 zero bytes ‖ "iksig" ‖ 3 zero bytes ‖ Ed25519ph signature (64 bytes, context "bali")
 * over SHA-512 of every uncompressed byte before the trailer. The whole is usually gzipped. Tar readers
 * stop at the end-of-archive blocks and never see the trailer.
 */

/** Bytes of the trailer. */
export const TRAILER_SIZE = 80;
const MAGIC = Buffer.from('iksig', 'latin1');
const MAGIC_AT = 8;
const SIG_AT = 16;

/** The 80-byte trailer carrying a 64-byte signature. */
export function makeTrailer(sig: Uint8Array): Buffer {
  if (sig.length !== 64) throw new TypeError('an Ed25519 signature is 64 bytes');
  const t = Buffer.alloc(TRAILER_SIZE);
  MAGIC.copy(t, MAGIC_AT);
  t.set(sig, SIG_AT);
  return t;
}

/** A pass-through Transform over the UNCOMPRESSED stream: hashes (SHA-512) what flows and, at the end, appends the signed trailer. */
export function signingStream(key: KeyPair): Transform {
  const h = createHash('sha512');
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      h.update(chunk);
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      try {
        cb(null, makeTrailer(signPrehashed(h.digest(), key.seed)));
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

/** What verifying a file found. */
export interface Verdict {
  /** A trailer is there. */
  signed: boolean;
  /** The signature verifies under one of the keys given. */
  valid: boolean;
  /** The key it verifies under. */
  signer?: PublicKey;
  /** Why it is not valid, one line: 'unsigned', 'tampered: …', 'unknown signer or tampered: …'. */
  reason?: string;
  /** The kind of that reason, for code to compare (never the reason's text). */
  fault?: SignatureFault;
  /** 'sha256:…' of the raw file bytes as given. */
  sha256: string;
  /** Uncompressed bytes before the trailer. */
  tarSize: number;
}

/** What else a verification may do with the bytes it reads, so that they are read once (tarball.ts: the layer's digests). */
export interface StreamWatch {
  /** The next bytes of the file as given. */
  raw(chunk: Buffer): void;
  /** The next bytes of the uncompressed stream (the tar, and a trailer if there is one). */
  plain(chunk: Buffer): Promise<void>;
}

/** Options of verifyStream. */
export interface VerifyStreamOptions {
  /** How far a gzip file may expand (default: the layers' bound, expandLimit()). */
  limit?: ExpandLimit;
  /** Given the bytes too, after the hashes took them. */
  watch?: StreamWatch;
}

/**
 * Hashes all but the last 80 bytes of a stream whose length is not known in advance. The held-back tail
 * is at most 80 bytes, so each chunk costs two hash updates and a tiny copy, never a concat of big buffers.
 * The SHA-512 runs on a thread of its own for a big stream (as the file's SHA-256 does): on two cores the
 * two hashes then take as long as the slower one.
 */
class TailHasher {
  private readonly h: HashSpill;
  readonly tar = new TarCheck();
  private held: Buffer = Buffer.alloc(0);
  /** Bytes hashed so far. */
  size = 0;

  /** big: the stream is known to be past the spill size (HashSpill). */
  constructor(big: boolean) {
    this.h = new HashSpill('sha512', big);
  }

  private async hash(b: Buffer): Promise<void> {
    if (!b.length) return;
    await this.h.update(b);
    this.tar.update(b);
    this.size += b.length;
  }

  async update(c: Buffer): Promise<void> {
    if (c.length >= TRAILER_SIZE) {
      await this.hash(this.held);
      await this.hash(c.subarray(0, c.length - TRAILER_SIZE));
      this.held = Buffer.from(c.subarray(c.length - TRAILER_SIZE));
    } else {
      const both = Buffer.concat([this.held, c]);
      const cut = Math.max(0, both.length - TRAILER_SIZE);
      await this.hash(both.subarray(0, cut));
      this.held = both.subarray(cut);
    }
  }

  /** The SHA-512 of all but the tail, and the tail (shorter than 80 bytes for a short stream). */
  async end(): Promise<{ digest: Buffer; tail: Buffer }> {
    return { digest: Buffer.from(await this.h.digest(), 'hex'), tail: this.held };
  }

  /** Stops the hashing thread, if any (always call when giving up early). */
  close(): void {
    this.h.close();
  }
}

/** Wraps a zlib failure as a one-line BadInputError. */
function gzipError(err: unknown): BadInputError {
  const e = err as NodeJS.ErrnoException;
  const truncated = e?.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e?.message ?? '');
  return new BadInputError(truncated ? 'truncated gzip stream (the file is cut short)' : `corrupt gzip stream (${e?.message ?? String(err)})`, {
    hint: 'the file was damaged or changed: fetch it again from its source',
    cause: err,
  });
}

/**
 * Streams the raw file bytes (gzip or plain), in constant memory: sha256 of the raw bytes, gunzip when
 * 1f 8b, SHA-512 of all but the last 80 uncompressed bytes, then checks the trailer against the given keys.
 * Never throws for a bad signature (the verdict says); throws BadInputError for a truncated or corrupt gzip,
 * one that expands past the bound layers have (compress.ts: a bomb; opts.limit replaces it), and bytes after the
 * gzip stream (the signature covers exactly the file: nothing may ride along unsigned).
 */
export async function verifyStream(raw: Readable, keys: PublicKey[], opts: VerifyStreamOptions = {}): Promise<Verdict> {
  // A file's size is known before the first byte: a big one is hashed on the threads from the start.
  const big = raw instanceof ReadStream && typeof raw.path === 'string' && (await stat(raw.path).then((st) => st.size >= SPILL_AT, () => false));
  const sha256 = new HashSpill('sha256', big);
  const tail = new TailHasher(big);
  try {
    const gzip = await readInto(raw, sha256, tail, opts.limit, opts.watch);
    const [hex, end] = await Promise.all([sha256.digest(), tail.end()]);
    return judge(tail, end, 'sha256:' + hex, keys, gzip);
  } finally {
    sha256.close();
    tail.close();
    // On a failure part of the input may be unread: release its file or connection now.
    if (!raw.destroyed) raw.destroy();
  }
}

/** Feeds the raw bytes to sha256 and the uncompressed bytes to tail (gunzipped within limit), and both to watch; whether the input was gzip. */
async function readInto(raw: Readable, sha256: HashSpill, tail: TailHasher, limit: ExpandLimit | undefined, watch: StreamWatch | undefined): Promise<boolean> {
  const plain = async (c: Buffer): Promise<void> => {
    await tail.update(c);
    await watch?.plain(c);
  };
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const next = async (): Promise<Buffer | undefined> => {
    const r = await it.next();
    if (r.done) return undefined;
    const v = r.value as unknown;
    // A web stream (fetch) gives Uint8Arrays: view them, don't copy.
    const c = Buffer.isBuffer(v) ? v : v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : Buffer.from(v as string);
    await sha256.update(c);
    watch?.raw(c);
    return c;
  };
  // Peek at the first two bytes (they may come in separate chunks) to tell gzip from plain tar.
  const head: Buffer[] = [];
  let headLen = 0;
  while (headLen < 2) {
    const c = await next();
    if (!c) break;
    head.push(c);
    headLen += c.length;
  }
  const first = Buffer.concat(head);
  const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  if (!gzip) {
    await plain(first);
    for (let c = await next(); c; c = await next()) await plain(c);
    return false;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield first;
    for (let c = await next(); c; c = await next()) yield c;
  }
  // The layers' decompression (compress.ts): bounded expansion, nothing after the last gzip member.
  const gunzip = decompress(Readable.from(rest(), { objectMode: false }), limit, 'gzip');
  try {
    for await (const c of gunzip) await plain(c as Buffer);
  } catch (err) {
    // zlib's own failures keep verify's wording; a bomb, trailing bytes or a failing source keep theirs.
    const cause = (err as Error)?.cause as NodeJS.ErrnoException | undefined;
    if (err instanceof BadInputError && (cause?.code?.startsWith?.('Z_') || /unexpected end of file|header check|data check/i.test(cause?.message ?? ''))) throw gzipError(cause);
    throw err;
  }
  return true;
}

/** Reads the trailer and checks the signature; the verdict. */
function judge(tail: TailHasher, end: { digest: Buffer; tail: Buffer }, sha256: string, keys: PublicKey[], gzip: boolean): Verdict {
  const { digest, tail: last } = end;
  const problem = tail.tar.end();
  const tarSize = tail.size;
  if (last.length < TRAILER_SIZE || !last.subarray(MAGIC_AT, MAGIC_AT + MAGIC.length).equals(MAGIC)) {
    const size = tarSize + last.length;
    let reason = 'unsigned';
    let fault: SignatureFault = 'unsigned';
    if (size === 0) reason = gzip ? 'unsigned: the gzip stream is empty' : 'unsigned: the file is empty';
    else if (last.includes(MAGIC)) [reason, fault] = ['tampered: the signature trailer is cut short or shifted', 'tampered'];
    else if (tail.tar.notTar || (size < 512 && !gzip)) [reason, fault] = gzip ? ['unsigned: the gzip stream holds no tar archive', 'unsigned'] : ['not a tar or gzip file', 'not-tar'];
    return { signed: fault === 'tampered', valid: false, reason, fault, sha256, tarSize: size };
  }
  // The padding is not covered by the signature: bali ignores it, cairn wants zeros (what every signer
  // writes), so that one signed content has exactly one file form.
  if (!last.subarray(0, MAGIC_AT).every((b) => b === 0) || !last.subarray(MAGIC_AT + MAGIC.length, SIG_AT).every((b) => b === 0)) {
    return { signed: true, valid: false, reason: 'tampered: the signature trailer is malformed', fault: 'tampered', sha256, tarSize };
  }
  const sig = last.subarray(SIG_AT);
  for (const k of keys) {
    if (verifyPrehashed(sig, digest, k.publicKey)) return { signed: true, valid: true, signer: k, sha256, tarSize };
  }
  // No key verifies. Ed25519 does not reveal its signer, so a changed file and a stranger's signature look
  // the same; say "tampered" alone only where no honest signer could have made these bytes.
  let reason: string;
  let fault: SignatureFault = 'unknown-signer';
  if (!signatureWellFormed(sig)) [reason, fault] = ['tampered: the signature is malformed', 'tampered'];
  else if (problem) [reason, fault] = [`tampered: ${problem}`, 'tampered'];
  else if (keys.length === 0) reason = 'unknown signer or tampered: no key to check it against';
  else if (keys.length === 1) reason = `unknown signer or tampered: the signature does not match key ${keys[0].id}`;
  else reason = `unknown signer or tampered: the signature matches none of the ${keys.length} trusted keys`;
  return { signed: true, valid: false, reason, fault, sha256, tarSize };
}

/** Throws SignatureError (one clear line + hint) unless the verdict is signed and valid; `what` names the file. */
export function requireTrusted(v: Verdict, what: string): void {
  if (v.signed && v.valid) return;
  const reason = v.reason ?? (v.signed ? 'the signature does not verify' : 'unsigned');
  throw new SignatureError(`${what}: ${reason}`, { hint: signatureHint(v.fault) });
}
