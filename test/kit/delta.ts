// Fixtures of the chunked gzip tests: deterministic bytes, and tar headers made by hand (octal or base-256 sizes).

/** n pseudo-random bytes from a seed (xorshift32): the same every run. */
export function noise(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

/** n bytes of text-like content (words from a small vocabulary, chosen by a seed): compressible, not repetitive. */
export function textLike(seed: number, n: number): Buffer {
  const words = ['layer', 'image', 'tar', 'gzip', 'segment', 'index', 'cairn', 'debian', 'usr', 'lib', 'share', 'doc', 'copyright', 'the', 'of', 'and', '\n'];
  const r = noise(seed, n);
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const w = words[r[i % r.length] % words.length] + (r[(i * 7) % r.length] & 1 ? ' ' : '');
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

/** A ustar header block: the size in octal, or in base-256 when asked (as GNU tar writes sizes of 8 GiB and more). */
export function tarHeader(name: string, size: number, opts: { type?: string; base256?: boolean } = {}): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'latin1');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  if (opts.base256) {
    h[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--, v = Math.floor(v / 256)) h[i] = v % 256;
  } else h.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write(opts.type ?? '0', 156, 'latin1');
  h.write('ustar\0' + '00', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return h;
}

/** A tar member: header and data padded to whole blocks. */
export function tarMember(name: string, data: Buffer, opts: { type?: string; base256?: boolean } = {}): Buffer {
  return Buffer.concat([tarHeader(name, data.length, opts), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** The end-of-archive blocks. */
export const TAR_END = Buffer.alloc(1024);
