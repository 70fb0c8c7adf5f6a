import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportFlat, from, images as listImages, inspect, isCairnError, keys, verify } from '../../../dsl/index.js';
import { parseKeySpec } from '../../../dsl/sign/keys.js';
import { verifyStream } from '../../../dsl/flat/trailer.js';
import { IN_PROCESS, mountedTree } from '../../kit/api.js';
import { withEnv } from '../../kit/env.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * `cairn export`: the flat signed tarball of an image or a container, from either storage driver. The images
 * are built and most exports made in-process through the public API; the CLI rows show what the verb prints,
 * its flags, and the one line it fails with.
 */

/** Runs a host program; status, stdout, stderr. */
function sh(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A tree as sorted lines: path, type, mode, owner, size or link target, and a content hash for files. */
function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(root, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push(`${r}/ d ${mode} ${st.uid}:${st.gid}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} l ${st.uid}:${st.gid} -> ${readlinkSync(p)}`);
      else if (st.isFile()) out.push(`${r} f ${mode} ${st.uid}:${st.gid} ${sha(readFileSync(p))}`);
      else out.push(`${r} ? ${mode}`);
    }
  };
  walk('');
  return out;
}

/** The uncompressed bytes of an export. */
const tarBytes = (file: string): Buffer => {
  const b = readFileSync(file);
  return b[0] === 0x1f && b[1] === 0x8b ? zlib.gunzipSync(b) : b;
};

const hasTrailer = (tar: Buffer): boolean => tar.length >= 80 && tar.subarray(tar.length - 72, tar.length - 67).toString() === 'iksig';

/** One driver's fixture: a store with the image localhost/exported:1, exported once by the CLI and extracted with GNU tar. */
interface Fixture {
  k: CliKit;
  root: string;
  work: string;
  cfgA: string;
  cfgB: string;
  localId: string;
  /** The export and its sha256 as the export reported it; what `cairn export` printed and said when the CLI made it. */
  exported: string;
  digest: string;
  exportRun?: { status: number; stdout: string; stderr: string };
  /** The export extracted by GNU tar, and what tar said. */
  x: string;
  extractRun: { status: number | null; stderr: string };
}

/** Runs fn as a call of the fixture's user would run: its config directory (its signing key), no SOURCE_DATE_EPOCH. */
const as = <T>(f: { cfgA: string }, fn: () => Promise<T>, env: Record<string, string | undefined> = {}): Promise<T> =>
  withEnv({ XDG_CONFIG_HOME: f.cfgA, SOURCE_DATE_EPOCH: '', ...env }, fn);

/** Builds the image (two checkpoints, a config) with the given driver, exports it (by the CLI or in-process) and extracts the export. */
async function fixture(driver: string, viaCli: boolean): Promise<Fixture> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'cairn-export-'));
  const cfgA = path.join(work, 'cfg-a');
  const k = cliKit('cairn-export-store-', { XDG_CONFIG_HOME: cfgA, SOURCE_DATE_EPOCH: '', STORAGE_DRIVER: driver });
  const root = k.root;
  await as({ cfgA }, async () => {
    // Unsigned tarballs (here: GNU tar's) stay accepted as bases.
    const c = await from(`tarball:${tinyRootfsTar()}`, { root, name: 'src' });
    await c.run(['sh', '-c', 'rm /etc/group && echo added > /added && mkdir -p /srv/www && echo page > /srv/www/index && ln -s /added /srv/link']);
    await c.checkpoint('first');
    await c.run(['sh', '-c', 'rm -r /srv/www && echo second > /srv/second']);
    await c.config({ cmd: '["/bin/sh","-c","echo $GREETING from $(pwd); cat /added"]', env: ['GREETING=hello'], workingdir: '/srv' });
    // Clamped times, so that both drivers' images can be compared.
    await withEnv({ SOURCE_DATE_EPOCH: '1700000000' }, () => c.commit('localhost/exported:1'));
  }, { STORAGE_DRIVER: driver });
  const localId = (await as({ cfgA }, () => keys.show())).id;
  const exported = path.join(work, 'image.tar.gz');
  const exportRun = viaCli ? k.cairn(['export', 'localhost/exported:1', exported]) : undefined;
  const digest = exportRun ? exportRun.stdout.trim() : (await as({ cfgA }, () => exportFlat('localhost/exported:1', exported, { root }))).digest;
  const x = path.join(work, 'x');
  mkdirSync(x);
  const extractRun = sh('tar', ['xzf', exported, '-C', x]);
  return { k, root, work, cfgA, cfgB: path.join(work, 'cfg-b'), localId, exported, digest, exportRun, x, extractRun };
}

