import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inInitUserNs } from '../../dsl/core/userns.js';
import { flatFile, runCairn, serveDir, spawnCairn, testKey, type ExecResult, type FlatServer } from '../kit/flat.js';

/*
 * `cairn exec` as a normal user (with subordinate ids): the image runs in a user namespace of its own,
 * in a PID namespace behind a parent that forwards signals and takes the service down when it dies.
 * System tier: it makes a user and edits /etc/subuid, so it runs only with CAIRN_SYSTEM_TESTS=1 (CI does).
 */

const USER = 'cairnexec';
const CONFIG = { config: { Env: ['PATH=/bin', 'FOO=bar'], WorkingDir: '/work', Cmd: ['sh', '-c', 'echo cmd; pwd; echo $FOO'] } };

let dir: string;
let store: string;
let server: FlatServer;
let key: ReturnType<typeof testKey>;
let user: { uid: number; gid: number; home: string };
const files: Record<string, string> = {};

/** Makes (once) a normal user with subordinate id ranges of its own. */
function userWithSubids(): { uid: number; gid: number; home: string } {
  if (spawnSync('id', [USER]).status !== 0) execFileSync('useradd', ['-m', USER]);
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    const lines = readFileSync(f, 'utf8').split('\n').filter(Boolean);
    if (lines.some((l) => l.startsWith(`${USER}:`))) continue;
    const end = Math.max(100000, ...lines.map((l) => Number(l.split(':')[1]) + Number(l.split(':')[2])));
    writeFileSync(f, [...lines, `${USER}:${end}:65536`].join('\n') + '\n');
  }
  const [uid, gid] = ['-u', '-g'].map((o) => Number(execFileSync('id', [o, USER], { encoding: 'utf8' }).trim()));
  return { uid, gid, home: `/home/${USER}` };
}

function cairn(args: string[]): Promise<ExecResult> {
  return runCairn(['--root', store, ...args], { user });
}

