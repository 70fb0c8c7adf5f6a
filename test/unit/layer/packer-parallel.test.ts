// The parallel fill (dsl/layer/tar-fill.ts): big tars are filled by threads, segment by segment, and must give the
// serial packer's bytes, digest and errors exactly: many small files around files that span segments, a file
// ending exactly at a segment's end, and sources that change, vanish or are swapped between the scan and the fill.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerEntry } from '../../../dsl/layer/entry.js';
import { scanTree } from '../../../dsl/layer/scan.js';
import { SEG, TarFill, fillsInParallel } from '../../../dsl/layer/tar-fill.js';
import { claimCrew, returnCrew } from '../../../dsl/layer/tar-threads.js';
import { TarPacker, digestEntries, packEntries } from '../../../dsl/layer/tarwriter.js';
import { collect, tmpDir } from '../../kit/tarfix.js';

const tmp = tmpDir('packer-parallel');
afterAll(tmp.cleanup);

const MiB = 1 << 20;
/**
 * The fills here are parallel from this much content (packEntries' and digestEntries' parallelAt): a few times the
 * transfer buffers (8 segments), so buffers are reused, at an eighth of the default's bytes to read and hash.
 */
const AT = 4 * MiB;
/** packEntries' and digestEntries' options here. */
const opts = (timestamp?: number) => ({ timestamp, parallelAt: AT });

/** The serial packer's bytes (the reference), or its error. */
function serial(entries: LayerEntry[], timestamp?: number): Buffer {
  const p = new TarPacker(entries, timestamp);
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(MiB);
  try {
    for (let k = p.fill(buf); k > 0; k = p.fill(buf)) parts.push(Buffer.from(buf.subarray(0, k)));
  } finally {
    p.close();
  }
  return Buffer.concat(parts);
}

/** The bytes TarFill hands on, giving back every other buffer (so both reused and fresh buffers are filled). */
async function parallel(entries: LayerEntry[], timestamp?: number): Promise<Buffer> {
  const fill = new TarFill(entries, timestamp);
  const parts: Buffer[] = [];
  try {
    let i = 0;
    for (let b = await fill.next(); b; b = await fill.next()) {
      parts.push(Buffer.from(b));
      if (i++ % 2 === 0) fill.release(b);
    }
  } finally {
    fill.close();
  }
  return Buffer.concat(parts);
}

const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A sparse file of size bytes (content that costs no disk), at least AT so the fill is parallel. */
function sparse(file: string, size = AT + 3 * MiB + 123): void {
  writeFileSync(file, '');
  truncateSync(file, size);
}

/** A plain entry of a regular file. */
function fileEntry(p: string, source: string, size: number): LayerEntry {
  return { path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 1_600_000_000, source };
}

describe('the parallel fill gives the serial bytes', () => {
  const tree = path.join(tmp.dir, 'tree');
  let entries: LayerEntry[];

  beforeAll(async () => {
    mkdirSync(path.join(tree, 'd', 'sub'), { recursive: true });
    // Random content everywhere but the sparse file, so a segment put in the wrong place changes the digest.
    for (let i = 0; i < 600; i++) writeFileSync(path.join(tree, i % 3 ? 'd' : 'd/sub', `f${String(i).padStart(3, '0')}`), randomBytes((i * 97) % 9000));
    sparse(path.join(tree, 'a-sparse'));
    writeFileSync(path.join(tree, 'b-spans'), randomBytes(3 * MiB + 777));
    writeFileSync(path.join(tree, 'c-blocks'), randomBytes(2 * MiB));
    writeFileSync(path.join(tree, 'd', 'é'.repeat(120)), 'a name that takes a PAX header');
    writeFileSync(path.join(tree, 'empty'), '');
    symlinkSync('b-spans', path.join(tree, 'link'));
    linkSync(path.join(tree, 'c-blocks'), path.join(tree, 'hard'));
    entries = await scanTree(tree);
    expect(fillsInParallel(entries, AT)).toBe(true);
    // Below the default threshold: parallelAt is what makes these fills parallel.
    expect(fillsInParallel(entries)).toBe(false);
  });

  it.each([undefined, 1_500_000_000])('same bytes and digest as the serial packer (timestamp %s)', async (ts) => {
    const want = serial(entries, ts);
    expect(want.length).toBeGreaterThan(AT);
    const got = await parallel(entries, ts);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
    expect(await digestEntries(entries, opts(ts))).toEqual({ digest: sha(want), size: want.length });
    expect((await collect(packEntries(entries, opts(ts)))).equals(want)).toBe(true);
  });

  it('a file whose content ends exactly at a segment end (no padding after it) is checked and packed too', async () => {
    const dir = path.join(tmp.dir, 'edge');
    mkdirSync(dir, { recursive: true });
    // Its header (one block) then 2 segments less 512 bytes of content: the second segment ends with its last byte.
    writeFileSync(path.join(dir, 'a'), randomBytes(2 * SEG - 512));
    writeFileSync(path.join(dir, 'b'), randomBytes(5000));
    sparse(path.join(dir, 'c'));
    const e = [fileEntry('a', path.join(dir, 'a'), 2 * SEG - 512), fileEntry('b', path.join(dir, 'b'), 5000), fileEntry('c', path.join(dir, 'c'), AT + 3 * MiB + 123)];
    const want = serial(e);
    expect((await parallel(e)).equals(want)).toBe(true);
    appendFileSync(path.join(dir, 'a'), 'x');
    await expect(digestEntries(e, opts())).rejects.toThrow(`${path.join(dir, 'a')} changed size`);
  });

  it('a fill given up part way, segments still out with its thread, leaves nothing to the next fill', async () => {
    const want = serial(entries);
    for (let i = 0; i < 3; i++) {
      // Another tar (without the sparse file: random content where the next one has zeros), so a segment of this
      // fill handed to the next would change its bytes.
      const early = new TarFill(entries.filter((e) => !e.path.includes('sparse')));
      expect((await early.next())!.length).toBeGreaterThan(0);
      early.close();
      expect((await parallel(entries)).equals(want)).toBe(true);
    }
  });
});

