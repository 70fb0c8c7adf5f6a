import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIndex, segmentOffsets } from '../../../dsl/delta/cidx.js';
import { DEFAULT_CHUNKER } from '../../../dsl/delta/chunker.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * `cairn export` writes FILE.cidx beside a gzip FILE: an index whose segments are the file's own bytes, the
 * same for the same image every time (and whatever the number of compressing threads), and FILE stays an
 * ordinary .tar.gz that GNU tar extracts. The real `cairn` command runs (the bundled CLI, its worker threads).
 */

let k: CliKit;
let out: string;
let env: NodeJS.ProcessEnv;
const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

beforeAll(() => {
  k = cliKit('cairn-cidx-');
  out = path.join(k.root, 'out');
  mkdirSync(out);
  env = { SOURCE_DATE_EPOCH: '0', XDG_CONFIG_HOME: path.join(k.root, 'config') };
  k.ok(['tag', k.ok(['pull', `tarball:${tinyRootfsTar()}`]), 'localhost/tiny:1'], { env });
});
afterAll(() => k?.cleanup());

describe('cairn export writes a chunk index', () => {
  it('beside FILE.tar.gz, describing exactly its bytes; the printed digest is the file\'s', () => {
    const file = path.join(out, 'a.tar.gz');
    const digest = k.ok(['export', 'localhost/tiny:1', file], { env });
    const bytes = readFileSync(file);
    expect(digest).toBe('sha256:' + sha(bytes).toString('hex'));
    const idx = decodeIndex(readFileSync(`${file}.cidx`));
    expect(idx.fileSha256.equals(sha(bytes))).toBe(true);
    expect(idx.fileSize).toBe(bytes.length);
    expect(idx.hashLen).toBe(20);
    expect(idx.chunker).toEqual(DEFAULT_CHUNKER);
    expect(idx.compressor).toMatch(/^deflate-1\/zlib-/);
    expect(bytes.subarray(0, idx.head.length).equals(idx.head)).toBe(true);
    expect(bytes.subarray(bytes.length - idx.tail.length).equals(idx.tail)).toBe(true);
    // More than one batch of segments: the compressing threads did this export.
    expect(idx.segments.length).toBeGreaterThan(16);
    const offs = segmentOffsets(idx);
    let ulen = 0;
    idx.segments.forEach((s, i) => {
      const slice = bytes.subarray(offs[i], offs[i] + s.clen);
      expect(sha(slice).subarray(0, idx.hashLen).equals(s.hash)).toBe(true);
      ulen += s.ulen;
    });
    expect(ulen).toBe(zlib.gunzipSync(bytes).length);
    // Still an ordinary, signed .tar.gz.
    const x = path.join(out, 'x');
    mkdirSync(x);
    const tar = spawnSync('tar', ['-xzf', file, '-C', x], { encoding: 'utf8' });
    expect(tar.stderr).toBe('');
    expect(tar.status).toBe(0);
    expect(existsSync(path.join(x, 'bin', 'sh'))).toBe(true);
    expect(existsSync(path.join(x, '.cairn', 'config.json'))).toBe(true);
    expect(k.cairn(['verify', file], { env }).status).toBe(0);
  });

  it('gives the same file and index for the same image, whatever the number of compressing threads', () => {
    const a = path.join(out, 'r1.tar.gz');
    const b = path.join(out, 'r2.tar.gz');
    k.ok(['export', 'localhost/tiny:1', a], { env });
    k.ok(['export', 'localhost/tiny:1', b], { env: { ...env, CAIRN_COMPRESS_THREADS: '0' } });
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(`${a}.cidx`).equals(readFileSync(`${b}.cidx`))).toBe(true);
  });

  it('writes none with --no-index (removing one an earlier export left) or for a plain .tar', () => {
    const file = path.join(out, 'n.tar.gz');
    k.ok(['export', 'localhost/tiny:1', file], { env });
    expect(existsSync(`${file}.cidx`)).toBe(true);
    k.ok(['export', '--no-index', 'localhost/tiny:1', file], { env });
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}.cidx`)).toBe(false);
    const plain = path.join(out, 'p.tar');
    writeFileSync(`${plain}.cidx`, 'stale');
    k.ok(['export', 'localhost/tiny:1', plain], { env });
    expect(existsSync(`${plain}.cidx`)).toBe(false);
  });

  it('cuts segments as --chunk-size says, and records the sizes in the index; bad sizes are one line before any work', () => {
    const file = path.join(out, 'c.tar.gz');
    k.ok(['export', '--chunk-size', '2K:8K:32K', 'localhost/tiny:1', file], { env });
    const bytes = readFileSync(file);
    const idx = decodeIndex(readFileSync(`${file}.cidx`));
    expect(idx.chunker).toEqual({ ...DEFAULT_CHUNKER, min: 2048, avg: 8192, max: 32768 });
    expect(Math.max(...idx.segments.map((s) => s.ulen))).toBeLessThanOrEqual(32768);
    const plainSizes = path.join(out, 'd.tar.gz');
    k.ok(['export', 'localhost/tiny:1', plainSizes], { env });
    expect(idx.segments.length).toBeGreaterThan(2 * decodeIndex(readFileSync(`${plainSizes}.cidx`)).segments.length);
    expect(zlib.gunzipSync(bytes).equals(zlib.gunzipSync(readFileSync(plainSizes)))).toBe(true);
    // AVG alone: AVG/4 and AVG×4 around it, as casync's --chunk-size.
    k.ok(['export', '--chunk-size', '16K', 'localhost/tiny:1', file], { env });
    expect(decodeIndex(readFileSync(`${file}.cidx`)).chunker).toMatchObject({ min: 4096, avg: 16384, max: 65536 });
    for (const [bad, says] of [
      ['3K:12K:48K', /--chunk-size: bad chunker parameters .*avg a power of two/],
      ['8K:4K:32K', /--chunk-size: bad chunker parameters/],
      ['1K:2K', /--chunk-size: chunk sizes "1K:2K": want MIN:AVG:MAX or AVG/],
      ['8K:32K:1G', /--chunk-size: chunk sizes "8K:32K:1G"/],
      ['32K:64K:128M', /the largest segment may be 64M at most/],
    ] as const) {
      const r = k.cairn(['export', '--chunk-size', bad, 'localhost/tiny:1', path.join(out, 'bad.tar.gz')], { env });
      expect(r.status).toBe(125);
      expect(r.stderr.trim().split('\n')[0]).toMatch(says);
      expect(existsSync(path.join(out, 'bad.tar.gz'))).toBe(false);
    }
    const r = k.cairn(['export', '--chunk-size', '8K', 'localhost/tiny:1', path.join(out, 'plain.tar')], { env });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/plain tar, and segment sizes are the gzip's/);
  });
});
