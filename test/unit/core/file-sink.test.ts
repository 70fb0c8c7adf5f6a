import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSink } from '../../../dsl/core/file-sink.js';
import { noise } from '../../kit/delta.js';
import { fdsOn } from '../../kit/fds.js';
import { tmpDir } from '../../kit/tarfix.js';

const tmp = tmpDir('file-sink');
afterAll(tmp.cleanup);

describe('fileSink', () => {
  it('writes every chunk in order: a thousand tiny ones (more than one writev takes), middling ones, and ones over its batch', async () => {
    const data = noise(11, 9 << 20);
    const sizes = [...Array.from({ length: 1000 }, (_, i) => 1 + (i % 7)), 16384, 65536, 3 << 20, 100, 40_000, 5 << 20];
    const chunks: Buffer[] = [];
    let at = 0;
    for (const n of sizes) {
      if (at >= data.length) break;
      chunks.push(data.subarray(at, at + n));
      at += n;
    }
    if (at < data.length) chunks.push(data.subarray(at));
    const f = path.join(tmp.dir, 'out');
    await pipeline(Readable.from(chunks), fileSink(f, { mode: 0o600 }));
    expect(readFileSync(f).equals(data)).toBe(true);
    expect(statSync(f).mode & 0o777).toBe(0o600 & ~process.umask());
  });

  it('writes an empty file for an empty stream', async () => {
    const f = path.join(tmp.dir, 'empty');
    await pipeline(Readable.from([]), fileSink(f));
    expect(statSync(f).size).toBe(0);
  });

  it('refuses a file that exists (wx), leaving it as it was, and holds no descriptor after', async () => {
    const f = path.join(tmp.dir, 'there');
    writeFileSync(f, 'keep');
    const sink = fileSink(f);
    const closed = new Promise((r) => sink.once('close', r));
    await expect(pipeline(Readable.from([Buffer.from('new')]), sink)).rejects.toMatchObject({ code: 'EEXIST' });
    await closed;
    expect(readFileSync(f, 'utf8')).toBe('keep');
    expect(fdsOn(f)).toBe(0);
  });

  it('closes its file when the source fails midway', async () => {
    const f = path.join(tmp.dir, 'cut');
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(70_000, 1);
      throw new Error('source broke');
    }
    const sink = fileSink(f);
    const closed = new Promise((r) => sink.once('close', r));
    await expect(pipeline(Readable.from(failing()), sink)).rejects.toThrow('source broke');
    await closed;
    expect(fdsOn(f)).toBe(0);
  });

  it('with sync, writes the same bytes, also past the background syncs, and a failure midway still closes the file', async () => {
    // 20 MiB in 1 MiB chunks: two fdatasyncs start in the background before the fsync at the end.
    const data = noise(12, 20 << 20);
    const chunks = Array.from({ length: 20 }, (_, i) => data.subarray(i << 20, (i + 1) << 20));
    const f = path.join(tmp.dir, 'synced');
    await pipeline(Readable.from(chunks), fileSink(f, { sync: true }));
    expect(readFileSync(f).equals(data)).toBe(true);
    expect(fdsOn(f)).toBe(0);
    // The source fails right after a background fdatasync started: the descriptor is closed once it is done.
    const g = path.join(tmp.dir, 'synced-cut');
    async function* failing(): AsyncGenerator<Buffer> {
      yield* chunks.slice(0, 9);
      throw new Error('source broke');
    }
    const sink = fileSink(g, { sync: true });
    const closed = new Promise((r) => sink.once('close', r));
    await expect(pipeline(Readable.from(failing()), sink)).rejects.toThrow('source broke');
    await closed;
    expect(fdsOn(g)).toBe(0);
  });
});
