import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tarStream from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { from, image } from '../../../dsl/index.js';
import { IN_PROCESS, mountedTree } from '../../kit/api.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { withEnv } from '../../kit/env.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

// The same changes, made on the overlay driver and on the copying one, must give the same layers and the same
// image ID (docs/decisions.md, "Same layers from both storage drivers"). In-process through the public API: the
// engine is under test here, not the CLI.

const tmp = mkdtempSync(path.join(os.tmpdir(), 'cairn-drivers-'));
const kits: CliKit[] = [];
afterAll(() => {
  for (const k of kits) k.cleanup();
  rmSync(tmp, { recursive: true, force: true });
});

const T0 = 1_500_000_000;

/** The tiny base plus a tree under /srv for the changes to work on, every time T0. */
function baseTar(): string {
  const tar = path.join(tmp, 'base.tar');
  // The kit's shared tiny tar (read-only: the run's set-up removes it).
  copyFileSync(tinyRootfsTar(), tar);
  const root = path.join(tmp, 'base');
  const files: Record<string, string> = {
    'srv/a/b/c/deep.txt': 'deep\n', 'srv/a/b/c/other.txt': 'other\n', 'srv/a/b/sib.txt': 'sib\n',
    'srv/del.txt': 'del\n', 'srv/gone/x': 'x\n', 'srv/gone/sub/y': 'y\n', 'srv/dir2file/child': 'child\n',
    'srv/file2dir': 'file\n', 'srv/perm.txt': 'perm\n', 'srv/owner.txt': 'owner\n', 'srv/linked.txt': 'linked\n',
    'srv/opq/a': 'a\n', 'srv/opq/b': 'b\n', 'srv/opq/sub/c': 'c\n', 'srv/xattr.txt': 'x\n', 'srv/untouched/u': 'u\n',
  };
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), content);
  }
  mkdirSync(path.join(root, 'srv/xdir'));
  execFileSync('sh', ['-c', `find srv -exec touch -h -d @${T0} {} +`], { cwd: root });
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-rf', tar, 'srv']);
  rmSync(root, { recursive: true, force: true });
  return tar;
}

/** The first batch of changes: one of each kind. */
const FIRST = `set -e
cd /srv
echo new > added.txt && mkdir -p newdir/sub && echo n > newdir/sub/n.txt
echo more >> a/b/c/deep.txt
rm del.txt
rm -rf gone
rm -rf dir2file && echo now-a-file > dir2file
rm file2dir && mkdir file2dir && echo in > file2dir/in.txt
echo ghost > ghost.txt && rm ghost.txt && mkdir -p ghostdir/x && rm -r ghostdir
echo ghost > untouched/ghost && rm untouched/ghost && touch -d @${T0} untouched
chmod 0600 perm.txt && chown 1000:1000 owner.txt
ln linked.txt linked-2.txt && echo h > new-h && ln new-h new-h2
ln -s a/b/c/deep.txt sym && ln -s /nowhere dangling
rm -rf opq && mkdir opq && echo fresh > opq/fresh.txt
`;

/** The second batch: changes to what the first one made, on top of its checkpoint. */
const SECOND = `set -e
cd /srv
echo again >> added.txt
rm -rf newdir && mkdir newdir && echo n2 > newdir/n2.txt
rm new-h2
rm -rf file2dir
chmod 0755 perm.txt
mkdir -p a/b/c/d && echo deeper > a/b/c/d/e.txt
rm dangling
echo ghost > untouched/ghost && rm untouched/ghost && touch -d @${T0} untouched
`;

/** The third batch, sealed with real times. */
const THIRD = 'rm /srv/perm.txt && rm -rf /srv/opq && mkdir /srv/opq';

/** True when user.* xattrs can be set in the store's file system (this process is in cairn's namespace, as a build's tools would be). */
function xattrsWork(k: CliKit): boolean {
  if (spawnSync('setfattr', ['--version']).status !== 0) return false;
  const probe = path.join(k.root, 'xattr-probe');
  writeFileSync(probe, '');
  const r = spawnSync('setfattr', ['-n', 'user.cairn', '-v', 'probe', probe]);
  rmSync(probe, { force: true });
  return r.status === 0;
}

