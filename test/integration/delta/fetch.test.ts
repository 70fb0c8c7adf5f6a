import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIndex, encodeIndex } from '../../../dsl/delta/cidx.js';
import { chunkedGzip } from '../../kit/delta-fetch.js';
import { flatFile, installLocalKey, runCairn, testKey, type ExtraEntry } from '../../kit/flat.js';
import { startNginx, type Nginx } from '../../kit/nginx.js';

/*
 * `cairn fetch URL` against a real nginx: the first fetch downloads the file whole and keeps it beside its
 * cache entry; an update downloads only the segments no cached file holds, by range requests (nginx's
 * access log counts the bytes sent), rebuilds the file byte for byte and verifies it.
 */

let dir: string;
let srv: string;
let nginx: Nginx;
let key: ReturnType<typeof testKey>;
let clock = 1_700_000_000;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Text-like content that compresses as real files do, different for each seed. */
function textOf(seed: number, size: number): Buffer {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'config', 'value', 'lib', 'usr', 'share', 'cairn', String(seed)];
  const out: string[] = [];
  let x = seed * 2654435761 + 1;
  let len = 0;
  while (len < size) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = words[x % words.length] + (x % 7 === 0 ? '\n' : ' ');
    out.push(w);
    len += w.length;
  }
  return Buffer.from(out.join('').slice(0, size));
}

/** A tree of n files: half text-like, half random, 2–30 KB each. */
function tree(n: number, changed: Set<number> = new Set(), salt = 0): ExtraEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const size = 2048 + ((i * 7919) % 28000);
    const seed = changed.has(i) ? 100000 + i + salt : i;
    const body = i % 2 ? textOf(seed, size) : createHash('sha512').update(`r${seed}`).digest().toString('hex').repeat(Math.ceil(size / 128)).slice(0, size);
    return { name: `data/f${String(i).padStart(4, '0')}`, body: Buffer.isBuffer(body) ? body : Buffer.from(body) };
  });
}

/** Writes a signed flat image of extra as a chunked gzip + its index into srv under name (rename: atomic for the server). */
async function publish(name: string, extra: ExtraEntry[], tiny = false): Promise<Buffer> {
  const plain = path.join(dir, `plain-${process.hrtime.bigint()}`);
  await flatFile(plain, { key, gzip: false, tiny, config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['true'] } }, extra });
  const { file, index } = chunkedGzip(readFileSync(plain));
  rmSync(plain);
  for (const [suffix, bytes] of [['.cidx', index], ['', file]] as const) {
    writeFileSync(path.join(dir, 'next'), bytes);
    // nginx's ETag is mtime + size: a new version in the same second must not look unchanged.
    utimesSync(path.join(dir, 'next'), clock, clock++);
    renameSync(path.join(dir, 'next'), path.join(srv, name + suffix));
  }
  return file;
}

interface Figures {
  kind: string;
  digest?: string;
  indexBytes: number;
  downloaded: number;
  reused: number;
  requests: number;
}

async function fetch(store: string, url: string, extra: string[] = []): Promise<Figures & { stderr: string }> {
  const r = await runCairn(['--root', store, 'fetch', '--json', '--key', key.pubFile, ...extra, url]);
  expect(r.stderr.split('\n').filter((l) => / at .*\.js/.test(l))).toEqual([]);
  expect(r.status, r.stderr).toBe(0);
  return { ...(JSON.parse(r.stdout) as Figures), stderr: r.stderr };
}

/** Every file kept in the cache has the hash its entry is named for. */
function keptFilesSound(store: string): number {
  const ex = path.join(store, 'exec');
  let n = 0;
  for (const hex of readdirSync(ex).filter((x) => /^[0-9a-f]{64}$/.test(x))) {
    const f = path.join(ex, hex, 'image');
    if (!existsSync(f)) continue;
    expect(sha(readFileSync(f))).toBe(hex);
    n++;
  }
  return n;
}

