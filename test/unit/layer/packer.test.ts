// The tar packer: the same bytes whatever the buffer it fills, the digest without a stream, and sources that
// change between the scan and the packing.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerEntry } from '../../../dsl/layer/entry.js';
import { scanTree } from '../../../dsl/layer/scan.js';
import { TarPacker, digestEntries, packEntries } from '../../../dsl/layer/tarwriter.js';
import { collect, tmpDir } from '../../kit/tarfix.js';

const tmp = tmpDir('packer');
afterAll(tmp.cleanup);

/** Every byte a packer gives when filling buffers of size n. */
function byFill(entries: LayerEntry[], n: number): Buffer {
  const p = new TarPacker(entries);
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(n);
  for (let k = p.fill(buf); k > 0; k = p.fill(buf)) parts.push(Buffer.from(buf.subarray(0, k)));
  return Buffer.concat(parts);
}

describe('TarPacker', () => {
  const tree = path.join(tmp.dir, 'tree');
  let entries: LayerEntry[];

  beforeAll(async () => {
    mkdirSync(path.join(tree, 'd'), { recursive: true });
    // Larger than one chunk (1 MiB) and not a whole number of blocks; small files around it; an empty one.
    writeFileSync(path.join(tree, 'big'), randomBytes((5 << 19) + 77));
    for (let i = 0; i < 40; i++) writeFileSync(path.join(tree, 'd', `f${i}`), randomBytes(i * 37));
    writeFileSync(path.join(tree, 'empty'), '');
    // A name that needs a PAX header (not ASCII), so header blocks are longer than one block.
    writeFileSync(path.join(tree, 'd', 'é'.repeat(120)), 'x');
    symlinkSync('big', path.join(tree, 'link'));
    entries = await scanTree(tree);
  });

  it('gives the same bytes as the stream, whatever the size of the buffer it fills', async () => {
    const stream = await collect(packEntries(entries));
    expect(stream.length % 512).toBe(0);
    expect(stream.length).toBeGreaterThan(5 << 19);
    for (const n of [511, 513, 4096, 3 << 20]) expect(byFill(entries, n).equals(stream), `buffer of ${n}`).toBe(true);
  });

  it('digests the tar the stream would give', async () => {
    const stream = await collect(packEntries(entries, { timestamp: 1_000 }));
    const want = 'sha256:' + createHash('sha256').update(stream).digest('hex');
    expect(await digestEntries(entries, { timestamp: 1_000 })).toEqual({ digest: want, size: stream.length });
  });

  it('digests a big tar on a worker thread to the same digest', async () => {
    const big = path.join(tmp.dir, 'bigtree');
    mkdirSync(big);
    // Sparse: 33 MiB of content (past the worker threshold, 32 MiB: dsl/layer/tarwriter.ts) that costs no disk.
    writeFileSync(path.join(big, 'sparse'), '');
    truncateSync(path.join(big, 'sparse'), 33 << 20);
    writeFileSync(path.join(big, 'after'), randomBytes(3000));
    const e = await scanTree(big);
    const stream = await collect(packEntries(e));
    const want = 'sha256:' + createHash('sha256').update(stream).digest('hex');
    expect(await digestEntries(e)).toEqual({ digest: want, size: stream.length });
  });

  describe('a source that changes after the scan', () => {
    const dir = path.join(tmp.dir, 'changing');
    const file = path.join(dir, 'f');
    const canary = path.join(tmp.dir, 'canary');

    /** The scanned entry of f, then change(f) runs. */
    async function scannedThen(content: string, change: () => void): Promise<LayerEntry[]> {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      writeFileSync(file, content);
      const found = (await scanTree(dir)).filter((e) => e.path === 'f');
      change();
      return found;
    }

    it.each([
      ['grows', 'content', () => writeFileSync(file, 'content and more'), /changed size/],
      ['shrinks', 'content', () => writeFileSync(file, 'c'), /changed size/],
      ['an empty file gets content', '', () => writeFileSync(file, 'now some'), /changed size/],
      ['vanishes', 'content', () => rmSync(file), /vanished/],
    ])('%s: the digest fails and so does the stream', async (_, content, change, err) => {
      const e = await scannedThen(content, change);
      await expect(digestEntries(e)).rejects.toThrow(err);
      await expect(collect(packEntries(e))).rejects.toThrow(err);
    });

    it('is replaced by a symlink to a host file: refused, and nothing of that file is read', async () => {
      writeFileSync(canary, 'HOST SECRET');
      const e = await scannedThen('content', () => {
        rmSync(file);
        symlinkSync(canary, file);
      });
      await expect(digestEntries(e)).rejects.toThrow(/was replaced/);
      const partial: Buffer[] = [];
      const s = packEntries(e);
      s.on('data', (c: Buffer) => partial.push(c));
      await expect(new Promise((res, rej) => s.on('end', res).on('error', rej))).rejects.toThrow(/was replaced/);
      expect(Buffer.concat(partial).includes('HOST SECRET')).toBe(false);
      expect(readFileSync(canary, 'utf8')).toBe('HOST SECRET');
    });
  });
});
