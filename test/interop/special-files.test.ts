// File kinds and metadata that tar layers must carry: hardlinks, symlinks, xattrs, capabilities, setuid,
// fifos, devices, long names and link targets, non-ASCII names, owners (ids past ustar's 2097151) and mtimes — written by host tools into `cairn mount`,
// committed, and compared with stat after umoci's, buildah's and cairn's own unpacking.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import {
  cleanupValidated,
  containersKit,
  getXattr,
  have,
  peerOk,
  removeTree,
  requirePeers,
  runPeer,
  stat,
  tempDir,
  validateOci,
  type ContainersKit,
  type Validated,
} from '../kit/peers.js';
import { tinyRootfsTar } from '../kit/tiny.js';

const LONG = `srv/${'d'.repeat(70)}/${'e'.repeat(70)}/${'f'.repeat(90)}.txt`;
const UNICODE = 'srv/ünï cødé – name.txt';
/** Every path checked, relative to the root. */
const PATHS = [
  'srv',
  'srv/h1',
  'srv/h2',
  'opt/h3',
  'srv/rel',
  'srv/abs',
  'srv/dangling',
  'srv/dirlink',
  'srv/suid',
  'srv/sgid-dir',
  'srv/sticky',
  'srv/fifo',
  'srv/null',
  'srv/owned',
  'srv/big-ids',
  'srv/longlink',
  'srv/empty',
  'srv/old',
  LONG,
  UNICODE,
];
/** `stat` fields compared everywhere: name, type, mode, owner, size, links, symlink target. */
const FMT = '%n|%F|%a|%u:%g|%s|%h|%N';
/** And the mtime, compared for non-directories (a directory's changes when entries are added under it). */
const FMT_MTIME = '%n|%Y';

let k: CliKit;
let p: ContainersKit | undefined;
let work: string;
let layout: string;
let v: Validated;
let expected: string[];
let expectedMtimes: string[];
let userXattrs = false;
let caps = false;

/** `stat FMT` of PATHS under root, with the root stripped from names. */
function statAll(root: string, fmt = FMT, paths = PATHS): string[] {
  return stat(fmt, ...paths.map((q) => path.join(root, q))).map((l) => l.split(root).join(''));
}

beforeAll(() => {
  requirePeers('skopeo', 'umoci', 'setfattr', 'getfattr', 'mkfifo', 'mknod');
  k = cliKit('cairn-interop-special-');
  work = tempDir('cairn-interop-special-');
  const c = k.ok(['from', '--name', 'special', `tarball:${tinyRootfsTar()}`]);
  // some changes from inside the container…
  k.ok(['run', c, '--', 'sh', '-c', 'mkdir -p /srv /opt && echo hard > /srv/h1 && ln /srv/h1 /srv/h2 && ln /srv/h1 /opt/h3 && cp /bin/true /srv/suid && chmod 4755 /srv/suid']);
  // …and the rest from the host, into the mounted root
  const m = k.ok(['mount', c]);
  const sh = (script: string) => peerOk('sh', ['-euc', script], { cwd: path.join(m, 'srv') });
  sh(`ln -s h1 rel; ln -s /srv/h1 abs; ln -s /nope dangling; ln -s ../opt dirlink
      mkdir sgid-dir sticky; chmod 2775 sgid-dir; chmod 1777 sticky
      mkfifo -m 0640 fifo; mknod -m 0666 null c 1 3
      echo o > owned; chown 123:456 owned; chmod 0600 owned
      echo big > big-ids; chown 4000000:3000000 big-ids
      ln -s '/${'t'.repeat(150)}/${'u'.repeat(40)}' longlink
      : > empty
      echo old > old; touch -d @1234567890 old; touch -h -d @1234567891 rel
      mkdir -p "$(dirname '${LONG.slice(4)}')"; echo long > '${LONG.slice(4)}'
      echo uni > '${UNICODE.slice(4)}'`);
  // xattrs need filesystem support for user.* where the store lives: probe, and check them only if it has it
  writeFileSync(path.join(m, 'srv/.probe'), '');
  userXattrs = runPeer('setfattr', ['-n', 'user.probe', '-v', '1', path.join(m, 'srv/.probe')]).status === 0;
  sh('rm .probe');
  if (userXattrs) sh('setfattr -n user.test -v 1 h1; setfattr -n user.other -v "two words" owned');
  caps = have('setcap') && have('getcap');
  if (caps) sh('setcap cap_net_raw,cap_net_bind_service+ep suid');
  expected = statAll(m);
  expectedMtimes = statAll(m, FMT_MTIME, PATHS.filter((q) => !['srv', 'srv/sgid-dir', 'srv/sticky'].includes(q)));
  k.ok(['umount', c]);
  k.ok(['checkpoint', '-m', 'special files', c]);
  k.ok(['commit', c, 'localhost/special']);
  layout = path.join(work, 'oci');
  k.ok(['push', 'localhost/special', `oci:${layout}:special`]);
  v = validateOci(layout, 'special');
}, 180_000);

afterAll(() => {
  cleanupValidated();
  p?.cleanup();
  k?.cleanup();
  if (work) removeTree(work);
});

