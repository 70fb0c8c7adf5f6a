import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../../../dsl/core/errors.js';
import { signPrehashed } from '../../../dsl/sign/ed25519ph.js';
import { ExecCache } from '../../../dsl/exec/cache.js';
import { expandLimit, type ExpandLimit } from '../../../dsl/layer/compress.js';
import { unpackEntry } from '../../../dsl/exec/unpack.js';
import { embeddedConfig } from '../../../dsl/flat/read.js';
import type { PublicKey } from '../../../dsl/sign/keys.js';
import { makeTrailer, verifyStream } from '../../../dsl/flat/trailer.js';
import { CAIRN } from '../../kit/cli.js';
import { flatFile, testKey } from '../../kit/flat.js';
import { collect, tarOf } from '../../kit/tarfix.js';

/*
 * Decompression bounds in the signing code: verify and exec gunzip a flat file with the layers' bound
 * (dsl/layer/compress.ts: past 256 MiB at most 100:1, or CAIRN_MAX_LAYER_SIZE) and refuse bytes after the
 * gzip stream, so a bomb is refused quickly in bounded memory, even under a valid signature, and nothing rides
 * along after a signed file. The embedded config is read with the strict tar reader. In-process, the bound is
 * the default's shape at a sixteenth of its size (SMALL, through the engine's `limit` option) and so is the bomb;
 * the CLI meets the real bound and the real bomb.
 */

const MiB = 1 << 20;
/** Zeros (MiB) the bomb carries after its end-of-archive blocks (as tar record padding, which readers skip). */
const BOMB_ZEROS = 384;
/**
 * The default bound's shape (past `grace` bytes, at most 100:1) at a sixteenth of its grace, and a bomb three times
 * that (a read-ahead of a few KiB here is a few MiB of zeros).
 */
const SMALL: ExpandLimit = { ...expandLimit({}), grace: 16 * MiB };
const SMALL_ZEROS = 48;

let dir: string;
let key: ReturnType<typeof testKey>;
let pub: PublicKey;
/** A signed flat file: a small tar, 384 MiB of zeros, the trailer; gzipped at ~1000:1 (about 400 KB). */
let bomb: { file: string; tarSize: number };
/** The same with 48 MiB of zeros: a bomb under SMALL. */
let small: { file: string; tarSize: number };
/** A good signed flat file (copies get bytes appended after its gzip stream). */
let good: string;

/**
 * The bomb, made without ever holding it: gzip members concatenated (each decoder reads them as one stream),
 * one member of 1 MiB of zeros repeated, the signature over the SHA-512 streamed the same way.
 */
