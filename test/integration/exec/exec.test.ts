import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inInitUserNs } from '../../../dsl/core/userns.js';
import { exec, isCairnError, type ExecOptions } from '../../../dsl/index.js';
import { execCaptured, IN_PROCESS } from '../../kit/api.js';
import { withEnv } from '../../kit/env.js';
import { flatFile, installLocalKey, runCairn, serveDir, spawnCairn, testKey, type ExecResult, type FlatServer } from '../../kit/flat.js';

/*
 * `cairn exec` end to end: real files, real namespaces, a real HTTP server on 127.0.0.1. As real root the
 * chain runs in place (same PID); as root of a user namespace (the fast suite of a normal user) it runs in
 * a PID namespace of its own behind a forwarding parent. exec-rootless.test.ts runs it as a normal user.
 * What runs and what is refused is checked in-process (prepareExec, then the prepared chain); the CLI rows
 * show its argv, output, exit statuses, one-line refusal and warning, and that it replaces itself.
 */

const REAL_ROOT = process.getuid?.() === 0 && inInitUserNs();
const CONFIG = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin', 'FOO=bar'], WorkingDir: '/work', Cmd: ['sh', '-c', 'echo cmd; pwd; echo $FOO'] } };
/** Where a hostile link points (not below /tmp, which is a tmpfs when the image runs). */
const OUTSIDE = `/var/cairn-exec-escape-${process.pid}`;
const MOTD = { name: 'etc/motd', body: 'hello motd\n' };

let dir: string;
let store: string;
let server: FlatServer;
let key: ReturnType<typeof testKey>;
let other: ReturnType<typeof testKey>;
const files: Record<string, string> = {};
const env = (): Record<string, string> => ({ XDG_CONFIG_HOME: path.join(dir, 'config') });