const fixtures = new Map<string, Fixture>();
beforeAll(async () => {
  if (!IN_PROCESS) return;
  // The overlay image is exported by the CLI (what it prints), the copying driver's in-process.
  for (const d of ['overlay', 'vfs']) fixtures.set(d, await fixture(d, d === 'overlay'));
});
afterAll(() => {
  for (const f of fixtures.values()) {
    f.k.cleanup();
    rmSync(f.work, { recursive: true, force: true });
  }
});

type ImageInfo = { id: string; config: { created: string; config: { Cmd: string[] } } };
const imageInfo = async (f: Fixture, name = 'localhost/exported:1') => (await inspect(name, { root: f.root })) as ImageInfo;

describe.runIf(IN_PROCESS)('export from either storage driver', () => {
  // Both drivers give the same layers and image ID (docs/decisions.md), so the same flat file.
  it('gives the same image and the same tar (each store signs with a key of its own)', async () => {
    const [o, v] = [fixtures.get('overlay')!, fixtures.get('vfs')!];
    expect((await imageInfo(v)).id).toBe((await imageInfo(o)).id);
    const unsigned = (x: Fixture) => tarBytes(x.exported).subarray(0, -80);
    expect(unsigned(v).equals(unsigned(o))).toBe(true);
  });
});