describe.runIf(!!process.env.CAIRN_SYSTEM_TESTS && process.getuid?.() === 0 && inInitUserNs() && !process.env.CAIRN_USERNS)('cairn exec as a normal user', () => {
  beforeAll(async () => {
    user = userWithSubids();
    dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-exec-user-'));
    chmodSync(dir, 0o755);
    store = path.join(dir, 'store');
    mkdirSync(store);
    chownSync(store, user.uid, user.gid);
    key = testKey(dir, 'signer');
    files.img = await flatFile(path.join(dir, 'img.tar.gz'), { key, config: CONFIG, extra: [{ name: 'etc/motd', body: 'hello motd\n' }] });
    files.asUser = await flatFile(path.join(dir, 'user.tar.gz'), { key, config: { config: { User: 'user', Cmd: ['sh', '-c', 'id -u; id -g; echo $HOME'] } } });
    const b = readFileSync(files.img);
    b[b.length >> 1] ^= 1;
    writeFileSync((files.flipped = path.join(dir, 'flipped.tar.gz')), b);
    for (const f of Object.values(files)) chmodSync(f, 0o644);
    server = await serveDir(dir);
  });

  afterAll(async () => {
    await server?.close();
    // End the user's cairn namespace (its pause process, by its recorded PID).
    const pid = Number(readFileSync(`/tmp/cairn-${user.uid}/pause.pid`, 'utf8').split(' ')[0]);
    if (pid > 1) spawnSync('kill', [String(pid)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the image config, as root of its own namespace, file owners kept', async () => {
    const r = await cairn(['exec', '--key', key.pubFile, files.img]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('cmd\n/work\nbar\n');
    const o = await cairn(['exec', '--key', key.pubFile, files.img, '--', 'sh', '-c', 'echo hi; id -u; cat /etc/motd; stat -c %u:%g /home/user']);
    expect(o.stdout).toBe('hi\n0\nhello motd\n1000:1000\n');
  });

  it('applies the config\'s User', async () => {
    expect((await cairn(['exec', '--key', key.pubFile, files.asUser])).stdout).toBe('1000\n1000\n/home/user\n');
  });

  it('the root is read-only; --writable leaves the cache unchanged; --volume binds', async () => {
    const ro = await cairn(['exec', '--key', key.pubFile, files.img, 'sh', '-c', 'touch /x']);
    expect(ro.stderr).toMatch(/Read-only file system/);
    const vol = path.join(dir, 'vol');
    mkdirSync(vol, { recursive: true });
    chownSync(vol, user.uid, user.gid);
    const rw = await cairn(['exec', '--key', key.pubFile, '--writable', '-v', `${vol}:/data`, files.img, 'sh', '-c', 'echo changed > /etc/motd && cat /etc/motd && echo out > /data/out']);
    expect(rw.stdout).toBe('changed\n');
    expect(readFileSync(path.join(vol, 'out'), 'utf8')).toBe('out\n');
    expect((await cairn(['exec', '--key', key.pubFile, files.img, 'cat', '/etc/motd'])).stdout).toBe('hello motd\n');
  });

  it('runs from a URL and revalidates with a conditional GET', async () => {
    const url = `${server.url}/img.tar.gz`;
    expect((await cairn(['exec', '--key', key.pubFile, url, 'cat', '/etc/motd'])).stdout).toBe('hello motd\n');
    server.log.length = 0;
    expect((await cairn(['exec', '--key', key.pubFile, url, 'cat', '/etc/motd'])).stdout).toBe('hello motd\n');
    // URL.cidx first (docs/delta.md): this server has none, so the file itself is revalidated.
    expect(server.log).toEqual([
      { path: '/img.tar.gz.cidx', status: 404, conditional: false },
      { path: '/img.tar.gz', status: 304, conditional: true },
    ]);
  });

  it('refuses a tampered file: one line, 125, the cache unchanged', async () => {
    const before = execFileSync('find', [path.join(store, 'exec'), '-maxdepth', '2', '-printf', '%P %i %T@\n'], { encoding: 'utf8' });
    const r = await cairn(['exec', '--key', key.pubFile, files.flipped, 'echo', 'ran']);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toMatch(/^cairn exec: .*flipped.tar.gz: corrupt gzip stream/);
    const after = execFileSync('find', [path.join(store, 'exec'), '-maxdepth', '2', '-printf', '%P %i %T@\n'], { encoding: 'utf8' });
    expect(after.split('\n').filter((l) => !l.startsWith('tmp ')).sort()).toEqual(before.split('\n').filter((l) => !l.startsWith('tmp ')).sort());
  });

  it('forwards SIGTERM to the service, and takes it down when cairn is killed', async () => {
    const child = await spawnCairn(['--root', store, 'exec', '--key', key.pubFile, files.img, '--', 'sh', '-c', 'trap "echo got-TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done'], { user });
    let out = '';
    await new Promise<void>((resolve) => child.stdout!.on('data', (d) => { out += d; if (out.includes('ready')) resolve(); }));
    process.kill(child.pid!, 'SIGTERM');
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect(out).toBe('ready\ngot-TERM\n');

    const tag = `1000.${process.pid}`;
    const k = await spawnCairn(['--root', store, 'exec', '--key', key.pubFile, files.img, '--', 'sh', '-c', `echo ready; exec sleep ${tag}`], { user });
    await new Promise<void>((resolve) => k.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
    const alive = () => spawnSync('pgrep', ['-f', `^sleep ${tag}`]).status === 0;
    for (let i = 0; i < 50 && !alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(true);
    process.kill(k.pid!, 'SIGKILL');
    await new Promise((resolve) => k.on('close', resolve));
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
  });

  it('a service without a TERM handler ends on SIGTERM (it is not PID 1 of its namespace)', async () => {
    const child = await spawnCairn(['--root', store, 'exec', '--key', key.pubFile, files.img, '--', 'sh', '-c', 'echo ready; exec sleep 100'], { user });
    await new Promise<void>((resolve) => child.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
    process.kill(child.pid!, 'SIGTERM');
    const sig = await new Promise((resolve) => child.on('close', (_c, s) => resolve(s)));
    expect(sig).toBe('SIGTERM');
    expect(existsSync(store) && statSync(store).uid).toBe(user.uid);
  });
});