/** Body bytes nginx sent for uri, and its requests, since the last reset (waits for the log to show `requests` lines). */
async function served(uri: string, requests: number): Promise<{ bytes: number; hits: number; all: number }> {
  for (let i = 0; i < 200 && nginx.hits().length < requests; i++) await new Promise((r) => setTimeout(r, 10));
  const hits = nginx.hits();
  const mine = hits.filter((h) => h.uri === uri);
  return { bytes: mine.reduce((a, h) => a + h.bodyBytes, 0), hits: mine.length, all: hits.length };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-delta-'));
  srv = path.join(dir, 'srv');
  mkdirSync(srv);
  key = testKey(dir, 'signer');
  installLocalKey(path.join(dir, 'config'), key);
  nginx = await startNginx(srv, dir);
});

afterAll(async () => {
  await nginx?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('cairn fetch URL with URL.cidx, served by nginx', () => {
  it('downloads the first version whole, then only what an appended and a changed file need', async () => {
    const store = path.join(dir, 'store-a');
    const base = tree(120);
    const v1 = await publish('app.tar.gz', base);
    const url = `${nginx.url}/app.tar.gz`;
    nginx.reset();
    const first = await fetch(store, url);
    expect(first.kind).toBe('plain');
    expect(first.digest).toBe(`sha256:${sha(v1)}`);
    expect((await served('/app.tar.gz', 2)).bytes).toBe(v1.length);
    expect(keptFilesSound(store)).toBe(1);

    // v2: one file changed in the middle, one appended.
    const v2tree = tree(120, new Set([60]));
    v2tree.push({ name: 'data/new-file', body: textOf(777, 20000) });
    const v2 = await publish('app.tar.gz', v2tree);
    nginx.reset();
    const plan = await fetch(store, url, ['--dry-run']);
    expect(plan.kind).toBe('planned');
    expect((await served('/app.tar.gz', 1)).hits).toBe(0);
    nginx.reset();
    const up = await fetch(store, url);
    expect(up.kind).toBe('rebuilt');
    expect(up.digest).toBe(`sha256:${sha(v2)}`);
    const s = await served('/app.tar.gz', up.requests);
    // What nginx sent is what cairn counted, and what the dry run announced (give or take multipart headers).
    expect(s.all).toBe(up.requests);
    expect(s.bytes).toBe(up.downloaded);
    expect(up.requests).toBe(plan.requests);
    expect(up.downloaded).toBeGreaterThanOrEqual(plan.downloaded);
    expect(up.downloaded).toBeLessThan(plan.downloaded + 2048);
    expect(up.reused + plan.downloaded + 10 + 10).toBe(v2.length);
    expect(up.downloaded).toBeLessThan(v2.length / 10);
    expect(readFileSync(path.join(store, 'exec', sha(v2), 'image')).equals(v2)).toBe(true);
    expect(keptFilesSound(store)).toBe(2);

    // Unchanged: one conditional request for the index, answered 304.
    nginx.reset();
    const again = await fetch(store, url);
    expect(again.kind).toBe('current');
    const hits = nginx.hits();
    expect(hits.map((h) => [h.uri, h.status])).toEqual([['/app.tar.gz.cidx', 304]]);

    // `cairn pull tarball:URL` reuses the segments the exec cache kept too.
    const v3tree = [...v2tree, { name: 'data/newer', body: textOf(778, 9000) }];
    const v3 = await publish('app.tar.gz', v3tree);
    nginx.reset();
    const pull = await runCairn(['--root', store, 'pull', `tarball:${url}`], { env: { XDG_CONFIG_HOME: path.join(dir, 'config') } });
    expect(pull.status, pull.stderr).toBe(0);
    const p = await served('/app.tar.gz', 2);
    expect(p.bytes).toBeGreaterThan(0);
    expect(p.bytes).toBeLessThan(v3.length / 10);
    const tmp = readdirSync(path.join(store, 'tmp')).filter((n) => n.startsWith('tarball-url-'));
    expect(tmp).toEqual([]);
  });

  it('cairn exec URL runs the update it rebuilt', async () => {
    const store = path.join(dir, 'store-e');
    const url = `${nginx.url}/run.tar.gz`;
    const exec = (): Promise<{ status: number; stdout: string; stderr: string }> =>
      runCairn(['--root', store, 'exec', '--key', key.pubFile, url, '--', 'cat', '/etc/motd'], { env: { XDG_CONFIG_HOME: path.join(dir, 'config') } });
    await publish('run.tar.gz', [...tree(40), { name: 'etc/motd', body: 'one\n' }], true);
    expect((await exec()).stdout).toBe('one\n');
    const v2 = await publish('run.tar.gz', [...tree(40), { name: 'etc/motd', body: 'two\n' }], true);
    nginx.reset();
    const r = await exec();
    expect([r.status, r.stdout], r.stderr).toEqual([0, 'two\n']);
    const s = await served('/run.tar.gz', 2);
    expect(s.hits).toBe(1);
    expect(s.bytes).toBeLessThan(v2.length / 5);
    expect(keptFilesSound(store)).toBe(2);
  });

  it('updates a tree with 1% of its files changed by downloading about those files', async () => {
    const store = path.join(dir, 'store-b');
    const n = 300;
    await publish('tree.tar.gz', tree(n));
    const url = `${nginx.url}/tree.tar.gz`;
    await fetch(store, url);
    const changed = new Set([7, 150, 299]);
    const v2tree = tree(n, changed, 1);
    const v2 = await publish('tree.tar.gz', v2tree);
    const raw = [...changed].reduce((a, i) => a + (v2tree[i].body as Buffer).length, 0);
    nginx.reset();
    const up = await fetch(store, url);
    expect(up.kind).toBe('rebuilt');
    expect(up.digest).toBe(`sha256:${sha(v2)}`);
    const s = await served('/tree.tar.gz', up.requests);
    expect(s.bytes).toBe(up.downloaded);
    // Segment granularity (16 KiB average, 64 KiB at most) around each change.
    expect(up.downloaded).toBeLessThan(raw + 3 * 2 * (64 << 10));
    expect(up.requests).toBeLessThanOrEqual(2 + 3 / 16 + 1);
    expect(keptFilesSound(store)).toBe(2);
  });

  it("updates from cairn export's own FILE.cidx: one file changed in a tree", async () => {
    const build = path.join(dir, 'store-build');
    const store = path.join(dir, 'store-f');
    const env = { env: { XDG_CONFIG_HOME: path.join(dir, 'config'), SOURCE_DATE_EPOCH: '1700000000' } };
    const src = path.join(dir, 'src');
    const cli = async (args: string[]): Promise<string> => {
      const r = await runCairn(['--root', build, ...args], env);
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const image = async (tag: string, files: ExtraEntry[]): Promise<Buffer> => {
      rmSync(src, { recursive: true, force: true });
      mkdirSync(src, { recursive: true });
      for (const f of files) writeFileSync(path.join(src, path.basename(f.name)), f.body as Buffer);
      const ctr = await cli(['from', 'scratch']);
      await cli(['copy', ctr, src, '/data']);
      await cli(['commit', ctr, tag]);
      await cli(['rm', ctr]);
      const out = path.join(dir, 'export.tar.gz');
      await cli(['export', tag, out]);
      expect(existsSync(out + '.cidx')).toBe(true);
      const bytes = readFileSync(out);
      utimesSync(out, clock, clock);
      utimesSync(out + '.cidx', clock, clock++);
      renameSync(out + '.cidx', path.join(srv, 'real.tar.gz.cidx'));
      renameSync(out, path.join(srv, 'real.tar.gz'));
      return bytes;
    };
    const url = `${nginx.url}/real.tar.gz`;
    await image('real:1', tree(200));
    expect((await fetch(store, url)).kind).toBe('plain');
    const v2tree = tree(200, new Set([101]), 3);
    const v2 = await image('real:2', v2tree);
    nginx.reset();
    const up = await fetch(store, url);
    expect(up.kind).toBe('rebuilt');
    expect(up.digest).toBe(`sha256:${sha(v2)}`);
    const s = await served('/real.tar.gz', up.requests);
    expect(s.bytes).toBe(up.downloaded);
    expect(up.downloaded).toBeLessThan(v2.length / 10);
    expect(keptFilesSound(store)).toBe(2);
  });

  it('falls back to a whole download when a cached segment is corrupt, and drops that file', async () => {
    const store = path.join(dir, 'store-c');
    const v1 = await publish('c.tar.gz', tree(60));
    const url = `${nginx.url}/c.tar.gz`;
    await fetch(store, url);
    const kept = path.join(store, 'exec', sha(v1), 'image');
    const b = readFileSync(kept);
    b[b.length >> 1] ^= 0x40;
    writeFileSync(kept, b);
    const v2 = await publish('c.tar.gz', tree(60, new Set([3])));
    const up = await fetch(store, url);
    expect(up.stderr).toMatch(/corrupt.*downloading the whole file instead/);
    expect(up.kind).toBe('plain');
    expect(up.digest).toBe(`sha256:${sha(v2)}`);
    expect(existsSync(kept)).toBe(false);
    expect(keptFilesSound(store)).toBe(1);
  });

  it('downloads the file whole when the rebuilt file is not the one its index names', async () => {
    const store = path.join(dir, 'store-g');
    const url = `${nginx.url}/g.tar.gz`;
    await publish('g.tar.gz', tree(40));
    await fetch(store, url);
    const v2 = await publish('g.tar.gz', tree(40, new Set([9])));
    // Every segment right, the file's sha256 wrong: only the whole-file check can tell.
    const cidx = path.join(srv, 'g.tar.gz.cidx');
    const idx = decodeIndex(readFileSync(cidx));
    writeFileSync(cidx, encodeIndex({ ...idx, fileSha256: createHash('sha256').update('another file').digest() }));
    utimesSync(cidx, clock, clock++);
    const r = await fetch(store, url);
    expect(r.stderr).toMatch(/the rebuilt file does not match its index: downloading the whole file instead/);
    expect([r.kind, r.digest]).toEqual(['plain', `sha256:${sha(v2)}`]);
    expect(existsSync(path.join(store, 'exec', sha(v2), 'image'))).toBe(false);
    expect(keptFilesSound(store)).toBe(1);
  });

  it('ignores a malformed, absurd or oversized index and downloads the file whole', async () => {
    const store = path.join(dir, 'store-d');
    const v1 = await publish('d.tar.gz', tree(10));
    const url = `${nginx.url}/d.tar.gz`;
    const good = readFileSync(path.join(srv, 'd.tar.gz.cidx'));
    const idx = decodeIndex(good);
    const countAt = good.length - idx.segments.length * (8 + idx.hashLen) - 4;
    const short = Buffer.from(good.subarray(0, countAt + 4 + 16));
    short.writeUInt32BE(0xffffffff, countAt);
    // A segment count of 2^32-1 on a short table; one segment of 4 GiB - 1 that adds up; 5 MiB of index.
    const big = encodeIndex({ ...idx, fileSize: idx.head.length + idx.tail.length + 0xffffffff, segments: [{ ulen: 0xffffffff, clen: 0xffffffff, hash: idx.segments[0].hash }] });
    const cases: [string, Buffer][] = [
      ['count', short],
      ['segment', big],
      ['huge', Buffer.concat([good, randomBytes(5 << 20)])],
    ];
    for (const [what, bytes] of cases) {
      writeFileSync(path.join(srv, 'd.tar.gz.cidx'), bytes);
      rmSync(store, { recursive: true, force: true });
      nginx.reset();
      const r = await fetch(store, url);
      expect(r.kind, what).toBe('plain');
      expect(r.digest).toBe(`sha256:${sha(v1)}`);
      expect(r.stderr, what).toMatch(/ignored, the whole file is downloaded/);
      expect(keptFilesSound(store)).toBe(0);
    }
  });
});