function cairn(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<ExecResult> {
  return runCairn(['--root', store, ...args], { env: { ...env(), ...extraEnv } });
}

/** The cache as a list of names, inodes, times and sizes (entries, their top level, the records); tmp must be empty. */
function snapshot(): string {
  const ex = path.join(store, 'exec');
  if (!existsSync(ex)) return '';
  const out: string[] = [];
  const walk = (rel: string, depth: number): void => {
    const st = lstatSync(path.join(ex, rel), { bigint: true });
    if (rel !== 'tmp') out.push(`${rel} ${st.ino} ${st.mtimeNs} ${st.size}`);
    if (depth < 3 && st.isDirectory()) for (const n of readdirSync(path.join(ex, rel))) walk(rel ? `${rel}/${n}` : n, depth + 1);
  };
  walk('', 0);
  return out.sort().join('\n');
}

/** The cache entry name of a file: its sha256. */
function hexOf(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function entries(): string[] {
  return readdirSync(path.join(store, 'exec')).filter((n) => /^[0-9a-f]{64}$/.test(n));
}

/** Copies a file and flips one byte of the copy (at a negative offset from the end when below 0). */
function flipped(src: string, at: number, name: string): string {
  const b = readFileSync(src);
  const i = at < 0 ? b.length + at : at;
  b[i] ^= 0x55;
  const f = path.join(dir, name);
  writeFileSync(f, b);
  return f;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-exec-'));
  store = path.join(dir, 'store');
  key = testKey(dir, 'signer');
  other = testKey(dir, 'other');
  // Files that are refused before anything runs carry no root filesystem (tiny: false): a few KB to check.
  const make = async (name: string, o: Parameters<typeof flatFile>[1]) => (files[name] = await flatFile(path.join(dir, name), o));
  await Promise.all([
    make('img.tar.gz', { key, config: CONFIG, extra: [MOTD] }),
    make('plain.tar', { key, config: CONFIG, gzip: false, extra: [MOTD] }),
    make('bali.tar.gz', { key, config: null }),
    // scratch plus a static binary: no /etc at all.
    make('noetc.tar.gz', { key, config: { config: { Cmd: ['/busybox', 'cat', '/etc/resolv.conf', '/etc/hosts'] } }, tiny: false, extra: [{ name: 'busybox', body: readFileSync('/bin/busybox'), mode: 0o755 }] }),
    make('user.tar.gz', { key, config: { config: { User: 'user', Entrypoint: ['sh', '-c'], Cmd: ['id -u; id -g; echo $HOME'] } } }),
    make('unsigned.tar.gz', { key: null, config: CONFIG }),
    make('other.tar.gz', { key: other, config: CONFIG, tiny: false }),
    make('dotdot.tar.gz', { key, tiny: false, extra: [{ name: `../escape-${path.basename(dir)}`, body: 'x' }] }),
    make('hardlink.tar.gz', { key, tiny: false, extra: [{ name: 'hl', type: 'link', linkname: '/etc/shadow' }] }),
    make('symlink.tar.gz', { key, extra: [{ name: 'srv/evil', type: 'symlink', linkname: OUTSIDE }, { name: 'srv/evil/pwned', body: 'x' }] }),
  ]);
  const half = readFileSync(files['img.tar.gz']);
  writeFileSync((files['truncated.tar.gz'] = path.join(dir, 'truncated.tar.gz')), half.subarray(0, half.length >> 1));
  server = await serveDir(dir);
});

afterAll(async () => {
  await server?.close();
  rmSync(OUTSIDE, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('cairn exec FILE through the CLI', () => {
  it('runs the image config: Cmd, WorkingDir, Env', async () => {
    const r = await cairn(['exec', '--key', key.pubFile, files['img.tar.gz']]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('cmd\n/work\nbar\n');
    expect(r.status).toBe(0);
  });

  it('CMD after -- replaces Cmd, -e and -v reach it; the status passes through', async () => {
    const vol = path.join(dir, 'cli-vol');
    mkdirSync(vol, { recursive: true });
    writeFileSync(path.join(vol, 'in'), 'from host\n');
    const r = await cairn(['exec', '--key', key.pubFile, '-e', 'NEW=1', '-v', `${vol}:/data:ro`, files['img.tar.gz'], '--', 'sh', '-c', 'echo hi; id -u; pwd; cat /etc/motd /data/in; echo $NEW; exit 7']);
    expect(r.stdout).toBe('hi\n0\n/work\nhello motd\nfrom host\n1\n');
    expect(r.status).toBe(7);
  });
});

/*
 * What the engine does with an image, in-process: prepareExec through the public API, then the chain it prepared
 * run by sh as the cairn wrapper evals it (test/kit/api.ts), without a Node.js start-up per start.
 */
describe.runIf(IN_PROCESS)('cairn exec FILE: what runs', () => {
  /** Starts an image in-process with the store and config of this file; flags as ExecOptions. */
  const start = (file: string, o: ExecOptions = {}, extraEnv: Record<string, string> = {}) => execCaptured(file, { root: store, key: key.pubFile, ...o }, { ...env(), ...extraEnv });

  it('--env edits the environment, which is the config\'s and nothing of the caller\'s', async () => {
    const r = await start(files['img.tar.gz'], { env: ['FOO=baz', 'NEW=1'], cmd: ['sh', '-c', 'echo "$FOO $NEW $PATH $HOME $SECRET"'] }, { SECRET: 'leak' });
    expect(r.stdout).toBe('baz 1 /bin /root \n');
  });

  it('applies the config\'s User and Entrypoint (CMD replaces Cmd only)', async () => {
    expect((await start(files['user.tar.gz'])).stdout).toBe('1000\n1000\n/home/user\n');
    expect((await start(files['user.tar.gz'], { cmd: ['echo via entrypoint'] })).stdout).toBe('via entrypoint\n');
  });

  it('--entrypoint replaces the config\'s Entrypoint and Cmd; [] runs CMD alone', async () => {
    expect((await start(files['user.tar.gz'], { entrypoint: ['echo'], cmd: ['replaced'] })).stdout).toBe('replaced\n');
    expect((await start(files['user.tar.gz'], { entrypoint: [], cmd: ['id', '-u'] })).stdout).toBe('1000\n');
    expect((await start(files['user.tar.gz'], { entrypoint: ['/bin/sh', '-c', 'echo only'] })).stdout).toBe('only\n');
  });

  it('runs a plain (uncompressed) signed tar too', async () => {
    expect((await start(files['plain.tar'])).stdout).toBe('cmd\n/work\nbar\n');
  });

  it('a bali file has no config: the default PATH, and a command must be given', async () => {
    const r = await start(files['bali.tar.gz'], { cmd: ['sh', '-c', 'echo $PATH; pwd'] });
    expect(r.stdout).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n/\n');
    const none: unknown = await start(files['bali.tar.gz']).then(() => 'ran', (e) => e);
    expect(isCairnError(none), String(none)).toBe(true);
    expect((none as Error).message).toMatch(/^the image names no command/);
  });

  it('trusts the keys of the trust directory when no --key is given, and only --key when one is', async () => {
    const cfg = path.join(dir, 'trusting');
    installLocalKey(cfg, key);
    expect((await start(files['img.tar.gz'], { key: undefined }, { XDG_CONFIG_HOME: cfg })).stdout).toBe('cmd\n/work\nbar\n');
    const wrongKey: unknown = await start(files['img.tar.gz'], { key: other.pubFile }, { XDG_CONFIG_HOME: cfg }).then(() => 'ran', (e) => e);
    expect(isCairnError(wrongKey), String(wrongKey)).toBe(true);
    expect((wrongKey as Error).message).toMatch(/unknown signer or tampered/);
    expect((await start(files['img.tar.gz'], { key: key.id, cmd: ['true'] })).status).toBe(0);
  });

  it('gives an image without /etc the host\'s resolv.conf and hosts, as buildah does', async () => {
    const r = await start(files['noetc.tar.gz'], {});
    const host = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    expect(r.stdout).toBe(host('/etc/resolv.conf') + host('/etc/hosts'));
  });

  it('mounts a fresh /proc, a minimal /dev, a read-only /sys and root, tmpfs /tmp and /run, the host\'s resolv.conf and hosts', async () => {
    const r = await start(files['img.tar.gz'], { cmd: ['sh', '-c', 'ls /dev; echo --; cat /proc/self/mountinfo; echo --; cat /etc/resolv.conf; echo --; echo x > /tmp/t && cat /tmp/t'] });
    expect(r.status).toBe(0);
    const [devs, mountinfo, resolv, tmp] = r.stdout.split('--\n');
    expect(devs.trim().split('\n').sort()).toEqual(['core', 'fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']);
    const mounts = new Map(mountinfo.trim().split('\n').map((l) => { const f = l.split(' '); const dash = f.indexOf('-'); return [f[4], { opts: f[5].split(','), type: f[dash + 1] }] as const; }));
    expect(mounts.get('/')!.opts).toContain('ro');
    expect(mounts.get('/proc')!.type).toBe('proc');
    expect(mounts.get('/dev')!.opts).toContain('ro');
    for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) expect(mounts.has(`/dev/${d}`)).toBe(true);
    expect(mounts.get('/dev/pts')!.type).toBe('devpts');
    expect(mounts.get('/dev/shm')!.type).toBe('tmpfs');
    expect(mounts.get('/sys')!.opts).toContain('ro');
    expect(mounts.get('/tmp')!.type).toBe('tmpfs');
    expect(mounts.get('/run')!.type).toBe('tmpfs');
    expect(mounts.get('/etc/resolv.conf')!.opts).toContain('ro');
    expect(mounts.get('/etc/hosts')!.opts).toContain('ro');
    expect(resolv).toBe(existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '');
    expect(tmp).toBe('x\n');
  });

  it('the root is read-only; --writable writes to a tmpfs and leaves the cached root unchanged', async () => {
    const ro = await start(files['img.tar.gz'], { cmd: ['sh', '-c', 'touch /x'] });
    expect(ro.status).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    const rootfs = path.join(store, 'exec', hexOf(files['img.tar.gz']), 'rootfs');
    const before = execFileSync('find', [rootfs, '-printf', '%P %i %T@ %s %m\n'], { encoding: 'utf8' });
    const rw = await start(files['img.tar.gz'], { writable: true, cmd: ['sh', '-c', 'touch /x && echo changed > /etc/motd && rm /bin/true && cat /etc/motd'] });
    expect(rw.stdout).toBe('changed\n');
    expect(rw.status).toBe(0);
    expect(execFileSync('find', [rootfs, '-printf', '%P %i %T@ %s %m\n'], { encoding: 'utf8' })).toBe(before);
    expect((await start(files['img.tar.gz'], { writable: true, cmd: ['sh', '-c', 'cat /etc/motd; ls /x'] })).stdout).toBe('hello motd\n');
  });

  it('--volume binds host paths in, read-only with :ro, also below /run and onto files', async () => {
    const vol = path.join(dir, 'vol');
    mkdirSync(vol, { recursive: true });
    writeFileSync(path.join(vol, 'in'), 'from host\n');
    const r = await start(files['img.tar.gz'], {
      volumes: [`${vol}:/data`, `${vol}:/run/ro:ro`, `${path.join(vol, 'in')}:/etc/in.conf:ro`],
      cmd: ['sh', '-c', 'cat /data/in /etc/in.conf; echo out > /data/out; echo no > /run/ro/no || echo refused'],
    });
    expect(r.stdout).toBe('from host\nfrom host\nrefused\n');
    expect(readFileSync(path.join(vol, 'out'), 'utf8')).toBe('out\n');
    expect(existsSync(path.join(vol, 'no'))).toBe(false);
  });

  it('a second start uses the cache: no verification, no extraction; a touched file is verified again but not unpacked again', async () => {
    await start(files['img.tar.gz'], { cmd: ['true'] });
    const hex = hexOf(files['img.tar.gz']);
    const all = entries();
    const rootfs = path.join(store, 'exec', hex, 'rootfs');
    const recs = path.join(store, 'exec', 'files');
    const rec = () => readdirSync(recs).map((n) => statSync(path.join(recs, n)).ino).sort().join();
    const st0 = statSync(rootfs);
    const rec0 = rec();
    expect((await start(files['img.tar.gz'], { cmd: ['true'] })).status).toBe(0);
    expect(rec()).toBe(rec0); // the record is rewritten only after a verification
    const t = new Date(Date.now() + 5000);
    utimesSync(files['img.tar.gz'], t, t);
    expect((await start(files['img.tar.gz'], { cmd: ['true'] })).status).toBe(0);
    expect(rec()).not.toBe(rec0);
    const st1 = statSync(rootfs);
    expect([st1.ino, st1.mtimeMs]).toEqual([st0.ino, st0.mtimeMs]);
    expect(entries()).toEqual(all);
  });

  it('the extractor keeps a hostile image\'s links inside its root', async () => {
    const r = await start(files['symlink.tar.gz'], { cmd: ['sh', '-c', 'cat /srv/evil/pwned'] });
    expect(r.stdout).toBe('x');
    expect(existsSync(OUTSIDE)).toBe(false);
  });

  it('runs from a URL (through a redirect), and revalidates with a conditional GET on the next start', async () => {
    const url = `${server.url}/hop/img.tar.gz`;
    const r = await start(url, { cmd: ['sh', '-c', 'cat /etc/motd'] });
    expect(r.stdout).toBe('hello motd\n');
    const [hex] = entries().filter((h) => existsSync(path.join(store, 'exec', h, 'rootfs', 'etc', 'motd')));
    const st0 = statSync(path.join(store, 'exec', hex, 'rootfs'));
    server.log.length = 0;
    const again = await start(url, { cmd: ['sh', '-c', 'cat /etc/motd'] });
    expect(again.stdout).toBe('hello motd\n');
    // URL.cidx first (docs/delta.md): this server has none, so the file itself is revalidated.
    expect(server.log).toEqual([
      { path: '/hop/img.tar.gz.cidx', status: 301, conditional: false },
      { path: '/img.tar.gz.cidx', status: 404, conditional: false },
      { path: '/hop/img.tar.gz', status: 301, conditional: true },
      { path: '/img.tar.gz', status: 304, conditional: true },
    ]);
    const st1 = statSync(path.join(store, 'exec', hex, 'rootfs'));
    expect([st1.ino, st1.mtimeMs]).toEqual([st0.ino, st0.mtimeMs]);
  });
});

describe('cairn exec refuses bad input: one line, status 125, nothing run, nothing left', () => {
  const marker = () => path.join(dir, 'ran');
  /** The state a refusal must leave as it was; checks it after one. */
  async function leavesNothing(attempt: () => Promise<void>): Promise<void> {
    mkdirSync(marker(), { recursive: true });
    const before = snapshot();
    await attempt();
    expect(existsSync(path.join(marker(), 'ran'))).toBe(false);
    expect(snapshot()).toBe(before);
    expect(readdirSync(path.join(store, 'exec', 'tmp'))).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(store);
  }
  const RUN = ['sh', '-c', 'echo ran > /m/ran; echo ran'];

  /** In-process (exec(): verify, unpack, run): a refusal is a CairnError of one line, with nothing run or left. */
  async function refused(file: string, line: RegExp, o: { key?: string } = {}): Promise<void> {
    await leavesNothing(async () => {
      const err: unknown = await withEnv(env(), () => exec(file, { root: store, key: o.key, volumes: [`${marker()}:/m`], cmd: RUN })).then((st) => `ran, status ${st}`, (e) => e);
      expect(isCairnError(err), String(err)).toBe(true);
      expect((err as Error).message).toMatch(line);
      expect((err as Error).message).not.toContain('\n');
    });
  }

  it('through the CLI: --entrypoint takes a program or a JSON array, and a bad array is a usage error', async () => {
    expect((await cairn(['exec', '--key', key.pubFile, '--entrypoint', 'echo', files['user.tar.gz'], '--', 'via', 'cli'])).stdout).toBe('via cli\n');
    expect((await cairn(['exec', '--key', key.pubFile, '--entrypoint', '["sh","-c","echo json"]', files['user.tar.gz']])).stdout).toBe('json\n');
    const bad = await cairn(['exec', '--key', key.pubFile, '--entrypoint', '[1]', files['user.tar.gz']]);
    expect([bad.status, bad.stderr.split('\n')[0]]).toEqual([125, 'cairn exec: --entrypoint [1] is not a JSON array of strings']);
  });

  it('through the CLI: exit 125, the one line `cairn exec: …` and its hint, nothing on stdout', async () => {
    await leavesNothing(async () => {
      const r = await cairn(['exec', '-v', `${marker()}:/m`, '--key', key.pubFile, files['truncated.tar.gz'], '--', ...RUN]);
      expect(r.stdout).toBe('');
      expect(r.status).toBe(125);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^cairn exec: .*(truncated|cut short)/);
      expect(lines.slice(1).every((l) => l.startsWith('  hint: '))).toBe(true);
    });
  });

  it.runIf(IN_PROCESS).each([
    ['the gzip header', 'img.tar.gz', 3, /corrupt gzip|unsigned|tampered/],
    ['the start of the data', 'img.tar.gz', 40, /corrupt gzip|tampered/],
    ['the middle', 'img.tar.gz', 0.5, /corrupt gzip|tampered/],
    ['the gzip footer', 'img.tar.gz', -2, /corrupt gzip|tampered/],
    ['the tar of a plain file', 'plain.tar', 700, /tampered/],
    ['the middle of a plain file', 'plain.tar', 0.5, /tampered/],
    ['the trailer\'s magic', 'plain.tar', -72, /unsigned|tampered/],
    ['the signature', 'plain.tar', -10, /tampered/],
  ])('a byte flipped in %s', async (_what, src, at, line) => {
    const size = statSync(files[src]).size;
    const f = flipped(files[src], at > 0 && at < 1 ? Math.floor(size * at) : at, `flip-${String(at).replace('.', '')}-${src}`);
    await refused(f, line, { key: key.pubFile });
  });

  it.runIf(IN_PROCESS)('a truncated file', async () => {
    await refused(files['truncated.tar.gz'], /truncated|cut short/, { key: key.pubFile });
  });

  it.runIf(IN_PROCESS)('a signature by an untrusted key, with and without --key', async () => {
    await refused(files['other.tar.gz'], /unknown signer or tampered/);
    await refused(files['other.tar.gz'], /unknown signer or tampered/, { key: key.pubFile });
  });

  it.runIf(IN_PROCESS)('an unsigned file, unless --insecure-skip-verify, which warns', async () => {
    await refused(files['unsigned.tar.gz'], /unsigned/, { key: key.pubFile });
    const r = await cairn(['exec', '--insecure-skip-verify', files['unsigned.tar.gz'], 'sh', '-c', 'echo ran']);
    expect(r.stdout).toBe('ran\n');
    expect(r.stderr).toMatch(/warning: running .*unsigned.tar.gz unverified \(unsigned\) because of --insecure-skip-verify/);
    // The unverified entry is never used without the flag.
    await refused(files['unsigned.tar.gz'], /unsigned/, { key: key.pubFile });
  });

  it.runIf(IN_PROCESS)('an image with entries escaping its root (signed or not)', async () => {
    await refused(files['dotdot.tar.gz'], /points outside the root/, { key: key.pubFile });
    expect(existsSync(path.join(path.dirname(dir), `escape-${path.basename(dir)}`))).toBe(false);
    await refused(files['hardlink.tar.gz'], /hardlink to \/etc\/shadow/, { key: key.pubFile });
  });

  it.runIf(IN_PROCESS)('a missing file, an HTTP error, a redirect loop, a download cut short', async () => {
    await refused(path.join(dir, 'nope.tar.gz'), /no such file/, { key: key.pubFile });
    await refused(`${server.url}/missing`, /HTTP 404 Not Found/, { key: key.pubFile });
    await refused(`${server.url}/loop`, /too many redirects.*more than 5/, { key: key.pubFile });
    await refused(`${server.url}/short/img.tar.gz`, /cut short/, { key: key.pubFile });
  });
});

describe('cairn exec replaces itself', () => {
  it.runIf(REAL_ROOT)('as root the service keeps cairn\'s PID', () => {
    const cmd = `echo $$; exec "$0" --root "$1" exec --key "$2" "$3" -- sh -c 'echo $$'`;
    const r = spawnSync('sh', ['-c', cmd, path.resolve(__dirname, '../../../bin/cairn'), store, key.pubFile, files['img.tar.gz']], { encoding: 'utf8', env: { ...process.env, ...env() } });
    const [a, b] = r.stdout.trim().split('\n');
    expect(a).toMatch(/^\d+$/);
    expect(b).toBe(a);
  });

  it('the service gets SIGTERM sent to the PID that was started' + (REAL_ROOT ? ' (its own)' : ' (forwarded)'), async () => {
    const child = await spawnCairn(['--root', store, 'exec', '--key', key.pubFile, files['img.tar.gz'], '--', 'sh', '-c', 'trap "echo got-TERM; exit 0" TERM; echo ready $$; while :; do sleep 0.1; done'], { env: env() });
    let out = '';
    await new Promise<void>((resolve) => child.stdout!.on('data', (d) => { out += d; if (out.includes('ready')) resolve(); }));
    if (REAL_ROOT) expect(out).toBe(`ready ${child.pid}\n`);
    process.kill(child.pid!, 'SIGTERM');
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    expect(out).toMatch(/got-TERM\n$/);
    expect(status).toBe(0);
  });

  it('a service that SIGTERM ends leaves nothing on stderr and ends by that signal, as systemd expects of a clean stop', async () => {
    const child = await spawnCairn(['--root', store, 'exec', '--key', key.pubFile, files['img.tar.gz'], '--', 'sh', '-c', 'echo ready; exec sleep 1000'], { env: env() });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
    process.kill(child.pid!, 'SIGTERM');
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, sig) => resolve([c, sig])));
    expect([code, signal, err]).toEqual([null, 'SIGTERM', '']);
  });

  // As root the service IS cairn: kill -9 ends it as it ends any service (its own children are the cgroup's to end).
  it.skipIf(REAL_ROOT)('no process of the image outlives the forwarding parent when it is killed', async () => {
    const tag = `1000.${process.pid}`;
    const child = await spawnCairn(['--root', store, 'exec', '--key', key.pubFile, files['img.tar.gz'], '--', 'sh', '-c', `echo ready; sleep ${tag} & wait`], { env: env() });
    await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
    const alive = () => spawnSync('pgrep', ['-f', `^sleep ${tag}`]).status === 0;
    for (let i = 0; i < 50 && !alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(true);
    process.kill(child.pid!, 'SIGKILL');
    await new Promise((resolve) => child.on('close', resolve));
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
  });
});
