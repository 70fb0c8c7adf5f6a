import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, ftruncateSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { LayerEntry } from '../../../dsl/layer/entry.js';
import { XATTR_PAX_PREFIX, decodeHeader, decodePaxRecords, encodeHeader, encodePaxRecords, headerBlocks, padding, type TarHeader } from '../../../dsl/layer/tar-header.js';
import { strictTarExtract, type TarEntryStream } from '../../../dsl/layer/tar-read.js';
import { packEntries } from '../../../dsl/layer/tarwriter.js';
import { collect, sh, tmpDir } from '../../kit/tarfix.js';

const tmp = tmpDir('tar-codec');
afterAll(tmp.cleanup);
let serial = 0;

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_600_000_000 };
const F = (p: string, content = 'x', more: Partial<LayerEntry> = {}): LayerEntry => {
  const source = path.join(tmp.dir, `src-${serial++}`);
  writeFileSync(source, content);
  return { ...base, path: p, type: 'file', size: Buffer.byteLength(content), source, ...more };
};
const D = (p: string, more: Partial<LayerEntry> = {}): LayerEntry => ({ ...base, path: p, type: 'directory', mode: 0o755, ...more });
const S = (p: string, target: string, more: Partial<LayerEntry> = {}): LayerEntry => ({ ...base, path: p, type: 'symlink', mode: 0o777, linkname: target, ...more });
const H = (p: string, target: string): LayerEntry => ({ ...base, path: p, type: 'link', linkname: target });
/** A relative name of exactly n bytes: components of `part` bytes. */
const long = (n: number, part = 50): string => {
  const s = ('p'.repeat(part) + '/').repeat(Math.ceil(n / (part + 1)) + 1).slice(0, n);
  return s.endsWith('/') ? s.slice(0, -1) + 'q' : s;
};
const BIN = Buffer.from([0, 0xff, 0xfe, 0x80, 0x0a, 0x3d, 0x20, 0]);
/** A header block with its checksum made right again (after a test changed it). */
const fixSum = (b: Buffer): Buffer => {
  let sum = 8 * 32;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[i];
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
};

