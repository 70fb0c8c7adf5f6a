import { createHash } from 'node:crypto';
import { closeSync, openSync, writeFileSync, ftruncateSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { LayerEntry } from '../../../dsl/layer/entry.js';
import { packEntries } from '../../../dsl/layer/tarwriter.js';
import { collect, tmpDir } from '../../kit/tarfix.js';

const tmp = tmpDir('tar-golden');
afterAll(tmp.cleanup);

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const src = (name: string, content: Buffer): string => {
  const p = path.join(tmp.dir, name);
  writeFileSync(p, content);
  return p;
};
/** A sparse file of size bytes (nothing on disk). */
const sparse = (name: string, size: number): string => {
  const p = path.join(tmp.dir, name);
  const fd = openSync(p, 'w');
  ftruncateSync(fd, size);
  closeSync(fd);
  return p;
};
const pattern = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251));

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_600_000_000 };
const F = (p: string, content: Buffer | undefined, more: Partial<LayerEntry> = {}): LayerEntry => ({
  ...base, path: p, type: 'file', size: content?.length ?? 0, source: content ? src(`s${sha(Buffer.from(p)).slice(0, 12)}`, content) : undefined, ...more,
});
const D = (p: string, more: Partial<LayerEntry> = {}): LayerEntry => ({ ...base, path: p, type: 'directory', mode: 0o755, ...more });
const S = (p: string, target: string, more: Partial<LayerEntry> = {}): LayerEntry => ({ ...base, path: p, type: 'symlink', mode: 0o777, linkname: target, ...more });
const H = (p: string, target: string, more: Partial<LayerEntry> = {}): LayerEntry => ({ ...base, path: p, type: 'link', linkname: target, ...more });

const c100 = 'n'.repeat(100);
/** A relative name of exactly n bytes: components of `part` bytes. */
const long = (n: number, part = 50): string => {
  const unit = 'p'.repeat(part) + '/';
  const s = unit.repeat(Math.ceil(n / unit.length) + 1).slice(0, n);
  return s.endsWith('/') ? s.slice(0, -1) + 'q' : s;
};
const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex');

/**
 * Layers as packEntries writes them, one case each: every entry type, names and link names around the ustar
 * limits (100 bytes of name, 155 of prefix), unicode, big ids, binary xattrs, times at the edges. The digests
 * were taken from the tar-stream based writer (before the own codec): image IDs depend on these bytes.
 */