describe('special files survive commit → oci → umoci unpack', () => {
  it('keep type, mode (setuid, setgid, sticky), owner, size, link count and symlink targets', () => {
    expect(expected.find((l) => l.startsWith('/srv/suid|'))).toMatch(/\|4755\|/);
    expect(statAll(v.rootfs)).toEqual(expected);
  });

  it('keep mtimes of files, symlinks, fifos and devices', () => {
    expect(expectedMtimes).toContain('/srv/old|1234567890');
    expect(expectedMtimes).toContain('/srv/rel|1234567891');
    expect(statAll(v.rootfs, FMT_MTIME, expectedMtimes.map((l) => l.split('|')[0].slice(1)))).toEqual(expectedMtimes);
  });

  it('keep hardlinks as one inode across directories', () => {
    const inodes = stat('%i', ...['srv/h1', 'srv/h2', 'opt/h3'].map((q) => path.join(v.rootfs, q)));
    expect(new Set(inodes).size).toBe(1);
  });

  it('keep user xattrs', () => {
    if (!userXattrs) {
      console.warn('special-files: the store filesystem has no user xattrs; not checked');
      return;
    }
    expect(getXattr(path.join(v.rootfs, 'srv/h1'), 'user.test')).toBe('1');
    expect(getXattr(path.join(v.rootfs, 'srv/h2'), 'user.test')).toBe('1');
    expect(getXattr(path.join(v.rootfs, 'srv/owned'), 'user.other')).toBe('two words');
  });

  it.skipIf(!have('setcap'))('keep file capabilities (security.capability)', () => {
    expect(caps).toBe(true);
    expect(peerOk('getcap', [path.join(v.rootfs, 'srv/suid')])).toMatch(/cap_net_bind_service,cap_net_raw[=+]ep/);
  });
});

describe('special files survive the other readers', () => {
  /** The same stat inside a container (the tiny image has coreutils stat). */
  const inside = `cd / && LC_ALL=C stat -c '${FMT}' ${PATHS.map((q) => `'${q}'`).join(' ')}`;
  const rel = (lines: string[]) => lines.map((l) => l.replace(/^\//, '').replace(/'\//g, "'"));

  it('cairn from oci: gives the same tree back', () => {
    const c = k.ok(['from', `oci:${layout}:special`]);
    expect(rel(k.ok(['run', c, '--', 'sh', '-c', inside]).split('\n'))).toEqual(rel(expected));
    const m = k.ok(['mount', c]);
    try {
      if (userXattrs) expect(getXattr(path.join(m, 'srv/h2'), 'user.test')).toBe('1');
      if (caps) expect(peerOk('getcap', [path.join(m, 'srv/suid')])).toMatch(/cap_net_bind_service,cap_net_raw[=+]ep/);
      expect(statAll(m)).toEqual(expected);
    } finally {
      k.ok(['umount', c]);
    }
  });

  it('buildah from oci: gives the same tree', () => {
    p ??= containersKit('cairn-peer-special-');
    const b = p.buildahOk(['from', '--pull-never', `oci:${layout}:special`]);
    expect(rel(p.buildahOk(['run', '--isolation', 'chroot', b, '--', 'sh', '-c', inside]).split('\n'))).toEqual(rel(expected));
  });
});

describe('metadata-only changes in a later layer', () => {
  // Overlay copies up metadata only (or the whole file) on chmod/chown/touch/setfattr: the next layer must
  // still carry each changed file whole, with its new metadata, and a removed xattr must stay removed.
  it('carry the new mode, owner, mtime and xattrs of base files (as umoci unpacks them)', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    let m = k.ok(['mount', c]);
    peerOk('sh', ['-euc', 'echo a > a; echo b > b; echo m > m; echo o > o'], { cwd: m });
    if (userXattrs) peerOk('setfattr', ['-n', 'user.k', '-v', 'v1', path.join(m, 'b')]);
    k.ok(['umount', c]);
    k.ok(['checkpoint', c]);
    m = k.ok(['mount', c]);
    peerOk('sh', ['-euc', 'chmod 4711 m; chown 7:8 o; touch -d @1000000000 bin/ls; chmod 700 bin/cat'], { cwd: m });
    if (userXattrs) {
      peerOk('setfattr', ['-n', 'user.k', '-v', 'v2', path.join(m, 'a')]);
      peerOk('setfattr', ['-x', 'user.k', path.join(m, 'b')]);
    }
    const paths = ['a', 'b', 'm', 'o', 'bin/ls', 'bin/cat'];
    const want = statAll(m, '%n|%a|%u:%g|%s|%Y', paths);
    k.ok(['umount', c]);
    expect(k.ok(['diff', c]).split('\n')).toEqual(expect.arrayContaining(['C /m', 'C /o', 'C /bin/ls', 'C /bin/cat']));
    k.ok(['checkpoint', c]);
    k.ok(['commit', c, 'localhost/meta']);
    const dir = path.join(work, 'meta');
    k.ok(['push', 'localhost/meta', `oci:${dir}:m`]);
    const mv = validateOci(dir, 'm');
    expect(mv.manifest.layers).toHaveLength(3);
    expect(statAll(mv.rootfs, '%n|%a|%u:%g|%s|%Y', paths)).toEqual(want);
    expect(want).toEqual(expect.arrayContaining([expect.stringMatching(/^\/m\|4711\|0:0\|2\|/), expect.stringMatching(/^\/o\|644\|7:8\|/), '/bin/ls|' + want.find((l) => l.startsWith('/bin/ls|'))!.split('|').slice(1, 4).join('|') + '|1000000000']));
    if (userXattrs) {
      expect(getXattr(path.join(mv.rootfs, 'a'), 'user.k')).toBe('v2');
      expect(getXattr(path.join(mv.rootfs, 'b'), 'user.k')).toBeUndefined();
    }
  });
});
