// The tar and gzip streams themselves: PAX/ustar size disagreement, data on header-only entries, names over
// 64 KiB, long link names, GNU and global headers, truncation, trailing garbage, hidden entries after the end,
// corrupt or padded gzip, and gzip bombs.
import { randomBytes } from 'node:crypto';
import { F, H, L } from './entries.js';
import { layerCase, rel } from './layer-case.js';
import { END, entryBlocks, extHeader, gz, gzipBomb, header, padded, paxRecords, tarOf } from './tar.js';
import type { HostileCase, Source } from './types.js';

const UP = '../'.repeat(12);
/** Sources that take a layer file as it is (the tar reader is the same behind each: a few cases take both). */
const FILES: Source[] = ['tarball', 'oci'];

/** The blocks of a file entry hidden where a reader that disagrees would see it: CANARY/victim. */
const hidden = (canary: string): Buffer => entryBlocks(F(`${canary}/victim`));

/** PAX and ustar headers that readers could take two ways. */
export const pax: HostileCase[] = [
  ...layerCase({
    klass: 'pax', id: 'size-larger-than-header', outcome: 'refused',
    what: 'PAX size 1024, ustar size 0: the data holds a header for CANARY/victim',
    layers: (c) => [Buffer.concat([extHeader('x', paxRecords({ size: '1024' })), header({ name: 'smuggle', typeflag: '0', size: 0 }), hidden(c.canary), END])],
  }),
  ...layerCase({
    klass: 'pax', id: 'size-smaller-than-header', outcome: 'refused',
    what: 'PAX size 0, ustar size 1024 over a header for CANARY/victim',
    layers: (c) => [Buffer.concat([extHeader('x', paxRecords({ size: '0' })), header({ name: 'smuggle', typeflag: '0', size: 1024 }), hidden(c.canary), END])],
  }),
  ...layerCase({
    klass: 'pax', id: 'size-not-a-number', outcome: 'refused',
    what: 'PAX size "6abc" (parseInt would read 6)',
    layers: () => [Buffer.concat([extHeader('x', paxRecords({ size: '6abc' })), header({ name: 'f', typeflag: '0', size: 6 }), padded(Buffer.from('pwned\n')), END])],
  }),
  ...layerCase({
    klass: 'pax', id: 'directory-with-data', outcome: 'refused',
    what: 'a directory entry of size 1024 whose data is a header for CANARY/victim',
    layers: (c) => [Buffer.concat([header({ name: 'd/', typeflag: '5', size: 1024, mode: 0o755 }), hidden(c.canary), END])],
  }),
  ...layerCase({
    klass: 'pax', id: 'symlink-with-data', outcome: 'refused',
    what: 'a symlink entry of size 1024 whose data is a header for CANARY/victim',
    layers: (c) => [Buffer.concat([header({ name: 's', typeflag: '2', size: 1024, linkname: 'x', mode: 0o777 }), hidden(c.canary), END])],
  }),
  ...layerCase({
    klass: 'pax', id: 'path-dotdot', outcome: 'refused',
    what: 'ustar name "benign", PAX path ../../…/CANARY/victim',
    layers: (c) => [F('benign', 'pwned\n', { pax: { path: `${UP}${rel(c.canary)}/victim` } })],
  }),
  ...layerCase({
    klass: 'pax', id: 'path-absolute', outcome: 'confined',
    what: 'ustar name "benign", PAX path /CANARY/victim',
    layers: (c) => [F('benign', 'pwned\n', { pax: { path: `${c.canary}/victim` } })],
    lands: (c) => [{ path: `${rel(c.canary)}/victim`, file: 'pwned\n' }, { path: 'benign', type: 'absent' }],
  }),
  ...layerCase({
    klass: 'pax', id: 'global-path', outcome: 'refused',
    what: 'a global PAX header setting path=/CANARY/victim before a file',
    layers: (c) => [Buffer.concat([extHeader('g', paxRecords({ path: `${c.canary}/victim` })), entryBlocks(F('benign')), END])],
  }),
  ...layerCase({
    klass: 'pax', id: 'gnu-longname-dotdot', outcome: 'refused',
    what: 'a GNU long name ../../…/CANARY/victim',
    layers: (c) => [F('x', 'pwned\n', { gnuLongName: `${UP}${rel(c.canary)}/victim` })],
  }),
  ...layerCase({
    klass: 'pax', id: 'nul-in-name', outcome: 'refused',
    what: 'a PAX path with a NUL byte',
    layers: () => [F('benign', 'x\n', { pax: { path: 'a\0/../../b' } })],
  }),
  ...layerCase({
    klass: 'pax', id: 'sparse', outcome: 'refused',
    what: 'a PAX 1.0 sparse file (GNU.sparse.*), whose data is a map, not the file',
    layers: () => [F('s', '1\n0\n5\npwned', { pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 's', 'GNU.sparse.realsize': '5' } })],
  }),
];

