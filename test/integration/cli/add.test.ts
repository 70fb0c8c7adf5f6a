import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { serveDir, type FlatServer } from '../../kit/flat.js';
import { tarOf } from '../../kit/tarfix.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * `add` as buildah's: archives unpacked (plain, gzip, xz), URLs fetched, anything else copied; an archive
 * cannot reach outside its destination (a canary on the host must stay untouched).
 */

let k: CliKit;
let dir: string;
let server: FlatServer;
let c: string;
const CANARY = path.join(os.tmpdir(), `cairn-add-canary-${process.pid}`);

beforeAll(async () => {
  k = cliKit();
  dir = path.join(k.root, '..', `add-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const tar = await tarOf([
    { name: 'site/', type: 'directory' },
    { name: 'site/index.html', content: 'hello\n', mode: 0o640, uid: 33, gid: 33 },
    { name: 'site/.wh.keep', content: 'not a whiteout\n' },
    { name: 'site/up', type: 'symlink', linkname: '/' },
  ]);
  writeFileSync(path.join(dir, 'site.tar'), tar);
  writeFileSync(path.join(dir, 'site.tar.gz'), gzipSync(tar));
  execFileSync('xz', ['-k', path.join(dir, 'site.tar')]);
  writeFileSync(path.join(dir, 'notes.txt'), 'plain\n');
  writeFileSync(path.join(dir, 'through-link.tar'), await tarOf([{ name: 'e', type: 'symlink', linkname: CANARY }, { name: 'e/pwned', content: 'x' }]));
  writeFileSync(path.join(dir, 'dotdot.tar'), await tarOf([{ name: '../../outside', content: 'x' }]));
  mkdirSync(CANARY, { recursive: true });
  server = await serveDir(dir);
  c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
});
afterAll(async () => {
  await server?.close();
  rmSync(CANARY, { recursive: true, force: true });
  k.cleanup();
});

const sh = (cmd: string) => k.ok(['run', c, 'sh', '-c', cmd]);

describe('cairn add', () => {
  it('unpacks a plain, gzip or xz tar archive into DEST with its owners and modes; .wh. names are plain files', () => {
    for (const [file, dest] of [['site.tar', '/a'], ['site.tar.gz', '/b/'], ['site.tar.xz', '/c']]) {
      k.ok(['add', c, path.join(dir, file), dest]);
      expect(sh(`cat ${dest}/site/index.html ${dest}/site/.wh.keep; stat -c '%a %u:%g' ${dest}/site/index.html; readlink ${dest}/site/up`)).toBe('hello\nnot a whiteout\n640 33:33\n/');
    }
    expect(k.ok(['inspect', '--format', '{{json .Pending}}', c])).toContain('ADD site.tar.gz /b/');
  });

  it('fetches a URL (mode 0600), and copies anything else as copy does', async () => {
    // Not blocking: the server answers from this process.
    const got = await k.cairnAsync(['add', c, `${server.url}/notes.txt`, '/fetched/']);
    expect(got.stderr).toBe('');
    expect(sh("cat /fetched/notes.txt; stat -c '%a' /fetched/notes.txt")).toBe('plain\n600');
    k.ok(['add', '--chmod', '0644', c, path.join(dir, 'notes.txt'), '/copied.txt']);
    expect(sh("cat /copied.txt; stat -c '%a' /copied.txt")).toBe('plain\n644');
    const r = await k.cairnAsync(['add', c, `${server.url}/missing`, '/x']);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(/^cairn add: .*404/);
  });

  it('an archive never writes outside DEST; --chown on an archive is refused', () => {
    // A link in the archive is resolved as if DEST were the root: what goes through it stays below DEST.
    k.ok(['add', c, path.join(dir, 'through-link.tar'), '/evil']);
    expect(existsSync(path.join(CANARY, 'pwned'))).toBe(false);
    expect(sh(`cat /evil${CANARY}/pwned`)).toBe('x');
    const r = k.cairn(['add', c, path.join(dir, 'dotdot.tar'), '/dotdot']);
    expect([r.status, r.stderr.split('\n')[0]]).toEqual([125, 'cairn add: layer entry "../../outside" points outside the root']);
    expect(sh('ls -a /dotdot')).toBe('.\n..');
    const chown = k.cairn(['add', '--chown', '1:1', c, path.join(dir, 'site.tar'), '/d']);
    expect([chown.status, chown.stderr.split('\n')[0]]).toEqual([125, `cairn add: ${path.join(dir, 'site.tar')} is an archive: it is unpacked with its own owners and modes`]);
  });
});