function goldenCases(): [string, LayerEntry[], number?][] {
  return [
    ['small file', [F('etc/passwd', Buffer.from('root:x:0:0\n'))]],
    ['empty file, no source', [F('empty', undefined, { mode: 0 })]],
    ['512-byte file', [F('a512', pattern(512))]],
    ['513-byte file', [F('a513', pattern(513))]],
    ['300 KiB file (streamed)', [F('big', pattern(300 * 1024), { mode: 0o755 })]],
    ['directory', [D('usr/share', { mode: 0o1777, uid: 5, gid: 6 })]],
    ['setuid file owned by 1000', [F('bin/tool', Buffer.from('#!/bin/sh\n'), { mode: 0o4755, uid: 1000, gid: 1000 })]],
    ['symlink', [S('abs-link', '/etc/passwd')]],
    ['symlink, empty target', [S('empty-link', '')]],
    ['symlink, 100-byte target', [S('l100', 't'.repeat(100))]],
    ['symlink, 101-byte target', [S('l101', 't'.repeat(101))]],
    ['symlink, unicode target', [S('lu', 'héllo/ünï')]],
    ['symlink, 4000-byte target', [S('l4000', long(4000))]],
    ['hardlink', [F('bin/a', Buffer.from('linked\n')), H('bin/b', 'bin/a')]],
    ['hardlink to a long name', [H('hl', long(300))]],
    ['char device', [{ ...base, path: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }]],
    ['block device', [{ ...base, path: 'dev/sda', type: 'block', mode: 0o660, devmajor: 8, devminor: 0, gid: 6 }]],
    ['device numbers beyond octal', [{ ...base, path: 'dev/huge', type: 'char', devmajor: 0o7777777, devminor: 4095 }]],
    ['fifo', [{ ...base, path: 'run/fifo', type: 'fifo', mode: 0o600 }]],
    ['name of 100 bytes', [F(c100, Buffer.from('x'))]],
    ['name of 101 bytes, no slash', [F(c100 + 'n', Buffer.from('x'))]],
    ['name of 101 bytes with a slash', [F('d/' + 'n'.repeat(99), Buffer.from('x'))]],
    ['directory of 100 bytes (101 with its slash)', [D(c100)]],
    ['directory of 99 bytes (100 with its slash)', [D(c100.slice(1))]],
    ['name of 255 bytes in components', [F(long(255), Buffer.from('x'))]],
    ['name of 256 bytes in components', [F(long(256), Buffer.from('x'))]],
    ['name with a 255-byte component', [F('d/' + 'c'.repeat(255), Buffer.from('x'))]],
    ['name with a 256-byte component', [F('d/' + 'c'.repeat(256), Buffer.from('x'))]],
    ['prefix of 155 bytes', [F(long(155, 30) + '/' + 'f'.repeat(100), Buffer.from('x'))]],
    ['prefix of 156 bytes', [F(long(156, 30) + '/' + 'f'.repeat(100), Buffer.from('x'))]],
    ['name of 4000 bytes', [F(long(4000, 200), Buffer.from('deep\n'))]],
    ['unicode name', [F('sp ace/héllo/ünï', Buffer.from('u\n'))]],
    ['unicode directory', [D('日本語')]],
    ['latin-1 range name', [F('caf\u00e9', Buffer.from('x'))]],
    ['uid at the ustar limit', [F('uidmax', Buffer.from('x'), { uid: 0o777777, gid: 0o777777 })]],
    ['uid and gid beyond the ustar limit', [F('bigid', Buffer.from('big-ids\n'), { uid: 1_000_000, gid: 2_000_000 })]],
    ['gid beyond, uid not', [D('bg', { gid: 0o1000000 })]],
    ['uid 2^32-2', [S('nobody', 'x', { uid: 0xfffffffe, gid: 0xfffffffe })]],
    ['xattr', [F('x/plain', Buffer.from('x'), { xattrs: { 'user.foo': Buffer.from('bar') } })]],
    ['binary xattrs with NUL and invalid UTF-8', [F('x/bin', Buffer.from('#!'), { xattrs: { 'security.capability': CAP, 'user.bad': Buffer.from([0xff, 0xfe, 0, 0x80, 0x0a, 0x3d]), 'user.empty': Buffer.alloc(0) } })]],
    ['xattrs sorted by name', [D('x/dir', { xattrs: { 'user.z': Buffer.from('1'), 'trusted.a': Buffer.from('2'), 'user.a': Buffer.from('3') } })]],
    ['xattr on a symlink with a long target', [S('x/ln', long(150), { xattrs: { 'trusted.on-link': Buffer.from([1]) } })]],
    ['unicode name, long link, big ids and xattrs', [H('ünï/' + 'h'.repeat(120), long(200), { uid: 300000, xattrs: { 'user.k': Buffer.from('v'.repeat(1000)) } })]],
    // ' SCHILY.xattr.user.n=' and '\n' are 22 bytes: values of 75, 76, 77 bytes make records of 99, 101, 102.
    ['PAX record lengths around 100', [75, 76, 77].map((n) => F(`x/len${n}`, Buffer.from('x'), { xattrs: { 'user.n': Buffer.alloc(n, 0x41) } }))],
    ['mtime 0', [F('t0', Buffer.from('x'), { mtime: 0 })]],
    ['mtime negative', [F('tneg', Buffer.from('x'), { mtime: -5 })]],
    ['mtime fractional', [F('tfrac', Buffer.from('x'), { mtime: 1_500_000_000.75 })]],
    ['mtime 2^31-1', [F('tmax', Buffer.from('x'), { mtime: 0x7fffffff })]],
    ['mtime beyond 2^31', [F('tbig', Buffer.from('x'), { mtime: 2 ** 40 })]],
    ['mtime clamped to timestamp', [F('tclamp', Buffer.from('x'), { mtime: 1_700_000_000 }), D('tdir', { mtime: 1_000 })], 1_650_000_000],
    ['whiteouts', [D('w'), F('w/.wh.gone', undefined), F('w/.wh..wh..opq', undefined)]],
  ];
}

/** The first bytes of a layer (the stream is then closed: its body is never read). */
async function head(tar: Readable, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  for await (const c of tar as AsyncIterable<Buffer>) {
    parts.push(c);
    got += c.length;
    if (got >= n) break;
  }
  tar.destroy();
  return Buffer.concat(parts).subarray(0, n);
}