/** Names and link names of every length. */
export const longNames: HostileCase[] = [
  ...layerCase({
    klass: 'long-names', id: 'path-over-64k', outcome: 'refused',
    what: 'a PAX path of 70 000 bytes',
    layers: () => [F('a/'.repeat(35_000) + 'x')],
  }),
  ...layerCase({
    klass: 'long-names', id: 'component-over-255', outcome: 'refused',
    what: 'a name with a 300-byte component',
    layers: () => [F(`d/${'x'.repeat(300)}`)],
  }),
  ...layerCase({
    klass: 'long-names', id: 'symlink-target-over-64k', outcome: 'refused',
    what: 'a symlink whose PAX linkpath is 70 000 bytes',
    layers: () => [L('s', '/' + 'a/'.repeat(35_000))],
  }),
  ...layerCase({
    klass: 'long-names', id: 'gnu-longlink-8k', outcome: 'refused',
    what: 'a hardlink whose GNU long link name is 8 KiB',
    layers: () => [F('a'), { ...H('hl', 'a'), gnuLongLink: 'a/'.repeat(4096) + 'a' }],
  }),
  ...layerCase({
    klass: 'long-names', id: 'path-3000', outcome: 'confined',
    what: 'a 3000-byte path of 200-byte components (within PATH_MAX): extracted',
    layers: () => [F(`${'d'.repeat(199)}/`.repeat(15) + 'x', 'deep\n')],
    lands: () => [{ path: `${'d'.repeat(199)}/`.repeat(15) + 'x', file: 'deep\n' }],
  }),
];

/** Truncated tars, garbage and hidden entries after the end. */
export const tarStreams: HostileCase[] = [
  ...layerCase({
    klass: 'tar-stream', id: 'truncated', outcome: 'refused', sources: FILES,
    what: 'a tar cut in the middle of a file',
    layers: () => [tarOf([F('a', 'x'.repeat(5000))]).subarray(0, 1512)],
  }),
  ...layerCase({
    klass: 'tar-stream', id: 'trailing-garbage', outcome: 'refused',
    what: 'a block of garbage after the end-of-archive blocks',
    layers: () => [Buffer.concat([tarOf([F('a')]), Buffer.alloc(512, 'G')])],
  }),
  ...layerCase({
    klass: 'tar-stream', id: 'entries-after-end', outcome: 'refused',
    what: 'an entry for CANARY/victim after the end-of-archive blocks (GNU tar never shows it)',
    layers: (c) => [Buffer.concat([tarOf([F('a')]), tarOf([F(`${c.canary}/victim`)])])],
  }),
  ...layerCase({
    klass: 'tar-stream', id: 'lone-zero-block', outcome: 'refused',
    what: 'one zero block, then more entries',
    layers: () => [Buffer.concat([entryBlocks(F('a')), Buffer.alloc(512), entryBlocks(F('b')), END])],
  }),
  ...layerCase({
    klass: 'tar-stream', id: 'junk-in-zero-block', outcome: 'refused',
    what: 'a zero block with junk in its checksum field (looks like the end to a checksum test)',
    layers: () => {
      const junk = Buffer.alloc(512);
      junk.write('JUNKJUNK', 148, 'latin1');
      return [Buffer.concat([entryBlocks(F('a')), junk, entryBlocks(F('b')), END])];
    },
  }),
  ...layerCase({
    klass: 'tar-stream', id: 'not-a-tar', outcome: 'refused',
    what: '4 KiB of random bytes',
    layers: () => [randomBytes(4096)],
  }),
  ...layerCase({
    klass: 'tar-stream', id: 'zero-padding', outcome: 'confined',
    what: 'zeros after the end-of-archive blocks (a whole record and a partial block): accepted',
    layers: () => [Buffer.concat([tarOf([F('a', 'a\n')]), Buffer.alloc(10240 + 100)])],
    lands: () => [{ path: 'a', file: 'a\n' }],
  }),
];