// The export of an image packs an overlay of its layers, or (copying driver) its layers applied in scratch:
// what differs between the drivers runs for both; the rest once.
describe.runIf(IN_PROCESS).each([['overlay', true], ['vfs', false]] as const)('cairn export and signed tarball: bases (%s driver)', (driver, all) => {
  const itAll = it.runIf(all);
  let k: CliKit;
  let root: string;
  let work: string;
  let cfgB: string;
  let localId: string;
  let exported: string;
  let f: Fixture;
  const images = async (): Promise<string[]> => (await listImages({ root })).map((i) => i.id).sort();
  /** An in-process call as the fixture's user. */
  const call = <T>(fn: () => Promise<T>, env: Record<string, string | undefined> = {}): Promise<T> => as(f, fn, env);

  beforeAll(() => {
    f = fixtures.get(driver)!;
    ({ k, root, work, cfgB, localId, exported } = f);
  });

  it(`writes one flattened, signed tarball and reports its sha256${all ? ' (the CLI prints it)' : ''}`, () => {
    expect(f.digest).toBe(sha(readFileSync(exported)));
    expect(readdirSync(work).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    if (!all) return;
    expect(f.exportRun).toEqual({ status: 0, stdout: f.digest + '\n', stderr: '', signal: null });
  });

  it('extracts with plain GNU tar, no warnings: whiteouts applied, config first', async () => {
    const dir = f.x;
    expect(f.extractRun.stderr).toBe('');
    expect(f.extractRun.status).toBe(0);
    expect(readFileSync(path.join(dir, 'added'), 'utf8')).toBe('added\n');
    expect(readFileSync(path.join(dir, 'srv/second'), 'utf8')).toBe('second\n');
    expect(readlinkSync(path.join(dir, 'srv/link'))).toBe('/added');
    expect(existsSync(path.join(dir, 'etc/group'))).toBe(false);
    expect(existsSync(path.join(dir, 'srv/www'))).toBe(false);
    expect(existsSync(path.join(dir, 'etc/passwd'))).toBe(true);
    expect(readdirSync(dir).some((n) => n.startsWith('.wh.'))).toBe(false);
    // The config bytes are the image's own: their sha256 is the image ID.
    const cfgBytes = readFileSync(path.join(dir, '.cairn/config.json'));
    const info = await imageInfo(f);
    expect(sha(cfgBytes)).toBe('sha256:' + info.id);
    const cfg = JSON.parse(cfgBytes.toString());
    expect(cfg.config.Cmd).toEqual(['/bin/sh', '-c', 'echo $GREETING from $(pwd); cat /added']);
    expect(cfg.config.Env).toContain('GREETING=hello');
    expect(cfg.config.WorkingDir).toBe('/srv');

    const tv = sh('tar', ['tvzf', exported]);
    expect(tv.stderr).toBe('');
    expect(tv.status).toBe(0);
    const first = tv.stdout.split('\n')[0];
    expect(first).toMatch(/^-rw-r--r-- 0\/0 .* \.cairn\/config\.json$/);
    // Times are clamped to the image's created time.
    const created = Date.parse(info.config.created) / 1000;
    for (const line of tv.stdout.trim().split('\n')) {
      const m = / (\d{4}-\d\d-\d\d \d\d:\d\d) /.exec(line)!;
      expect(Date.parse(m[1] + 'Z') / 1000).toBeLessThanOrEqual(created);
    }
  });

  itAll('extracts with busybox tar too', () => {
    if (!existsSync('/usr/bin/busybox') && !existsSync('/bin/busybox')) return;
    const r = sh('busybox', ['tar', 'tzf', exported]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('.cairn/config.json');
  });

  itAll('is reproducible: the same image gives the same bytes, through the library as through the CLI', async () => {
    const again = path.join(work, 'again.tar.gz');
    expect((await call(() => exportFlat('localhost/exported:1', again, { root }))).digest).toBe(sha(readFileSync(exported)));
    expect(readFileSync(again).equals(readFileSync(exported))).toBe(true);
  });

  itAll('verifies under the local key, and tar pads to a record before the trailer', async () => {
    expect((await call(() => verify(exported))).signer.id).toBe(localId);
    const v = await verifyStream(createReadStream(exported), [await parseKeySpec(path.join(f.cfgA, 'cairn/key.pub.pem'))]);
    expect(v).toMatchObject({ signed: true, valid: true });
    expect(v.signer?.id).toBe(localId);
    const tar = tarBytes(exported);
    expect(hasTrailer(tar)).toBe(true);
    expect((tar.length - 80) % 10240).toBe(0);
  });

  itAll('--no-sign writes no trailer; a .tar name gives a plain tar that `tar xf` reads silently', async () => {
    const plain = path.join(work, 'plain.tar');
    k.ok(['export', '--no-sign', 'localhost/exported:1', plain]);
    const bytes = readFileSync(plain);
    expect(bytes.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
    expect(hasTrailer(bytes)).toBe(false);
    expect(bytes.length % 10240).toBe(0);
    expect((await verifyStream(createReadStream(plain), [])).signed).toBe(false);
    await expect(call(() => verify(plain))).rejects.toThrow(/unsigned/);
    const signedTar = path.join(work, 'signed.tar');
    await call(() => exportFlat('localhost/exported:1', signedTar, { root }));
    expect(readFileSync(signedTar).equals(tarBytes(exported))).toBe(true);
    const dir = path.join(work, 'xt');
    mkdirSync(dir);
    const x = sh('tar', ['xf', signedTar, '-C', dir]);
    expect(x.stderr).toBe('');
    expect(x.status).toBe(0);
    expect(listTree(dir)).toEqual(listTree(path.join(work, 'x')));
  });

  itAll('timestamp clamps every time', async () => {
    const f = path.join(work, 'ts.tar.gz');
    await call(() => exportFlat('localhost/exported:1', f, { root, timestamp: 86400 }));
    const tv = sh('tar', ['tvzf', f, '--utc']);
    const dates = new Set(tv.stdout.trim().split('\n').map((l) => / (\d{4}-\d\d-\d\d) /.exec(l)![1]));
    expect([...dates].every((d) => d <= '1970-01-02')).toBe(true);
  });

  it('exports a container with its pending changes', async () => {
    const c = await call(() => from('localhost/exported:1', { root }));
    await c.run(['sh', '-c', 'echo pending > /pending && rm /added']);
    await c.config({ env: ['STAGE=pending'] });
    const f = path.join(work, 'ctr.tar.gz');
    const { digest } = await call(() => exportFlat(c.name, f, { root }));
    expect(digest).toBe(sha(readFileSync(f)));
    const names = sh('tar', ['tzf', f]).stdout.split('\n');
    expect(names[0]).toBe('.cairn/config.json');
    expect(names).toContain('pending');
    expect(names).not.toContain('added');
    const cfg = JSON.parse(sh('tar', ['xzOf', f, '.cairn/config.json']).stdout);
    expect(cfg.config.Env).toContain('STAGE=pending');
    expect((await c.diff()).map((d) => `${d.kind} ${d.path}`)).toContain('A /pending');
  });

  itAll('from tarball: of a signed export gives the exported tree and config, without /.cairn', async () => {
    const before = (await images()).length;
    const c = await call(() => from(`tarball:${exported}`, { root }));
    expect((await images()).length).toBe(before + 1);
    const cmd = ((await inspect(c.name, { root })) as { config: { config: { Cmd: string[] } } }).config.config.Cmd;
    expect(cmd).toEqual(['/bin/sh', '-c', 'echo $GREETING from $(pwd); cat /added']);
    expect((await c.run(cmd)).stdout).toBe('hello from /srv\nadded\n');
    const mnt = await mountedTree(c);
    const want = listTree(path.join(work, 'x')).filter((l) => !l.startsWith('.cairn'));
    expect(listTree(mnt)).toEqual(want);
    await c.unmount();
    // Again: the same image (the same ID), nothing new.
    await call(() => from(`tarball:${exported}`, { root }));
    expect((await images()).length).toBe(before + 1);
  });

  itAll('refuses a tampered export (exit 125, one line, store unchanged)', async () => {
    const before = await images();
    const gz = readFileSync(exported);
    const flipped = Buffer.from(gz);
    flipped[flipped.length >> 1] ^= 0x40;
    const bad1 = path.join(work, 'flipped.tar.gz');
    writeFileSync(bad1, flipped);
    // Changed inside the tar and compressed again: the gzip is sound, only the signature tells.
    const tar = Buffer.from(zlib.gunzipSync(gz));
    const at = tar.indexOf('second\n');
    expect(at).toBeGreaterThan(0);
    tar.write('SECOND\n', at);
    const bad2 = path.join(work, 'tampered.tar.gz');
    writeFileSync(bad2, zlib.gzipSync(tar));
    const r = k.cairn(['from', `tarball:${bad1}`]);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toMatch(/^cairn from: /);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    expect(await images()).toEqual(before);
    await expect(call(() => from(`tarball:${bad2}`, { root }))).rejects.toThrow(/tampered|signature/);
    expect(await images()).toEqual(before);
  });

  itAll('refuses an export signed by an untrusted key until it is trusted', async () => {
    const other = path.join(work, 'other.tar.gz');
    await call(() => exportFlat('localhost/exported:1', other, { root }), { XDG_CONFIG_HOME: cfgB });
    const before = await images();
    await expect(call(() => from(`tarball:${other}`, { root }))).rejects.toThrow(/unknown signer/);
    expect(await images()).toEqual(before);
    await call(() => keys.trust(path.join(cfgB, 'cairn/key.pub.pem')));
    expect((await call(() => from(`tarball:${other}`, { root }))).name).toMatch(/working-container/);
  });

  itAll('fails with one clear error and leaves no file for bad input', async () => {
    const target = path.join(work, 'bad.tar.gz');
    mkdirSync(path.join(work, 'cfg-bad/cairn'), { recursive: true });
    writeFileSync(path.join(work, 'cfg-bad/cairn/key.pem'), 'not a key\n', { mode: 0o600 });
    const cases: [string, string, RegExp, Record<string, string>?][] = [
      ['no-such-thing', target, /no container or image named no-such-thing/],
      ['localhost/exported:1', path.join(work, 'missing-dir/f.tar.gz'), /directory .* does not exist/],
      ['localhost/exported:1', path.join(exported, 'f.tar.gz'), /cannot write/],
      ['localhost/exported:1', work, /is a directory/],
      ['localhost/exported:1', target, /signing key/, { XDG_CONFIG_HOME: path.join(work, 'cfg-bad') }],
    ];
    for (const [name, file, re, env] of cases) {
      const err: unknown = await call(() => exportFlat(name, file, { root }), env).then(() => 'exported', (e) => e);
      expect(isCairnError(err), `${name} ${file}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
      expect(existsSync(target)).toBe(false);
      expect(readdirSync(work).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    }
  });

  itAll('through the CLI: --timestamp and a refusal are one line, exit 125, nothing on stdout', () => {
    const f = path.join(work, 'ts-cli.tar.gz');
    k.ok(['export', '--timestamp', '86400', 'localhost/exported:1', f]);
    const dates = new Set(sh('tar', ['tvzf', f, '--utc']).stdout.trim().split('\n').map((l) => / (\d{4}-\d\d-\d\d) /.exec(l)![1]));
    expect([...dates].every((d) => d <= '1970-01-02')).toBe(true);
    for (const [args, re] of [[['export', 'no-such-thing', path.join(work, 'bad.tar.gz')], /^cairn export: no container or image named no-such-thing$/], [['export', 'localhost/exported:1'], /too few arguments/]] as const) {
      const r = k.cairn([...args]);
      expect(r.status, args.join(' ')).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')[0]).toMatch(re);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
    }
  });
});

