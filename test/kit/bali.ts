/**
 * bali's signed flat tarballs made independently of dsl/sign: tar-stream packs, zlib gzips, and
 * @noble/curves' own ed25519ph (which does its own SHA-512 prehash of the whole message) signs. Also an
 * independent identity-string encoder (bit-string base32 + the devguardio crc8 table).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ed25519, ed25519ph } from '@noble/curves/ed25519.js';
import { tarOf, type FixEntry } from './tarfix.js';

/** The devguardio crc8 table, as bali-facts.md lists it. */
const TABLE = Buffer.from(
  `ea d4 96 a8 12 2c 6e 50 7f 41 03 3d 87 b9 fb c5 a5 9b d9 e7 5d 63 21 1f 30 0e 4c 72 c8 f6 b4 8a
   74 4a 08 36 8c b2 f0 ce e1 df 9d a3 19 27 65 5b 3b 05 47 79 c3 fd bf 81 ae 90 d2 ec 56 68 2a 14
   b3 8d cf f1 4b 75 37 09 26 18 5a 64 de e0 a2 9c fc c2 80 be 04 3a 78 46 69 57 15 2b 91 af ed d3
   2d 13 51 6f d5 eb a9 97 b8 86 c4 fa 40 7e 3c 02 62 5c 1e 20 9a a4 e6 d8 f7 c9 8b b5 0f 31 73 4d
   58 66 24 1a a0 9e dc e2 cd f3 b1 8f 35 0b 49 77 17 29 6b 55 ef d1 93 ad 82 bc fe c0 7a 44 06 38
   c6 f8 ba 84 3e 00 42 7c 53 6d 2f 11 ab 95 d7 e9 89 b7 f5 cb 71 4f 0d 33 1c 22 60 5e e4 da 98 a6
   01 3f 7d 43 f9 c7 85 bb 94 aa e8 d6 6c 52 10 2e 4e 70 32 0c b6 88 ca f4 db e5 a7 99 23 1d 5f 61
   9f a1 e3 dd 67 59 1b 25 0a 34 76 48 f2 cc 8e b0 d0 ee ac 92 28 16 54 6a 45 7b 39 07 bd 83 c1 ff`.replace(/\s+/g, ''),
  'hex',
);

/** Identity string of a typed 32-byte value: "c" + base32 of [head: version << 4 | type] ‖ key ‖ crc8, built as a bit string. */
export function refIdentity(key: Uint8Array, head = 0x19): string {
  const bytes = [head, ...key];
  let crc = 0;
  for (const b of bytes) crc = TABLE[crc ^ b];
  bytes.push(crc);
  const bits = bytes.map((b) => b.toString(2).padStart(8, '0')).join('');
  const padded = bits.padEnd(Math.ceil(bits.length / 5) * 5, '0');
  let s = 'c';
  for (let i = 0; i < padded.length; i += 5) s += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[parseInt(padded.slice(i, i + 5), 2)];
  return s;
}

/** A bali-style key: seed, public key, identity string and SPKI PEM (via node:crypto's DER wrapping). */
export interface BaliKey {
  seed: Uint8Array;
  publicKey: Uint8Array;
  id: string;
  pubPem: string;
}

/** A key from a seed (random by default). */
export function baliKey(seed: Uint8Array = randomBytes(32)): BaliKey {
  const publicKey = ed25519.getPublicKey(seed);
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]);
  const pubPem = `-----BEGIN PUBLIC KEY-----\n${der.toString('base64')}\n-----END PUBLIC KEY-----\n`;
  return { seed, publicKey, id: refIdentity(publicKey), pubPem };
}

/** The bali trailer for the uncompressed bytes `tar`, signed by noble's ed25519ph (context "bali"). */
export function baliTrailer(tar: Uint8Array, key: BaliKey): Buffer {
  const sig = ed25519ph.sign(tar, key.seed, { context: Buffer.from('bali') });
  return Buffer.concat([Buffer.alloc(8), Buffer.from('iksig'), Buffer.alloc(3), sig]);
}

/** Default entries of a fixture tarball: a directory, a few files, a symlink. */
export const FILES: FixEntry[] = [
  { name: 'etc/', type: 'directory' },
  { name: 'etc/hostname', content: 'cairn\n' },
  { name: 'bin/', type: 'directory' },
  { name: 'bin/hello', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
  // Longer than the 64 KiB chunks a test reads in, short enough that 1-byte chunks stay quick.
  { name: 'big', content: Buffer.alloc(70_000, 'x') },
  { name: 'link', type: 'symlink', linkname: 'etc/hostname' },
];

/** A flat tarball on disk, and what went into it. */
export interface Flat {
  file: string;
  /** The bytes as written (gzip unless gzip: false). */
  bytes: Buffer;
  /** The uncompressed tar without the trailer. */
  tar: Buffer;
  /** The uncompressed stream: tar ‖ trailer (or just tar when unsigned). */
  plain: Buffer;
  key: BaliKey;
}

/** Writes a flat tarball: tar of entries, signed by key (unless sign: false), gzipped (unless gzip: false). */
export async function flatTarball(dir: string, name: string, opts: { key?: BaliKey; entries?: FixEntry[]; gzip?: boolean; sign?: boolean } = {}): Promise<Flat> {
  const key = opts.key ?? baliKey();
  const tar = await tarOf(opts.entries ?? FILES);
  const plain = opts.sign === false ? tar : Buffer.concat([tar, baliTrailer(tar, key)]);
  const bytes = opts.gzip === false ? plain : gzipSync(plain);
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return { file, bytes, tar, plain, key };
}

/** A fresh temp directory. */
export function tmp(prefix = 'cairn-sign-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** sha256:hex of bytes. */
export function sha256(b: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex');
}