/** Entries of every type, names and link names around the ustar limits, big ids, binary xattrs, edge times. */
const CASES: [string, () => LayerEntry[]][] = [
  ['every entry type', () => [
    D('d', { mode: 0o1777, uid: 5, gid: 6 }), F('d/f', 'content\n', { mode: 0o4755, uid: 1000, gid: 1000 }), H('d/h', 'd/f'), S('d/s', '../d/f'),
    { ...base, path: 'd/c', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }, { ...base, path: 'd/b', type: 'block', mode: 0o660, devmajor: 8, devminor: 17 },
    { ...base, path: 'd/p', type: 'fifo', mode: 0o600 }, F('d/empty', '', { mode: 0 }),
  ]],
  ['names of 100, 101, 255, 256 and 4000 bytes', () => [
    F('n'.repeat(100)), F('n'.repeat(101)), F(long(255)), F(long(256)), F(long(4000, 200)), F('d/' + 'c'.repeat(255)), D('e'.repeat(100)), F(long(155, 30) + '/' + 'f'.repeat(100)),
  ]],
  ['unicode names and link names', () => [D('日本語'), F('日本語/ünï cödé', 'u\n'), F('caf\u00e9'), S('lu', 'héllo/ünï'), S('lu-long', 'ü'.repeat(60)), H('hu', '日本語/ünï cödé')]],
  ['link names of 100, 101 and 4000 bytes', () => [F(long(300)), S('l100', 't'.repeat(100)), S('l101', 't'.repeat(101)), S('l4000', long(4000)), H('h300', long(300))]],
  ['uids and gids beyond the ustar limit', () => [F('u1', 'x', { uid: 0o777777, gid: 0o777777 }), F('u2', 'x', { uid: 0o1000000, gid: 2_000_000 }), D('u3', { uid: 0xfffffffe, gid: 1 })]],
  ['binary xattrs (NUL, invalid UTF-8, empty values)', () => [
    F('x1', 'x', { xattrs: { 'user.bin': BIN, 'user.empty': Buffer.alloc(0), 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') } }),
    D('x2', { xattrs: { 'user.a': Buffer.from('ä'), 'trusted.overlay.opaque': Buffer.from('y') } }), S('x3', long(150), { xattrs: { 'user.long': Buffer.alloc(12_000, 1) } }),
  ]],
  ['mtimes 0, 2^31-1 and beyond', () => [F('t0', 'x', { mtime: 0 }), F('t1', 'x', { mtime: 0x7fffffff }), F('t2', 'x', { mtime: 2 ** 40 }), D('t3', { mtime: 1.5 })]],
];

/** What a reader must see of an entry. */
function expected(e: LayerEntry): Record<string, unknown> {
  const type = { file: 'file', directory: 'directory', symlink: 'symlink', link: 'link', char: 'character-device', block: 'block-device', fifo: 'fifo' }[e.type];
  const dev = e.type === 'char' || e.type === 'block';
  return {
    name: e.type === 'directory' ? e.path + '/' : e.path, type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.type === 'file' ? e.size : 0,
    mtime: Math.min(0x7fffffff, Math.floor(e.mtime)), linkname: e.linkname ?? null, dev: dev ? [e.devmajor, e.devminor] : [0, 0], xattrs: e.xattrs ?? {},
  };
}

/** Entries as the strict reader sees them, in the form of expected(). */
async function readBack(tar: Buffer | Readable): Promise<Record<string, unknown>[]> {
  const ex = strictTarExtract();
  (Buffer.isBuffer(tar) ? Readable.from([tar]) : tar).pipe(ex);
  const out: Record<string, unknown>[] = [];
  for await (const s of ex) {
    const h = s.header;
    const pax = h.pax ?? {};
    const xattrs = Object.fromEntries(Object.entries(pax).filter(([k]) => k.startsWith(XATTR_PAX_PREFIX)).map(([k, v]) => [k.slice(XATTR_PAX_PREFIX.length), v]));
    const size = (await collect(s)).length;
    expect(size).toBe(h.size);
    out.push({
      name: h.name, type: h.type, mode: h.mode, uid: pax.uid ? Number(pax.uid) : h.uid, gid: pax.gid ? Number(pax.gid) : h.gid, size,
      mtime: h.mtime!.getTime() / 1000, linkname: h.linkname, dev: [h.devmajor, h.devminor], xattrs,
    });
  }
  return out;
}

function perms(e: LayerEntry): string {
  const c = { file: '-', directory: 'd', symlink: 'l', link: 'h', char: 'c', block: 'b', fifo: 'p' }[e.type];
  const m = e.mode;
  const x = (bit: number, special: number, ch: string): string => (m & special ? (m & bit ? ch : ch.toUpperCase()) : m & bit ? 'x' : '-');
  return c + (m & 0o400 ? 'r' : '-') + (m & 0o200 ? 'w' : '-') + x(0o100, 0o4000, 's') + (m & 0o40 ? 'r' : '-') + (m & 0o20 ? 'w' : '-') + x(0o10, 0o2000, 's') + (m & 0o4 ? 'r' : '-') + (m & 0o2 ? 'w' : '-') + x(0o1, 0o1000, 't');
}

/** The line `tar -tv` prints for an entry (numeric owners, full UTC times, names unquoted; spaces collapsed). */
function gnuLine(e: LayerEntry): string {
  const x = expected(e);
  const when = new Date((x.mtime as number) * 1000).toISOString().replace('T', ' ').slice(0, 19);
  const size = e.type === 'char' || e.type === 'block' ? `${e.devmajor},${e.devminor}` : String(x.size);
  const tail = e.type === 'symlink' ? ` -> ${e.linkname}` : e.type === 'link' ? ` link to ${e.linkname}` : '';
  return `${perms(e)} ${e.uid}/${e.gid} ${size} ${when} ${x.name}${tail}`;
}

/** Runs GNU tar (UTF-8, UTC); its output, after checking it succeeded without a warning. */
function gnuTar(args: string[], input?: Buffer): string {
  const r = spawnSync('tar', args, { input, env: { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' }, encoding: 'utf8', maxBuffer: 64 << 20 });
  expect([r.status, r.stderr]).toEqual([0, '']);
  return r.stdout;
}

describe('packEntries → GNU tar and the strict reader', () => {
  it.each(CASES)('%s', async (_, make) => {
    const entries = make();
    const tar = await collect(packEntries(entries));
    expect(await readBack(tar)).toEqual(entries.map(expected));
    const listing = gnuTar(['--numeric-owner', '--full-time', '--quoting-style=literal', '-tvf', '-'], tar);
    expect(listing.trimEnd().split('\n').map((l) => l.replace(/ +/g, ' '))).toEqual(entries.map(gnuLine));
  });

  it('GNU tar extracts binary xattr values byte for byte', async () => {
    const entries = [D('xd', { xattrs: { 'user.dir': Buffer.from([1, 2, 0, 3]) } }), F('xd/f', 'x', { xattrs: { 'user.bin': BIN, 'user.empty': Buffer.alloc(0), 'user.big': Buffer.alloc(3000, 0xaa) } })];
    const dir = path.join(tmp.dir, `gnu-x-${serial++}`);
    mkdirSync(dir);
    gnuTar(['--xattrs', '--xattrs-include=user.*', '-C', dir, '-xf', '-'], await collect(packEntries(entries)));
    for (const e of entries) {
      const dump = sh(`getfattr --absolute-names -d -m '^user\\.' -e hex ${path.join(dir, e.path)}`);
      const got = Object.fromEntries(dump.split('\n').filter((l) => l.startsWith('user.')).map((l) => [l.split('=')[0], l.split('=')[1]?.slice(2) ?? '']));
      expect(got).toEqual(Object.fromEntries(Object.entries(e.xattrs!).map(([k, v]) => [k, v.toString('hex')])));
    }
  });
});

describe('the strict reader reads what GNU tar writes', () => {
  it.each(['gnu', 'posix'])('--format=%s: long names and link names, unicode, xattrs', async (format) => {
    const src = path.join(tmp.dir, `gnu-src-${serial++}`);
    mkdirSync(src);
    const deep = `${'d'.repeat(120)}/${'e'.repeat(200)}/${'ü'.repeat(100)}`;
    sh(`mkdir -p '${deep}' && printf 'deep' > '${deep}/f' && ln -s '${deep}/f' link && ln '${deep}/f' hard && touch -h -d @1500000000 link '${deep}/f'`, src);
    if (format === 'posix') sh(`setfattr -n user.bin -v 0x00ff0a3d '${deep}/f'`, src);
    const xattrs = format === 'posix' ? ['--xattrs'] : [];
    const tar = Buffer.from(execFileSync('tar', [`--format=${format}`, ...xattrs, '-C', src, '-cf', '-', deep + '/f', 'link', 'hard']));
    const got = await readBack(tar);
    expect(got.map((h) => [h.name, h.type, h.linkname])).toEqual([[deep + '/f', 'file', null], ['link', 'symlink', deep + '/f'], ['hard', 'link', deep + '/f']]);
    expect(got[0].size).toBe(4);
    expect(got[1].mtime).toBe(1_500_000_000);
    if (format === 'posix') expect(got[0].xattrs).toEqual({ 'user.bin': Buffer.from([0, 0xff, 0x0a, 0x3d]) });
  });
});

describe('the header codec', () => {
  const h = (more: Partial<TarHeader>): TarHeader => ({ name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: new Date(0), ...more });

  it.each([
    ['size at the octal limit', h({ size: 8 ** 11 - 1 })],
    ['size beyond it (base-256)', h({ size: 8 ** 11 })],
    ['size of 2^52 (base-256)', h({ size: 2 ** 52 })],
    ['mtime beyond 11 octal digits (base-256)', h({ mtime: new Date(2 ** 34 * 1000) })],
    ['a negative mtime (base-256)', h({ mtime: new Date(-86_400_000) })],
    ['a 100-byte ASCII name', h({ name: 'a'.repeat(100) })],
    ['a name split into prefix and name', h({ name: 'p'.repeat(155) + '/' + 'n'.repeat(100) })],
    ['a 100-byte UTF-8 link name', h({ type: 'symlink', linkname: 'ü'.repeat(50) })],
    ['a device', h({ type: 'block-device', devmajor: 259, devminor: 0o777777 })],
  ])('round trip: %s', (_, header) => {
    const block = encodeHeader(header)!;
    expect(block.length).toBe(512);
    const back = decodeHeader(block)!;
    expect({ ...back, uname: undefined, gname: undefined }).toMatchObject({ ...header, linkname: header.linkname ?? null, devmajor: header.devmajor ?? 0, devminor: header.devminor ?? 0 });
  });

  it.each([
    ['a 101-byte name without a slash', h({ name: 'a'.repeat(101) })],
    ['a non-ASCII name', h({ name: 'é' })],
    ['a prefix of 156 bytes', h({ name: 'p'.repeat(156) + '/' + 'n'.repeat(100) })],
    ['an absolute name needing a prefix', h({ name: '/' + 'n'.repeat(100) })],
    ['a 101-byte link name', h({ type: 'symlink', linkname: 'l'.repeat(101) })],
  ])('needs PAX: %s', (_, header) => {
    expect(encodeHeader(header)).toBeNull();
    const blocks = headerBlocks(header);
    expect(blocks.length % 512).toBe(0);
    const pax = decodePaxRecords(blocks.subarray(512, 512 + decodeHeader(blocks)!.size!));
    expect(pax.path).toBe(header.name);
    if (header.linkname) expect(pax.linkpath).toBe(header.linkname);
  });

  it('GNU tar reads base-256 sizes, mtimes and PAX ids (a sparse 20 GiB archive)', () => {
    const size = 20 * 2 ** 30;
    const blocks = headerBlocks(h({ name: 'huge', size, uid: 2 ** 21, mtime: new Date(2 ** 34 * 1000), pax: { uid: String(2 ** 21) } }));
    const file = path.join(tmp.dir, 'huge.tar');
    const fd = openSync(file, 'w');
    writeSync(fd, blocks);
    ftruncateSync(fd, blocks.length + size + padding(size).length + 1024);
    closeSync(fd);
    expect(gnuTar(['--numeric-owner', '--full-time', '-tvf', file]).replace(/ +/g, ' ')).toBe(`-rw-r--r-- ${2 ** 21}/0 ${size} 2514-05-30 01:53:04 huge\n`);
  });

  it('PAX records: lengths that count themselves, binary values, and refusals', () => {
    for (let n = 0; n < 1100; n += 7) {
      const value = Buffer.alloc(n, 0);
      const rec = encodePaxRecords([['SCHILY.xattr.user.v', value]]);
      expect(Number(rec.toString('latin1').split(' ')[0])).toBe(rec.length);
      expect(decodePaxRecords(rec)['SCHILY.xattr.user.v']).toEqual(value);
    }
    expect(decodePaxRecords(encodePaxRecords([['path', 'ü/a=b'], ['comment', '']]))).toEqual({ path: 'ü/a=b', comment: '' });
    for (const bad of ['8 path=a\n', '5 path=a\n', 'x path=a\n', '11 patha\n\n\n', '10 path=ab']) expect(() => decodePaxRecords(Buffer.from(bad))).toThrow(/invalid PAX/);
  });

  it('decodes blocks as tar-stream did: the end block, checksums, formats, numbers with spaces and NULs', () => {
    expect(decodeHeader(Buffer.alloc(512))).toBeNull();
    const block = encodeHeader(h({ name: 'a' }))!;
    // An old tar's regular file (type '0' or NUL) whose name ends in a slash is a directory, as GNU tar reads it.
    for (const flag of [0x30, 0]) {
      const old = Buffer.from(block);
      old[156] = flag;
      expect(decodeHeader(fixSum(old))?.type).toBe('file');
      old.write('a/', 0, 'latin1');
      expect(decodeHeader(fixSum(old))?.type).toBe('directory');
    }
    const bad = Buffer.from(block);
    bad[0] ^= 1;
    expect(() => decodeHeader(bad)).toThrow(/Invalid tar header/);
    const unknown = Buffer.from(block);
    unknown.write('tar\0\0\0', 257, 'latin1');
    expect(() => decodeHeader(fixSum(unknown))).toThrow(/unknown format/);
    const fields: [string, number | null][] = [['  644\x00  ', 0o644], ['\x00\x00\x00644 9', 0o644], ['\0\0\0\0\0\0\0\0', 0], ['9', NaN]];
    for (const [field, mode] of fields) {
      const b = Buffer.from(block);
      b.fill(0, 100, 108).write(field, 100, 'latin1');
      expect(decodeHeader(fixSum(b))?.mode).toBe(mode);
    }
    const b256 = Buffer.from(block);
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]).copy(b256, 108);
    Buffer.from([0xc0, 0, 0, 0, 0, 0, 0, 0]).copy(b256, 116);
    expect(decodeHeader(fixSum(b256))).toMatchObject({ uid: -2, gid: null });
  });
});

describe('the strict reader', () => {
  let packed: Promise<Buffer> | undefined;
  const sample = (): Promise<Buffer> => (packed ??= collect(packEntries(CASES.flatMap(([, make]) => make()))));

  it.each([1, 13, 511, 512, 513, 4096])('reads the same entries whatever the chunking of its input (%i bytes)', async (size) => {
    // Byte by byte, the first case only (the whole sample is 100 KB).
    const tar = size === 1 ? await collect(packEntries(CASES[0][1]())) : await sample();
    const chunks: Buffer[] = [];
    for (let at = 0; at < tar.length; at += size) chunks.push(tar.subarray(at, at + size));
    expect(await readBack(Readable.from(chunks))).toEqual(await readBack(tar));
  });

  it('hands entries out through the entry event, waiting for next()', async () => {
    const tar = await sample();
    const ex = strictTarExtract();
    const names: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ex.on('entry', (h: TarHeader, s: TarEntryStream, next: () => void) => {
        names.push(h.name);
        s.on('end', () => setImmediate(next));
        s.resume();
      });
      ex.on('finish', resolve);
      ex.on('error', reject);
      ex.end(tar);
    });
    expect(names).toEqual((await readBack(tar)).map((e) => e.name));
  });

  it('ends the extract when an entry is destroyed before its end', async () => {
    const ex = strictTarExtract();
    const tar = await collect(packEntries([F('a', 'x'.repeat(100_000)), F('b')]));
    Readable.from(Array.from({ length: Math.ceil(tar.length / 1000) }, (_, i) => tar.subarray(i * 1000, i * 1000 + 1000))).pipe(ex);
    const it = ex[Symbol.asyncIterator]();
    const first = (await it.next()).value as TarEntryStream;
    first.destroy(new Error('consumer gave up'));
    await expect(it.next()).rejects.toThrow('consumer gave up');
  });

  it.each([
    ['data after the end-of-archive blocks', (t: Buffer) => Buffer.concat([t, Buffer.from('junk')]), /after the end-of-archive/],
    ['a truncated body', (t: Buffer) => t.subarray(0, 700), /Unexpected end of data/],
    ['a bad checksum', (t: Buffer) => Buffer.concat([Buffer.from('x'), t.subarray(1)]), /Invalid tar header/],
    ['a size field that does not decode', (t: Buffer) => {
      const b = Buffer.from(t);
      b[124] = 0xa4;
      return Buffer.concat([fixSum(b.subarray(0, 512)), b.subarray(512)]);
    }, /invalid size field/],
    ['a PAX size that disagrees with the header', (t: Buffer) => Buffer.concat([headerBlocks({ name: 'a', size: 0, pax: { size: '600' } }), t.subarray(512)]), /disagrees/],
  ])('refuses %s', async (_, damage, why) => {
    const tar = damage(await collect(packEntries([F('a', 'x'.repeat(600))])));
    await expect(readBack(tar)).rejects.toThrow(why);
  });
});