async function makeBomb(file: string, zeroMiBs: number): Promise<{ file: string; tarSize: number }> {
  const head = await tarOf([{ name: '.cairn/config.json', content: JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/true'] } }) }, { name: 'etc/hostname', content: 'bomb\n' }]);
  const zeros = Buffer.alloc(MiB);
  const h = createHash('sha512').update(head);
  for (let i = 0; i < zeroMiBs; i++) h.update(zeros);
  const trailer = makeTrailer(signPrehashed(h.digest(), key.seed));
  const member = gzipSync(zeros, { level: 9 });
  writeFileSync(file, Buffer.concat([gzipSync(head), ...Array<Buffer>(zeroMiBs).fill(member), gzipSync(trailer)]));
  return { file, tarSize: head.length + zeroMiBs * MiB };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-bounds-'));
  key = testKey(dir, 'signer');
  pub = { publicKey: key.publicKey, id: key.id, source: key.pubFile };
  bomb = await makeBomb(path.join(dir, 'bomb.tar.gz'), BOMB_ZEROS);
  expect(statSync(bomb.file).size).toBeLessThan(2 * MiB);
  small = await makeBomb(path.join(dir, 'small-bomb.tar.gz'), SMALL_ZEROS);
  // Verified and unpacked, never run: no root filesystem in it.
  good = await flatFile(path.join(dir, 'good.tar.gz'), { key, config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/true'] } }, tiny: false, extra: [{ name: 'etc/motd', body: 'good\n' }] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the good file with bytes appended after its gzip stream. */
function appended(name: string, extra: Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, Buffer.concat([readFileSync(good), extra]));
  return f;
}

const BOMB_LINE = /the gzip stream expands to over \d+ bytes at more than 100:1: a compression bomb$/;

describe('verifyStream: the bound on decompression', () => {
  it('refuses a signed gzip bomb after the bound, not after the whole stream', async () => {
    // Refused at the bound: well before the last compressed byte (which expands to the 48 MiB mark).
    // What was read is the stream's own count: a 'data' listener would start the stream flowing, and what it
    // gave before verifyStream began reading would be lost to it.
    const raw = createReadStream(small.file, { highWaterMark: 1024 });
    const err = await verifyStream(raw, [pub], { limit: SMALL }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as Error).message).toMatch(BOMB_LINE);
    expect((err as BadInputError).hint).toMatch(/CAIRN_MAX_LAYER_SIZE/);
    expect(raw.bytesRead).toBeLessThan(0.85 * statSync(small.file).size);
  });

  it('an absolute bound (CAIRN_MAX_LAYER_SIZE) replaces the ratio bound: below the file it refuses, above it the same file verifies', async () => {
    expect(expandLimit({ CAIRN_MAX_LAYER_SIZE: '8M' })).toEqual({ ...expandLimit({}), maxBytes: 8 * MiB });
    const under = { ...SMALL, maxBytes: expandLimit({ CAIRN_MAX_LAYER_SIZE: '8M' }).maxBytes };
    await expect(verifyStream(createReadStream(small.file), [pub], { limit: under })).rejects.toThrow(/^the gzip stream expands past CAIRN_MAX_LAYER_SIZE \(8388608 bytes\): a compression bomb$/);
    const over = { ...SMALL, maxBytes: expandLimit({ CAIRN_MAX_LAYER_SIZE: '1G' }).maxBytes };
    const v = await verifyStream(createReadStream(small.file), [pub], { limit: over });
    expect(v).toMatchObject({ signed: true, valid: true, tarSize: small.tarSize });
  });

  // zlib skips what follows a member when it starts with a zero byte: the signed content verified, the
  // appended bytes rode along unseen. Anything else it takes for the next member's header.
  it.each([
    ['a zero byte, then text', Buffer.concat([Buffer.from([0]), Buffer.from('PS: unsigned')]), /^13 bytes of data after the end of the gzip stream$/],
    ['zero bytes', Buffer.alloc(600), /^600 bytes of data after the end of the gzip stream$/],
    ['text', Buffer.from('unsigned bytes riding along'), /^corrupt gzip stream \(incorrect header check\)$/],
    ['a second gzip header cut short', Buffer.from([0x1f, 0x8b, 0x08]), /^truncated gzip stream \(the file is cut short\)$/],
  ])('refuses a signed file with %s after its gzip stream', async (_what, extra, line) => {
    const f = appended(`appended-${extra.length}.tar.gz`, extra);
    expect((await verifyStream(createReadStream(good), [pub])).valid).toBe(true);
    const err = await verifyStream(createReadStream(f), [pub]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as Error).message).toMatch(line);
  });
});

describe('exec unpack: the bound on decompression', () => {
  let store: string;
  beforeAll(() => {
    store = path.join(dir, 'unpack-store');
    mkdirSync(store);
  });
  const meta = { digest: 'sha256:' + '0'.repeat(64), signer: null };

  it('refuses a gzip bomb and leaves nothing in the cache', async () => {
    const cache = new ExecCache(store);
    const err = await unpackEntry(cache, small.file, small.tarSize, meta, 'bomb.tar.gz', SMALL).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as Error).message).toMatch(BOMB_LINE);
    expect(readdirSync(cache.tmp)).toEqual([]);
    expect(existsSync(cache.entry('0'.repeat(64)))).toBe(false);
  });

  it('refuses bytes after the gzip stream', async () => {
    const cache = new ExecCache(store);
    const f = appended('appended-unpack.tar.gz', Buffer.alloc(100));
    await expect(unpackEntry(cache, f, 1 << 30, meta, 'appended.tar.gz')).rejects.toThrow(/^appended\.tar\.gz: 100 bytes of data after the end of the gzip stream$/);
    expect(readdirSync(cache.tmp)).toEqual([]);
  });
});

describe('embeddedConfig reads with the strict tar reader', () => {
  it('refuses a first entry that readers could disagree on (an invalid PAX uid)', async () => {
    const pack = tarStream.pack();
    const out = collect(pack as unknown as Readable);
    pack.entry({ name: '.cairn/config.json', pax: { uid: 'x' } }, Buffer.from('{}'));
    pack.finalize();
    const f = path.join(dir, 'pax.tar.gz');
    writeFileSync(f, gzipSync(await out));
    await expect(embeddedConfig(f)).rejects.toThrow(/invalid PAX uid/);
  });
});

describe('the CLI', () => {
  /** Runs cairn under GNU time: the result and the peak RSS (KiB) of the largest process. */
  function timed(args: string[]): { status: number; stdout: string; lines: string[]; maxKiB: number; ms: number } {
    const t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-q', '-f', 'maxrss=%M', CAIRN, '--root', path.join(dir, 'cli-store'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'config'), CAIRN_MAX_LAYER_SIZE: '' },
    });
    const ms = performance.now() - t0;
    const lines = r.stderr.trimEnd().split('\n');
    const max = lines.pop()!;
    return { status: r.status ?? 128, stdout: r.stdout, lines, maxKiB: Number(/^maxrss=(\d+)$/.exec(max)?.[1]), ms };
  }
  const hasTime = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-q', '-f', '%M', 'true']).status === 0;

  // exec verifies first: its refusal of a bomb is verify's, through the CLI (verify's one-line refusals: below).
  it.skipIf(!hasTime).each([
    ['exec', ['exec', '--key']],
  ])('cairn %s refuses a signed gzip bomb quickly, with one line, exit 125, in bounded memory', (verb, args) => {
    const r = timed([...args, key.pubFile, bomb.file, ...(verb === 'exec' ? ['true'] : [])]);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.lines[0]).toMatch(new RegExp(`^cairn ${verb}: .*bomb\\.tar\\.gz: ${BOMB_LINE.source}`));
    expect(r.lines).toHaveLength(2);
    expect(r.lines[1]).toMatch(/^ {2}hint: .*CAIRN_MAX_LAYER_SIZE/);
    expect(r.ms).toBeLessThan(30_000);
    // The whole stream is 384 MiB: a reader holding it would be far past this.
    expect(r.maxKiB).toBeLessThan(256 * 1024);
  }, 60_000);

  it.skipIf(!hasTime)('cairn verify refuses a signed file with bytes after its gzip stream, and verifies the file itself', () => {
    expect(timed(['verify', '--key', key.pubFile, good]).status).toBe(0);
    const r = timed(['verify', '--key', key.pubFile, appended('appended-cli.tar.gz', Buffer.from('\0PS: unsigned'))]);
    expect(r.status).toBe(125);
    expect(r.lines[0]).toMatch(/^cairn verify: .*appended-cli\.tar\.gz: 13 bytes of data after the end of the gzip stream$/);
    expect(r.lines).toHaveLength(2);
  }, 60_000);
});
