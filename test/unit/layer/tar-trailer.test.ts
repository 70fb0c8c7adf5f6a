import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isTrailer, recordPadding, stripTrailer } from '../../../dsl/layer/tar-trailer.js';
import { makeTar } from '../../kit/images.js';

/** Feeds bytes through a transform in chunks of the given sizes (cycled); the output. */
async function through(t: Transform, bytes: Buffer, sizes = [bytes.length || 1]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length];
    chunks.push(bytes.subarray(at, at + n));
    at += n;
  }
  const out: Buffer[] = [];
  for await (const c of Readable.from(chunks).pipe(t)) out.push(c as Buffer);
  return Buffer.concat(out);
}

const trailer = (): Buffer => {
  const t = Buffer.alloc(80);
  t.write('iksig', 8, 'latin1');
  randomBytes(64).copy(t, 16);
  return t;
};

describe('flat tarball framing', () => {
  it('pads a tar to whole 10240-byte records, and adds nothing to an aligned one', async () => {
    const tar = await makeTar([{ name: 'a', content: 'x'.repeat(3000) }]);
    const padded = await through(recordPadding(), tar, [700]);
    expect(padded.length).toBe(10240);
    expect(padded.subarray(0, tar.length).equals(tar)).toBe(true);
    expect(padded.subarray(tar.length).every((b) => b === 0)).toBe(true);
    expect((await through(recordPadding(), padded)).equals(padded)).toBe(true);
  });

  it('drops a trailer after the end-of-archive blocks, in any chunking', async () => {
    const tar = await makeTar([{ name: 'a', content: 'hello' }, { name: 'b', content: Buffer.alloc(700, 1) }]);
    const signed = Buffer.concat([tar, trailer()]);
    expect(isTrailer(signed.subarray(-80))).toBe(true);
    for (const sizes of [[signed.length], [1], [79], [80, 1], [81], [513, 7], [4096]]) {
      expect((await through(stripTrailer(), signed, sizes)).equals(tar), String(sizes)).toBe(true);
    }
    const padded = await through(recordPadding(), tar);
    expect((await through(stripTrailer(), Buffer.concat([padded, trailer()]), [1000])).equals(padded)).toBe(true);
  });

  it('passes everything else through unchanged', async () => {
    const tar = await makeTar([{ name: 'a', content: 'hello' }]);
    const notTrailer = Buffer.concat([tar, Buffer.alloc(80, 7)]);
    const noEnd = Buffer.concat([tar.subarray(0, tar.length - 1024), trailer()]);
    const misaligned = Buffer.concat([tar, Buffer.alloc(3), trailer()]);
    const cases = [tar, notTrailer, noEnd, misaligned, Buffer.from('short'), trailer(), Buffer.alloc(0)];
    for (const b of cases) expect((await through(stripTrailer(), b, [100])).equals(b)).toBe(true);
  });
});