/** Lists a layer tar: one line per entry, as `ls -l` would say it, with a content digest and xattrs. */
async function listTar(file: string): Promise<string[]> {
  const ex = tarStream.extract();
  const out: string[] = [];
  ex.on('entry', (h, body, next) => {
    const hash = createHash('sha256');
    body.on('data', (d: Buffer) => hash.update(d));
    body.on('end', () => {
      const x = Object.entries(h.pax ?? {}).filter(([k]) => k.startsWith('SCHILY.xattr.')).map(([k, v]) => `${k.slice(13)}=${v}`);
      const link = h.linkname ? ` -> ${h.linkname}` : '';
      const sum = h.type === 'file' && h.size ? ` sha256:${hash.digest('hex').slice(0, 12)}` : '';
      const mtime = (h.mtime?.getTime() ?? NaN) / 1000;
      out.push(`${h.name}${link} ${h.type} ${(h.mode ?? 0).toString(8)} ${h.uid}:${h.gid} ${mtime} ${h.size}${sum}${x.length ? ' ' + x.join(',') : ''}`);
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(readFileSync(file));
  await done;
  return out;
}

interface Image {
  id: string;
  layers: string[];
}

interface Built {
  /** After the first batch and its checkpoint. */
  one: Image;
  /** After the second batch and its checkpoint, on top of the first. */
  two: Image;
  /** After a third batch sealed without SOURCE_DATE_EPOCH, on top of the second. */
  three: Image;
  /** The entries of each of three's layers. */
  listings: string[][];
  /** What `cairn diff` said before the first and the second checkpoint. */
  diffs: string[];
}

/**
 * Builds with one driver on a fresh store: from the base, each batch then a checkpoint and a commit, all with
 * SOURCE_DATE_EPOCH=0, then a third batch committed without it.
 */
async function build(driver: 'overlay' | 'vfs', base: string, xattrs: boolean): Promise<Built> {
  const k = cliKit('cairn-drivers-');
  kits.push(k);
  const root = k.root;
  return withEnv({ STORAGE_DRIVER: driver, SOURCE_DATE_EPOCH: '0' }, async () => {
    const layersOf = async (name: string): Promise<string[]> => (await (await image(name, { root })).inspect()).manifest.layers.map((l) => l.digest);
    const c = await from(`tarball:${base}`, { root });
    await c.run(['sh', '-c', FIRST]);
    if (xattrs) {
      const mnt = await mountedTree(c);
      execFileSync('setfattr', ['-n', 'user.cairn', '-v', 'file', `${mnt}/srv/xattr.txt`]);
      execFileSync('setfattr', ['-n', 'user.cairn', '-v', 'dir', `${mnt}/srv/xdir`]);
    }
    const diff = async () => (await c.diff()).map((d) => `${d.kind} ${d.path}`).join('\n');
    const diffs = [await diff()];
    await c.checkpoint('first');
    const ids = [(await c.commit('localhost/drivers:one')).id];
    await c.run(['sh', '-c', SECOND]);
    diffs.push(await diff());
    await c.checkpoint('second');
    ids.push((await c.commit('localhost/drivers:two')).id);
    await withEnv({ SOURCE_DATE_EPOCH: undefined }, async () => {
      await c.run(['sh', '-c', THIRD]);
      ids.push((await c.commit('localhost/drivers:three')).id);
    });
    const [one, two, three] = await Promise.all(['one', 'two', 'three'].map(async (t, i) => ({ id: ids[i], layers: await layersOf(`localhost/drivers:${t}`) })));
    const out = path.join(root, 'out');
    await (await image('localhost/drivers:three', { root })).push(`oci:${out}`, { compression: 'none' });
    const listings = await Promise.all(three.layers.map((d) => listTar(path.join(out, 'blobs/sha256', d.slice('sha256:'.length)))));
    return { one, two, three, listings, diffs };
  });
}

/** Why the overlay driver cannot be used here, or undefined when it can. */
async function overlayUnusable(k: CliKit): Promise<string | undefined> {
  try {
    await withEnv({ STORAGE_DRIVER: 'overlay' }, () => from('scratch', { root: k.root }));
    return undefined;
  } catch (err) {
    if (/overlayfs is not usable/.test((err as Error).message)) return (err as Error).message;
    throw err;
  }
}

/** The entries of a layer by name and type alone. */
const names = (listing: string[]): string[] => listing.map((l) => l.split(' ').slice(0, l.includes(' -> ') ? 4 : 2).join(' '));

/** Whiteouts and opaque markers, whole. */
const markers = (listing: string[]): string[] => listing.filter((l) => l.split(' ')[0].split('/').pop()!.startsWith('.wh.'));

describe.runIf(IN_PROCESS)('the overlay and copying drivers give the same layers and image ID', () => {
  let unusable: string | undefined;
  let xattrs = false;
  let overlay: Built;
  let vfs: Built;

  beforeAll(async () => {
    const probe = cliKit('cairn-drivers-probe-');
    kits.push(probe);
    unusable = await overlayUnusable(probe);
    if (unusable) return;
    xattrs = xattrsWork(probe);
    const base = baseTar();
    // One after the other: each build sets the variables the engine reads (STORAGE_DRIVER, SOURCE_DATE_EPOCH).
    overlay = await build('overlay', base, xattrs);
    vfs = await build('vfs', base, xattrs);
  }, 180_000);

  it('one checkpoint: the same entries, layer digests and image ID', (ctx) => {
    if (unusable) ctx.skip(`overlay is not usable here: ${unusable}`);
    expect(overlay.diffs[0].split('\n')).toEqual(vfs.diffs[0].split('\n'));
    expect(overlay.listings.slice(0, 2)).toEqual(vfs.listings.slice(0, 2));
    expect(overlay.one.layers).toEqual(vfs.one.layers);
    expect(overlay.one.id).toBe(vfs.one.id);
    // The canonical form: every parent of a change, one whiteout per deleted path, an opaque marker in a
    // directory made again, a fixed header on every marker; nothing for what was made and removed again.
    expect(names(overlay.listings[1])).toEqual([
      'srv/ directory', 'srv/.wh.del.txt file', 'srv/.wh.gone file', 'srv/a/ directory', 'srv/a/b/ directory', 'srv/a/b/c/ directory',
      'srv/a/b/c/deep.txt file', 'srv/added.txt file', 'srv/dangling -> /nowhere symlink', 'srv/dir2file file', 'srv/file2dir/ directory',
      'srv/file2dir/.wh..wh..opq file', 'srv/file2dir/in.txt file', 'srv/linked-2.txt file', 'srv/linked.txt -> srv/linked-2.txt link',
      'srv/new-h file', 'srv/new-h2 -> srv/new-h link', 'srv/newdir/ directory', 'srv/newdir/sub/ directory', 'srv/newdir/sub/n.txt file',
      'srv/opq/ directory', 'srv/opq/.wh..wh..opq file', 'srv/opq/fresh.txt file', 'srv/owner.txt file', 'srv/perm.txt file',
      'srv/sym -> a/b/c/deep.txt symlink', 'srv/xattr.txt file', ...(xattrs ? ['srv/xdir/ directory'] : []),
    ]);
    for (const m of markers(overlay.listings[1])) expect(m).toMatch(/ file 0 0:0 0 0$/);
    if (xattrs) expect(overlay.listings[1]).toEqual(expect.arrayContaining([expect.stringMatching(/^srv\/xdir\/ .* user\.cairn=dir$/)]));
  });

  it('two checkpoints: the same entries, layer digests and image ID', (ctx) => {
    if (unusable) ctx.skip(`overlay is not usable here: ${unusable}`);
    expect(overlay.diffs[1].split('\n')).toEqual(vfs.diffs[1].split('\n'));
    expect(overlay.listings.slice(0, 3)).toEqual(vfs.listings.slice(0, 3));
    expect(overlay.two.layers).toEqual(vfs.two.layers);
    expect(overlay.two.id).toBe(vfs.two.id);
    for (const b of [overlay, vfs]) {
      expect(b.two.layers.slice(0, 2)).toEqual(b.one.layers);
      expect(b.three.layers.slice(0, 3)).toEqual(b.two.layers);
    }
    expect(names(overlay.listings[2])).toEqual([
      'srv/ directory', 'srv/.wh.dangling file', 'srv/.wh.file2dir file', 'srv/.wh.new-h2 file', 'srv/a/ directory', 'srv/a/b/ directory',
      'srv/a/b/c/ directory', 'srv/a/b/c/d/ directory', 'srv/a/b/c/d/e.txt file', 'srv/added.txt file', 'srv/newdir/ directory',
      'srv/newdir/.wh..wh..opq file', 'srv/newdir/n2.txt file', 'srv/perm.txt file',
    ]);
  });

  it('without SOURCE_DATE_EPOCH: the same whiteouts and opaque markers, with the fixed header', (ctx) => {
    if (unusable) ctx.skip(`overlay is not usable here: ${unusable}`);
    expect(markers(overlay.listings[3])).toEqual(['srv/.wh.perm.txt file 0 0:0 0 0', 'srv/opq/.wh..wh..opq file 0 0:0 0 0']);
    expect(markers(vfs.listings[3])).toEqual(markers(overlay.listings[3]));
    expect(names(vfs.listings[3])).toEqual(names(overlay.listings[3]));
  });
});
