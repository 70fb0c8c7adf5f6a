import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError, SignatureError } from '../../../dsl/core/errors.js';
import { publicKeyOf } from '../../../dsl/sign/ed25519ph.js';
import { identityString } from '../../../dsl/sign/identity.js';
import type { KeyPair, PublicKey } from '../../../dsl/sign/keys.js';
import { TarCheck } from '../../../dsl/flat/tarcheck.js';
import { makeTrailer, requireTrusted, signingStream, TRAILER_SIZE, verifyStream, type Verdict } from '../../../dsl/flat/trailer.js';
import { baliKey, baliTrailer, flatTarball, sha256, tmp, type BaliKey, type Flat } from '../../kit/bali.js';
import { collect, tarOf } from '../../kit/tarfix.js';

const asPub = (k: BaliKey): PublicKey => ({ publicKey: k.publicKey, id: k.id, source: 'test' });
const asPair = (k: BaliKey): KeyPair => ({ ...asPub(k), seed: k.seed });

/** A stream of buf in chunks of `size` bytes (the whole buffer when size is 0). */
function chunked(buf: Buffer, size: number): Readable {
  if (!size) return Readable.from([buf]);
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

/** Copies buf with byte i changed. */
function flip(buf: Buffer, i: number, mask = 0x01): Buffer {
  const b = Buffer.from(buf);
  b[i] ^= mask;
  return b;
}

const verify = (bytes: Buffer, keys: PublicKey[], chunk = 0): Promise<Verdict> => verifyStream(chunked(bytes, chunk), keys);

let dir: string;
let key: BaliKey;
let gz: Flat;
let plain: Flat;
beforeAll(async () => {
  dir = tmp();
  key = baliKey();
  gz = await flatTarball(dir, 'signed.tar.gz', { key });
  plain = await flatTarball(dir, 'signed.tar', { key, gzip: false });
});
afterAll(() => {
  /* temp files are small; the OS cleans tmp */
});

describe('the trailer', () => {
  it('is 8 zero bytes, "iksig", 3 zero bytes and the signature', () => {
    const sig = randomBytes(64);
    const t = makeTrailer(sig);
    expect(t).toHaveLength(TRAILER_SIZE);
    expect(t.subarray(0, 8).equals(Buffer.alloc(8))).toBe(true);
    expect(t.toString('latin1', 8, 13)).toBe('iksig');
    expect(t.subarray(13, 16).equals(Buffer.alloc(3))).toBe(true);
    expect(t.subarray(16).equals(sig)).toBe(true);
    expect(() => makeTrailer(sig.subarray(1))).toThrow();
  });

  it.each([1, 511, 4096, 0])('signingStream (chunks of %i) writes exactly tar ‖ the independently made trailer', async (size) => {
    const out = await collect(chunked(plain.tar, size).pipe(signingStream(asPair(key))));
    expect(out.equals(Buffer.concat([plain.tar, baliTrailer(plain.tar, key)]))).toBe(true);
  });
});

describe('verifyStream', () => {
  it.each([
    ['gzip, one chunk', 'gz', 0],
    ['gzip, 1-byte chunks', 'gz', 1],
    ['gzip, 79-byte chunks', 'gz', 79],
    ['plain, one chunk', 'plain', 0],
    ['plain, 1-byte chunks', 'plain', 1],
    ['plain, 79-byte chunks', 'plain', 79],
    ['plain, 80-byte chunks', 'plain', 80],
    ['plain, 81-byte chunks', 'plain', 81],
    ['plain, 64 KiB chunks', 'plain', 65536],
  ])('accepts a bali-signed tarball (%s)', async (_what, which, size) => {
    const f = which === 'gz' ? gz : plain;
    const other = asPub(baliKey());
    const v = await verify(f.bytes, [other, asPub(key)], size as number);
    expect(v).toMatchObject({ signed: true, valid: true, sha256: sha256(f.bytes), tarSize: f.tar.length });
    expect(v.signer?.id).toBe(key.id);
    expect(v.reason).toBeUndefined();
    expect(() => requireTrusted(v, 'f')).not.toThrow();
  });

  it('accepts a tarball signed by signingStream (the round trip cairn export uses)', async () => {
    const k = baliKey();
    const signed = await collect(Readable.from([plain.tar]).pipe(signingStream(asPair(k))));
    const v = await verify(gzipSync(signed), [asPub(k)]);
    expect(v.valid).toBe(true);
    expect(v.signer?.id).toBe(identityString(publicKeyOf(k.seed)));
  });

  it('accepts a multi-member gzip (as pigz or cat a.gz b.gz make)', async () => {
    const half = plain.plain.length >> 1;
    const two = Buffer.concat([gzipSync(plain.plain.subarray(0, half)), gzipSync(plain.plain.subarray(half))]);
    expect((await verify(two, [asPub(key)], 1000)).valid).toBe(true);
  });

  // Where the trailer is: the signature at −64…−1, "iksig" at −72, the zero padding at −80 and −67.
  const T = (f: Flat): number => f.plain.length - TRAILER_SIZE;
  const cases: [string, (f: Flat) => Buffer, RegExp][] = [
    ['a flipped byte in the first tar header', (f) => flip(f.plain, 10), /^tampered: bad tar header checksum at byte 0$/],
    ['a flipped byte in a later tar header', (f) => flip(f.plain, f.plain.indexOf('bin/hello') + 3), /^tampered: bad tar header checksum at byte 2048$/],
    ['a flipped byte in the middle of file data', (f) => flip(f.plain, f.tar.length >> 1), /^unknown signer or tampered: the signature does not match key c/],
    ['a tar cut short inside an entry (re-signed by nobody)', (f) => Buffer.concat([f.tar.subarray(0, 3000), f.plain.subarray(T(f))]), /^tampered: the tar archive is cut short inside an entry$/],
    ['a high byte of the signature (S ≥ L)', (f) => flip(f.plain, f.plain.length - 1, 0xf0), /^tampered: the signature is malformed$/],
    ['a low byte of the signature', (f) => flip(f.plain, T(f) + 48), /^unknown signer or tampered/],
    ['the trailer padding', (f) => flip(f.plain, T(f) + 2), /^tampered: the signature trailer is malformed$/],
    ['the trailer padding after iksig', (f) => flip(f.plain, T(f) + 14), /^tampered: the signature trailer is malformed$/],
    ['the magic', (f) => flip(f.plain, T(f) + 9), /^unsigned$/],
    ['a cut-off last byte', (f) => f.plain.subarray(0, f.plain.length - 1), /^tampered: the signature trailer is cut short or shifted$/],
    ['bytes appended after the trailer', (f) => Buffer.concat([f.plain, Buffer.from('xx')]), /^tampered: the signature trailer is cut short or shifted$/],
    ['no trailer', (f) => f.tar, /^unsigned$/],
  ];
  it.each(cases)('refuses %s (plain and gzip, with the right reason)', async (_what, change, reason) => {
    const bytes = change(plain);
    for (const b of [bytes, gzipSync(bytes)]) {
      const v = await verify(b, [asPub(key)], 777);
      expect(v.valid).toBe(false);
      expect(v.reason).toMatch(reason);
      expect(v.reason).not.toContain('\n');
      expect(v.sha256).toBe(sha256(b));
      expect(() => requireTrusted(v, 'F')).toThrow(SignatureError);
    }
  });

  it('says unknown signer for a good signature by a key not given', async () => {
    const v = await verify(gz.bytes, [asPub(baliKey()), asPub(baliKey())]);
    expect(v).toMatchObject({ signed: true, valid: false, reason: 'unknown signer or tampered: the signature matches none of the 2 trusted keys' });
    expect(() => requireTrusted(v, 'F')).toThrow(/^F: unknown signer/);
    try {
      requireTrusted(v, 'F');
    } catch (err) {
      expect((err as SignatureError).hint).toMatch(/cairn key trust/);
    }
  });

  it.each([
    ['a flipped byte in the middle', (b: Buffer) => flip(b, b.length >> 1, 0xff), /^corrupt gzip stream/],
    ['a flipped byte in the CRC', (b: Buffer) => flip(b, b.length - 6), /^corrupt gzip stream/],
    ['a flipped header flag byte', (b: Buffer) => flip(b, 3, 0xe0), /^corrupt gzip stream/],
    ['a cut at half', (b: Buffer) => b.subarray(0, b.length >> 1), /^truncated gzip stream/],
    ['a cut of the last byte', (b: Buffer) => b.subarray(0, b.length - 1), /^truncated gzip stream/],
    ['only the magic', (b: Buffer) => b.subarray(0, 2), /^truncated gzip stream/],
  ])('throws BadInputError for a gzip with %s', async (_what, change, msg) => {
    await expect(verify(change(gz.bytes), [asPub(key)], 4096)).rejects.toThrow(BadInputError);
    await expect(verify(change(gz.bytes), [asPub(key)], 4096)).rejects.toThrow(msg);
  });

  it.each([
    ['empty input', Buffer.alloc(0), /^unsigned: the file is empty$/],
    ['one byte', Buffer.from([0x1f]), /^not a tar or gzip file$/],
    ['random bytes', randomBytes(5000), /^not a tar or gzip file$/],
    ['gzip of random bytes', gzipSync(randomBytes(5000)), /^unsigned: the gzip stream holds no tar archive$/],
    ['gzip of nothing', gzipSync(Buffer.alloc(0)), /^unsigned: the gzip stream is empty$/],
    ['just a trailer', makeTrailer(randomBytes(64)), /^(unknown signer or )?tampered/],
  ])('gives a verdict for %s', async (_what, bytes, reason) => {
    const v = await verify(bytes, [asPub(key)]);
    expect(v.valid).toBe(false);
    expect(v.reason).toMatch(reason);
  });

  it('a big truncated gzip rejects after the raw hash moved to its worker thread, and the next verify works', async () => {
    // Past the 8 MiB after which the raw bytes' SHA-256 moves to a worker thread (dsl/core/hashworker.ts).
    const big = gzipSync(Buffer.concat([randomBytes(10 << 20), plain.plain]), { level: 0 });
    const cut = big.subarray(0, big.length - 1000);
    await expect(verify(cut, [asPub(key)], 1 << 20)).rejects.toThrow(/^truncated gzip stream/);
    const ok = await verify(gzipSync(Buffer.concat([plain.tar, baliTrailer(plain.tar, key)])), [asPub(key)]);
    expect(ok.valid).toBe(true);
  });

  it('a failing source stream rejects with its own error', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield gz.bytes.subarray(0, 1000);
      throw new Error('connection reset');
    }
    await expect(verifyStream(Readable.from(broken()), [asPub(key)])).rejects.toThrow('connection reset');
  });

  // 25 MiB: past the hand-over (8 MiB) and the 16 MiB of transfer buffers in flight (dsl/core/hashworker.ts).
  it('verifies a stream bigger than the hash worker hand-over and its buffers (25 MiB, one entry) without holding it', async () => {
    const k = baliKey();
    const block = randomBytes(1 << 20);
    const header = await tarOf([{ name: 'f', content: '' }]);
    // One entry of 25 MiB: header, data, end-of-archive; hashed by node:crypto for the reference signature.
    const hdr = Buffer.from(header.subarray(0, 512));
    hdr.write((25 * 1024 * 1024).toString(8).padStart(11, '0') + '\0', 124, 'latin1');
    hdr.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of hdr) sum += b;
    hdr.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const h = createHash('sha512');
    function* parts(): Generator<Buffer> {
      yield hdr;
      for (let i = 0; i < 25; i++) yield block;
      yield Buffer.alloc(1024);
    }
    const whole = createHash('sha256');
    for (const p of parts()) {
      h.update(p);
      whole.update(p);
    }
    const { signPrehashed } = await import('../../../dsl/sign/ed25519ph.js');
    const trailer = makeTrailer(signPrehashed(h.digest(), k.seed));
    whole.update(trailer);
    const v = await verifyStream(Readable.from((function* () { yield* parts(); yield trailer; })()), [asPub(k)]);
    expect(v.valid).toBe(true);
    expect(v.tarSize).toBe(512 + 25 * 1024 * 1024 + 1024);
    // The SHA-256 of the raw bytes moved to a worker thread on the way: it must still be the whole file's.
    expect(v.sha256).toBe('sha256:' + whole.digest('hex'));
    // Its peak memory is the bench's to measure (bench: "reading a 1 GB layer"), not a test's.
  });
});

describe('TarCheck', () => {
  it('passes a tar with GNU record padding', async () => {
    const t = await tarOf([{ name: 'a', content: 'x' }]);
    const c = new TarCheck();
    c.update(Buffer.concat([t, Buffer.alloc(10240 - (t.length % 10240))]));
    expect(c.end()).toBeUndefined();
  });
  it('finds data after the end of the archive', async () => {
    const c = new TarCheck();
    c.update(Buffer.concat([await tarOf([{ name: 'a', content: 'x' }]), Buffer.from('junk')]));
    expect(c.end()).toMatch(/^data after the end of the tar archive at byte \d+$/);
  });
  it('finds a missing end-of-archive', async () => {
    const t = await tarOf([{ name: 'a', content: 'x' }]);
    const c = new TarCheck();
    c.update(t.subarray(0, t.length - 1024));
    expect(c.end()).toBe('the tar archive has no end-of-archive blocks');
  });
});