const ok = (): Buffer => tarOf([F('a', 'a\n'), F('b', 'b'.repeat(20_000))]);

/** gzip: truncated, trailing bytes, members after the end, bombs. */
export const gzipStreams: HostileCase[] = [
  ...layerCase({
    klass: 'gzip', id: 'truncated', outcome: 'refused', sources: FILES,
    what: 'a gzip stream cut in half',
    layers: () => [ok()],
    blobs: (_c, [t]) => [gz(t).subarray(0, gz(t).length >> 1)],
  }),
  ...layerCase({
    klass: 'gzip', id: 'trailing-garbage', outcome: 'refused', sources: ['tarball', 'oci'],
    what: 'bytes after the gzip stream starting with a zero byte (which zlib skips unseen)',
    layers: () => [ok()],
    blobs: (_c, [t]) => [Buffer.concat([gz(t), Buffer.from('\0GARBAGE')])],
  }),
  ...layerCase({
    klass: 'gzip', id: 'trailing-zeros', outcome: 'refused', sources: ['tarball'],
    what: '512 zero bytes after the gzip stream',
    layers: () => [ok()],
    blobs: (_c, [t]) => [Buffer.concat([gz(t), Buffer.alloc(512)])],
  }),
  ...layerCase({
    klass: 'gzip', id: 'member-after-end', outcome: 'refused',
    what: 'a second gzip member holding an entry for CANARY/victim after the tar\'s end',
    layers: (c) => [Buffer.concat([ok(), tarOf([F(`${c.canary}/victim`)])])],
    blobs: (c) => [Buffer.concat([gz(ok()), gz(tarOf([F(`${c.canary}/victim`)]))])],
  }),
  ...layerCase({
    klass: 'gzip', id: 'bomb', outcome: 'refused', sources: ['tarball'],
    what: 'a 512 KiB gzip announcing and expanding to a 512 MiB file (default bound: 100:1 past 256 MiB)',
    layers: () => [tarOf([])],
    blobs: () => [gzipBomb(512 << 20)],
  }),
  ...layerCase({
    klass: 'gzip', id: 'bomb-bounded', outcome: 'refused', sources: ['tarball', 'oci'], env: { CAIRN_MAX_LAYER_SIZE: '8M' },
    what: 'a 64 KiB gzip expanding to 64 MiB, with CAIRN_MAX_LAYER_SIZE=8M',
    layers: () => [tarOf([])],
    blobs: () => [gzipBomb(64 << 20)],
  }),
  ...layerCase({
    klass: 'gzip', id: 'within-bound', outcome: 'confined', sources: ['tarball'], env: { CAIRN_MAX_LAYER_SIZE: '8M' },
    what: 'an ordinary gzip layer with CAIRN_MAX_LAYER_SIZE=8M: accepted',
    layers: () => [ok()],
    blobs: (_c, [t]) => [gz(t)],
    lands: () => [{ path: 'a', file: 'a\n' }],
  }),
];
