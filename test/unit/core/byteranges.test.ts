import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyReader, byterangesBoundary, parseContentRange, rangeHeader } from '../../../dsl/core/byteranges.js';

describe('parseContentRange', () => {
  it.each([
    ['bytes 0-99/1234', { start: 0, end: 99, total: 1234 }],
    ['bytes 10-10/*', { start: 10, end: 10 }],
    [' BYTES 5-9/10 ', { start: 5, end: 9, total: 10 }],
    ['bytes 9-5/10', undefined],
    ['bytes */10', undefined],
    ['items 0-1/2', undefined],
    [undefined, undefined],
  ])('%s', (v, want) => expect(parseContentRange(v)).toEqual(want));
});

describe('byterangesBoundary', () => {
  it.each([
    ['multipart/byteranges; boundary=00000000001', '00000000001'],
    ['multipart/byteranges; boundary="a b"', 'a b'],
    ['Multipart/ByteRanges;charset=x; boundary=z', 'z'],
    ['application/gzip', undefined],
    ['multipart/byteranges', undefined],
  ])('%s', (v, want) => expect(byterangesBoundary(v)).toBe(want));
});

it('rangeHeader writes closed ranges', () => {
  expect(rangeHeader([{ start: 0, end: 10 }, { start: 20, end: 21 }])).toBe('bytes=0-9,20-20');
});

/** A body delivered in chunks of n bytes. */
function body(text: string | Buffer, n = 3): Readable {
  const b = Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1');
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += n) parts.push(b.subarray(i, i + n));
  return Readable.from(parts);
}

async function take(r: BodyReader, n: number): Promise<string> {
  const out: Buffer[] = [];
  await r.take(n, (b) => void out.push(Buffer.from(b)));
  return Buffer.concat(out).toString('latin1');
}

describe('BodyReader', () => {
  it('reads the parts of a multipart/byteranges body as nginx sends it', async () => {
    const text = '\r\n--B\r\nContent-Type: a\r\nContent-Range: bytes 0-3/20\r\n\r\nabcd\r\n--B\r\nContent-Range: bytes 10-11/20\r\n\r\nxy\r\n--B--\r\n';
    const r = new BodyReader(body(text), 'u');
    expect(await r.nextPart('B')).toEqual({ start: 0, end: 3, total: 20 });
    expect(await take(r, 4)).toBe('abcd');
    expect(await r.nextPart('B')).toEqual({ start: 10, end: 11, total: 20 });
    expect(await take(r, 2)).toBe('xy');
    expect(await r.nextPart('B')).toBeUndefined();
    await r.finish();
    expect(r.received).toBe(text.length);
  });

  it('refuses a part without a Content-Range, an endless header, a body cut short', async () => {
    await expect(new BodyReader(body('--B\r\nX: y\r\n\r\nab'), 'u').nextPart('B')).rejects.toThrow(/no valid Content-Range/);
    await expect(new BodyReader(body('--B\r\n' + 'X: y\r\n'.repeat(5000)), 'u').nextPart('B')).rejects.toThrow(/longer than/);
    await expect(new BodyReader(body('--B\r\nX'), 'u').nextPart('B')).rejects.toThrow(/ended inside a part header/);
    await expect(take(new BodyReader(body('abc'), 'u'), 5)).rejects.toThrow(/ended 2 bytes early/);
  });
});
