// A decompressed stream left part read releases its source: the file under it is closed when the consumer
// leaves, not when the garbage collector finds the handle (a pull or an archive read that fails would
// otherwise hold its file open for the rest of the process).
import { promises as fsp, mkdirSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { decompress } from '../../../dsl/layer/compress.js';
import { walkTar } from '../../../dsl/transport/tar-walk.js';
import { noise } from '../../kit/delta.js';
import { fdsOn } from '../../kit/fds.js';
import { tarOf, tmpDir } from '../../kit/tarfix.js';

const tmp = tmpDir('decompress-release');
afterAll(tmp.cleanup);

describe('decompress releases its source', () => {
  it.each([
    ['gzip', (b: Buffer) => gzipSync(b)],
    ['plain', (b: Buffer) => b],
  ])('when its consumer leaves after the first chunk (%s)', { timeout: 10_000 }, async (kind, encode) => {
    const file = path.join(tmp.dir, `big-${kind}`);
    writeFileSync(file, encode(noise(5, 8 << 20)));
    const fh = await fsp.open(file, 'r');
    const raw = fh.createReadStream({ highWaterMark: 64 << 10 });
    // The stream's 'close' comes once the file is closed (the handle's own when closing starts).
    const closed = once(raw, 'close');
    const out = decompress(raw);
    await once(out, 'data');
    expect(fdsOn(file)).toBe(1);
    out.destroy();
    await closed;
    expect(fdsOn(file)).toBe(0);
  });

  it('when it refuses what it reads (a corrupt gzip)', async () => {
    const file = path.join(tmp.dir, 'corrupt.gz');
    const gz = gzipSync(noise(6, 4 << 20));
    gz.fill(0x55, 5000, 9000);
    writeFileSync(file, gz);
    const fh = await fsp.open(file, 'r');
    const raw = fh.createReadStream();
    const closed = once(raw, 'close');
    const out = decompress(raw);
    await expect(async () => {
      for await (const _ of out);
    }).rejects.toThrow(/corrupt gzip stream/);
    await closed;
    expect(fdsOn(file)).toBe(0);
  });
});

describe('walkTar', () => {
  it('has closed the archive when it settles, after a visit failed before the end or after the whole walk', { timeout: 10_000 }, async () => {
    const file = path.join(tmp.dir, 'walk.tar.gz');
    writeFileSync(file, gzipSync(await tarOf([...Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, content: noise(i, 100_000) }))])));
    let seen = 0;
    await expect(
      walkTar(file, async () => {
        if (++seen === 2) throw new Error('the visit gave up');
      }),
    ).rejects.toThrow('the visit gave up');
    expect(fdsOn(file)).toBe(0);
    seen = 0;
    await walkTar(file, async () => void seen++);
    expect(seen).toBe(50);
    expect(fdsOn(file)).toBe(0);
  });

  it('has closed what it opened when reading it fails (a directory: EISDIR), and says what failed', { timeout: 10_000 }, async () => {
    const dir = path.join(tmp.dir, 'not-an-archive');
    mkdirSync(dir);
    await expect(walkTar(dir, async () => undefined)).rejects.toMatchObject({ code: 'EISDIR' });
    expect(fdsOn(dir)).toBe(0);
  });
});