const GOLDEN: Record<string, string> = {
  "small file": '6dd52c0e1f9e8f0a342bb52a65a008d88d24f268fe188d580c25d5e16cccc06a',
  "empty file, no source": '105222a28c6739c0ae569dadbf211b45629c01ef93b0bcdf9776df3d13e4a05c',
  "512-byte file": 'da4b316f7a3a13a2599e4e483358dedcdaaad2c0a62714fbdc6661669baa0f50',
  "513-byte file": 'a57acbc0ae3d2891e272ad1890d9c92025c021457b8c1b43bd92dc5567ebd8cf',
  "300 KiB file (streamed)": '317d005d6baab73b62646f3b68653964dc0ad393f3e3e6b577eb8a7d080241a0',
  "directory": 'c1d4af7e377f17ae48d9033c1a083e56b91d356c517e06d78a424be9c7bac158',
  "setuid file owned by 1000": '109276838eed9a95316d331cd4cbec0e366e255806856a40c35e4c71a901f8e6',
  "symlink": 'd7792e7aa4f8dd141bb1e5e00b0ce2f9c552fb928dd6b9afa47a29015d307290',
  "symlink, empty target": '41e7d40eb12c551e730f099231520e6137e4fc855de56f5b03f238cad729b4db',
  "symlink, 100-byte target": '963d1ab2fe8092552cdbe2df24bf7a22e14bcb997322cd1462ce39944426164b',
  "symlink, 101-byte target": '871816ed50d51b7949a55631dad431f37fc339ad0468047cce313e7241b11d54',
  "symlink, unicode target": '270d1380a47084d525a96508e89cfda8fd98d2a0f6eaba415aae385c614a8ebf',
  "symlink, 4000-byte target": '5d161fdd4b5383452d4818910726decabb51e8d4773a3b3883878b980c848080',
  "hardlink": 'dfd096ad6a6938cdb12fd81ecc3250c32e25433aa90459ebad42565f5e238342',
  "hardlink to a long name": 'cbda64db116017927a58af2f1d9268b916e38a17ea9620abffc06ea15c4cfe40',
  "char device": '403a31aa34bde4a9e2e990c16d26509bee86b6a2e438e7fa51d7772208cb5e65',
  "block device": '375b0f546d39f240c822dc26c9dc5153ce5b1bbb0eec22b9e9edd004021038a0',
  "device numbers beyond octal": '2db32dde99243c7552dc2d489d88de621ee0eb6c5035233fc1473aac3382dbb8',
  "fifo": 'f705572447f8497a51f94a01e7942a491af3a2fc8b65f0310d60f9ebecbfa462',
  "name of 100 bytes": 'c4ed1ac991760e5f25fe28f6d895a1c2ff3d420c7f3a4f5cf8d7273191374dc2',
  "name of 101 bytes, no slash": 'dd9e95d771ec563a5fb6f16654345a721a2276d1dc75f839214cb8de5de90b81',
  "name of 101 bytes with a slash": 'c75b526ccf09a92c732a350c0874229b56705ca7a090c1c2cfc094a8aceb3998',
  "directory of 100 bytes (101 with its slash)": '040183da8700c3d2a573f7132a34259a587aee0f11d050255ccb016833a97e60',
  "directory of 99 bytes (100 with its slash)": '639156e205a92265a5cd6d513d8ec421602027bfa00a8217c9f97a87f10f787e',
  "name of 255 bytes in components": 'f436fb92809ab80d0657f387ed176994571a849550c5e37172a20fc966d7b5b0',
  "name of 256 bytes in components": '08a567db63a02091519bc95ec666023025096adc7846ffed750c2c7bbd011db7',
  "name with a 255-byte component": '1d136519b8d50ecfcd3f1dc49066613531a07d5b4cc93aa3312a192f2d0390fe',
  "name with a 256-byte component": '0c7e7f97784e7fbfce356329ef1324a88eded822f9360482f8ff124e18391dd3',
  "prefix of 155 bytes": '6dcb8ac0bdeefe44ddcca2b5bc6c76fd1fee8daeafff7c327f3f5acdc79520a8',
  "prefix of 156 bytes": 'ef422b6cb35682149f55ff828bd7f2a34ce9f6e481de29a70c6606824f14fa27',
  "name of 4000 bytes": '1e15faae96b57266e11dfb3e51aa0893ba3697ad70a5b5d400b4557dce1a631e',
  "unicode name": '1b1a243227730e38cf283463882ad9649893996d17a8cb82a3aeba0c3c02762f',
  "unicode directory": 'cdeac9daf95b746be8d5076a884d8ffac222a65321a2205f346e2c744aab8202',
  "latin-1 range name": '63f61f35c8637e49a2eea0429afb85b21de540edb210f410badc08c82d36df03',
  "uid at the ustar limit": 'b99f262434b357fb5c751d49bd29ece037df2d59be5f9e93781103351a219251',
  "uid and gid beyond the ustar limit": '143d256581902f75af001da9912392fc53ecf118f599c229104252f331cf12b2',
  "gid beyond, uid not": '0cfb9045752b727cf69642d56a34607f6f9767084c092ffbc834ff5dd895125b',
  "uid 2^32-2": '70eb35961981ce9d2fdad0c8445c27852640bb8ba4c46b45b6a936be208feabc',
  "xattr": '64c349364669ad53baf842b5a292edd2c086b297c0205c4b2efa0774e13ea019',
  "binary xattrs with NUL and invalid UTF-8": '72ed226ce3cfa4a24d8c0a2809551f2766278eef0f9bd7005d784966486d4af4',
  "xattrs sorted by name": '4047f24ad5530e006d3801cc373e50e1c3a1294e6f958f8fb6a2244ec783fba5',
  "xattr on a symlink with a long target": '42c5b1684c7a0274ed1d0b72619cc89e280bcf9615c53b5c5c73114b83409f11',
  "unicode name, long link, big ids and xattrs": '5cd8009175434e1730e2a7b3df8632fab8f154f39374801f7a92bfc2e73ec5fe',
  "PAX record lengths around 100": 'ba3fda3d70524abb6e5554c0ef84a8d4c91b5e7e06435b8de19a05b9c2855685',
  "mtime 0": '5e356bc0786730cc401164a18f3919468b3def0414ef5f40f0d6e4613c1dd925',
  "mtime negative": '11581a8bd5c7a4c014a3d2071612e72ac289f809e176604f4abdb680be86c53b',
  "mtime fractional": '4d1159153351fc08a90aefba2badbf0fea0bc42b22a9b39583355fde6dff50bb',
  "mtime 2^31-1": 'dd85e2519dd40a0cbc44fa3f7725d0b154b68ff60defb8021f9279217438ba01',
  "mtime beyond 2^31": 'b84a49745b20b9536aa61e86f641234e573c2587e0620c3205f935a0a326a6ef',
  "mtime clamped to timestamp": '3617307dbfb08aa2b01b7d74386185d88d0581c2f813f0a4b7b053ee5ffed58b',
  "whiteouts": '763d810cfe7eff1ddee464cbfb970b3de4390cb9761dd148ee552fef8550593f',
  "all": '4435895e1accc058ef61fc7d7d72f6a0b1c1ffaecbfc7408747c9f0c02626ec6',
};
const GOLDEN_HEAD: Record<string, string> = {
  "size at the octal limit (8 GiB - 1)": 'e6dd6d7eb9752c8c128d48330cda60d24bc241f076740dd32feb226b7fe3492a',
  "size beyond the octal limit (base-256)": '016f806cb8f03349b52088d4b6d9415d3ceb849a72804abfb2792194f5fcfbe9',
  "size of 20 GiB (base-256)": 'a09fbd7e154c29a863336868be7d63f64145e4acc7276cd4e48ef48fed97fbd8',
};

describe('packEntries writes the same bytes as before the own codec (image IDs)', () => {
  const cases = goldenCases();
  it.each(cases)('%s', async (name, entries, ts) => {
    const tar = await collect(packEntries(entries, ts === undefined ? {} : { timestamp: ts }));
    expect(sha(tar)).toBe(GOLDEN[name]);
  });

  it('all cases in one layer', async () => {
    const tar = await collect(packEntries(cases.flatMap(([, e]) => e)));
    expect(sha(tar)).toBe(GOLDEN.all);
  });

  it.each([
    ['size at the octal limit (8 GiB - 1)', 8 ** 11 - 1],
    ['size beyond the octal limit (base-256)', 8 ** 11],
    ['size of 20 GiB (base-256)', 20 * 2 ** 30],
  ])('header of a file with %s', async (name, size) => {
    const h = await head(packEntries([{ ...base, path: 'huge', type: 'file', size, source: sparse('huge', size) }]), 512);
    expect(sha(h)).toBe(GOLDEN_HEAD[name]);
  });
});