describe('the threads of a fill', () => {
  it('are kept for the next fill when nothing is left with them, and stopped when they failed', async () => {
    const crew = claimCrew();
    returnCrew(crew);
    expect(claimCrew()).toBe(crew);
    // A second crew given back while one is kept is stopped (its thread exits).
    const other = claimCrew();
    returnCrew(crew);
    const exited = once(other.fillers[0], 'exit');
    returnCrew(other);
    await exited;
    expect(claimCrew()).toBe(crew);
    // A crew whose thread ended is not kept.
    const broken = claimCrew();
    await broken.fillers[0].terminate();
    await new Promise((r) => setImmediate(r));
    expect(broken.failed).toBe(true);
    returnCrew(broken);
    const next = claimCrew();
    expect(next).not.toBe(broken);
    crew.stop();
    next.stop();
  });
});

describe('a source that changes between the scan and the parallel fill', () => {
  const dir = path.join(tmp.dir, 'changing');
  const file = path.join(dir, 'm-file');
  const big = path.join(dir, 'a-big');
  const canary = path.join(tmp.dir, 'canary');

  /** The entries of a fresh tree (a big sparse file first, f with content), then change() runs. */
  async function scannedThen(content: string | Buffer, change: () => void): Promise<LayerEntry[]> {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    sparse(big, AT + 123);
    writeFileSync(file, content);
    for (let i = 0; i < 50; i++) writeFileSync(path.join(dir, `z${i}`), randomBytes(3000));
    const found = await scanTree(dir);
    change();
    return found;
  }

  /** The serial packer's error for these entries. */
  function serialError(e: LayerEntry[]): Error {
    try {
      serial(e);
    } catch (err) {
      return err as Error;
    }
    throw new Error('the serial packer did not fail');
  }

  it.each([
    ['grows', 'content', () => appendFileSync(file, ' and more'), /m-file changed size/],
    ['shrinks', 'content', () => writeFileSync(file, 'c'), /m-file changed size/],
    ['an empty file gets content', '', () => writeFileSync(file, 'now some'), /m-file changed size/],
    ['vanishes', 'content', () => rmSync(file), /m-file vanished/],
    ['is replaced by a FIFO', 'content', () => (rmSync(file), execFileSync('mkfifo', [file])), /m-file changed size/],
    ['spans segments and shrinks', randomBytes(3 * MiB), () => truncateSync(file, 2 * MiB), /m-file changed size/],
    ['spans segments and grows', randomBytes(3 * MiB), () => appendFileSync(file, 'x'), /m-file changed size/],
    ['the big file grows', 'content', () => truncateSync(big, AT + 4 * MiB), /a-big changed size/],
  ])('%s: the same error as the serial packer, from the digest and the stream', async (_, content, change, err) => {
    const e = await scannedThen(content, change);
    expect(fillsInParallel(e, AT)).toBe(true);
    const want = serialError(e);
    expect(want.message).toMatch(err);
    await expect(digestEntries(e, opts())).rejects.toThrow(want.message);
    await expect(parallel(e)).rejects.toThrow(want.message);
    await expect(collect(packEntries(e, opts()))).rejects.toThrow(want.message);
  });

  it('is replaced by a symlink to a host file: refused, and nothing of that file is read', async () => {
    writeFileSync(canary, 'HOST SECRET');
    const e = await scannedThen('content', () => {
      rmSync(file);
      symlinkSync(canary, file);
    });
    await expect(digestEntries(e, opts())).rejects.toThrow(`${file} was replaced`);
    const partial: Buffer[] = [];
    const s = packEntries(e, opts());
    s.on('data', (c: Buffer) => partial.push(Buffer.from(c)));
    await expect(new Promise((res, rej) => s.on('end', res).on('error', rej))).rejects.toThrow(/was replaced/);
    expect(Buffer.concat(partial).includes('HOST SECRET')).toBe(false);
    expect(readFileSync(canary, 'utf8')).toBe('HOST SECRET');
  });

  it('two failures: the first one in tar order is the one reported, as the serial packer reports it', async () => {
    const e = await scannedThen('content', () => {
      rmSync(file);
      // A later entry, in another segment, fails too.
      appendFileSync(path.join(dir, 'z9'), 'more');
    });
    expect(serialError(e).message).toMatch(/m-file vanished/);
    await expect(digestEntries(e, opts())).rejects.toThrow(`${file} vanished`);
  });

  it('an entry the layout refuses comes after the failures of the entries before it', async () => {
    const e = await scannedThen('content', () => undefined);
    const bad: LayerEntry = { path: 'zz/../escape', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 };
    await expect(digestEntries([...e, bad], opts())).rejects.toThrow(/invalid layer entry path/);
    await expect(parallel([...e, bad])).rejects.toThrow(/invalid layer entry path/);
    rmSync(file);
    await expect(digestEntries([...e, bad], opts())).rejects.toThrow(`${file} vanished`);
    const nosource: LayerEntry = { ...bad, path: 'zz-nosource', size: 10 };
    writeFileSync(file, 'content');
    await expect(digestEntries([...e, nosource], opts())).rejects.toThrow('layer entry zz-nosource has no source file');
  });
});
