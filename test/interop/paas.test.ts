// cairn as a build worker in an unprivileged pod (docs/paas.md): recipes/paas-worker/worker.sh run by
// recipes/paas-worker/pod.sh (root of a user namespace mapping one id, a chroot into a Debian root with node and
// cairn, no attr tools, no /dev/fuse) on a Git checkout; the image it pushed to a real registry is read by skopeo,
// then pulled back by the host's cairn and run.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { debianRootfs } from '../kit/debian.js';
import { peerOk, removeTree, requirePeers, tempDir } from '../kit/peers.js';
import { startRegistry, type RegistryKit } from '../kit/registry.js';

const RECIPE = path.resolve(__dirname, '../../recipes/paas-worker');
const INSECURE = '--tls-verify=false';

let work: string;
let pod: string;
let reg: RegistryKit;
let k: CliKit;
let sha: string;

/** Runs argv in the simulated pod; status, stdout and stderr. */
function inPod(argv: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(path.join(RECIPE, 'pod.sh'), [pod, ...argv], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 180_000 });
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** Like inPod, but throws with stderr on failure. */
function podOk(argv: string[]): { stdout: string; stderr: string } {
  const r = inPod(argv);
  if (r.status !== 0) throw new Error(`pod: ${argv.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r;
}

/** A busybox root (static busybox and links) with /home/app owned by 1000:1000, as a tar (owners set in the archive). */
function busyboxTar(dir: string, out: string): void {
  const busybox = peerOk('sh', ['-c', 'command -v busybox']);
  if (spawnSync('ldd', [busybox]).status === 0) throw new Error(`${busybox} is not static: install busybox-static`);
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/app']) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync(busybox, path.join(dir, 'bin/busybox'));
  chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const p of ['sh', 'cat', 'echo', 'id', 'ls', 'stat']) symlinkSync('busybox', path.join(dir, 'bin', p));
  writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
  writeFileSync(path.join(dir, 'home/app/note'), 'owned by app\n');
  chmodSync(path.join(dir, 'tmp'), 0o1777);
  peerOk('tar', ['--numeric-owner', '--owner=0', '--group=0', '--exclude=./home/app', '-C', dir, '-cf', out, '.']);
  peerOk('tar', ['--numeric-owner', '--owner=1000', '--group=1000', '-C', dir, '-rf', out, './home/app']);
}

beforeAll(async () => {
  requirePeers('docker-registry', 'skopeo', 'git', 'busybox', 'unshare');
  work = tempDir('cairn-paas-');
  pod = path.join(work, 'pod');
  reg = await startRegistry();
  k = cliKit('cairn-paas-host-');
  // The pod's root is made on first use, from the interop suite's Debian minbase.
  const made = inPod(['true'], { DEBIAN_BASE: await debianRootfs() });
  if (made.status !== 0) throw new Error(`pod.sh could not make the pod:\n${made.stderr}`);
  busyboxTar(path.join(work, 'base'), path.join(pod, 'work/base.tar'));
  // The checkout the worker takes: the recipe's app, committed.
  const app = path.join(pod, 'work/app');
  cpSync(path.join(RECIPE, 'app'), app, { recursive: true });
  const git = (...a: string[]) => peerOk('git', ['-C', app, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...a]);
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'app');
  sha = git('rev-parse', '--short=12', 'HEAD');
}, 300_000);

afterAll(async () => {
  k?.cleanup();
  await reg?.stop();
  if (work) removeTree(work);
});

describe('a build worker in an unprivileged pod', () => {
  let out: string;
  let stderr: string;

  it('the pod is root of a user namespace mapping one id, with neither setfattr nor /dev/fuse', () => {
    const r = podOk(['sh', '-c', 'cat /proc/self/uid_map; id -u; command -v setfattr || echo no-setfattr; [ -e /dev/fuse ] || echo no-fuse']);
    const [map, uid, attr, fuse] = r.stdout.trim().split('\n');
    expect(map.trim().split(/\s+/)).toEqual(['0', String(process.getuid!()), '1']);
    expect([uid, attr, fuse]).toEqual(['0', 'no-setfattr', 'no-fuse']);
  });

  it('builds the checkout and pushes it, with the copying driver and one warning for it', () => {
    // The base, from a tarball with files owned by 1000, pushed from the pod too.
    podOk(['sh', '-ec', `c=$(cairn from tarball:/work/base.tar); cairn commit -q --rm $c ${reg.host}/base:1 >/dev/null; cairn push -q ${INSECURE} ${reg.host}/base:1 docker://${reg.host}/base:1 >/dev/null; cairn rmi ${reg.host}/base:1 >/dev/null`]);
    const r = podOk(['env', 'TLS_VERIFY=false', 'paas-worker', '/work/app', `${reg.host}/app`, '--build-arg', `BASE=${reg.host}/base:1`]);
    out = r.stdout.trim();
    stderr = r.stderr;
    expect(out).toMatch(new RegExp(`^${reg.host.replace(/\./g, '\\.')}/app:${sha}@sha256:[0-9a-f]{64}$`));
    const count = (s: string) => stderr.split('\n').filter((l) => l.includes(s)).length;
    expect(count('using the copying driver')).toBe(1);
    // One mapped id: the base's 1000:1000 cannot be kept, said once.
    expect(count('cannot set file owners')).toBe(1);
    expect(stderr).toContain('STEP 4/4: CMD');
  });

  it('skopeo reads what it pushed: the digest the worker printed, the base layer and one more', () => {
    const ref = `docker://${out.split('@')[0]}`;
    const info = JSON.parse(peerOk('skopeo', ['inspect', INSECURE, ref]));
    expect(info.Digest).toBe(out.split('@')[1]);
    expect(info.Layers).toHaveLength(2);
    const config = JSON.parse(peerOk('skopeo', ['inspect', '--config', INSECURE, ref]));
    expect(config.config.Cmd).toEqual(['cat', '/srv/www/index.html']);
  });

  it('pulled back by the host and run: its files, and the owners a one-id namespace gives them', () => {
    const c = k.ok(['from', '-q', INSECURE, `docker://${out}`]);
    expect(k.ok(['run', c, 'cat', '/srv/www/index.html'])).toBe('<p>hello from a paas build worker</p>');
    const motd = k.ok(['run', c, 'cat', '/etc/motd']);
    expect(motd.split('\n')[0]).toBe('served by root');
    // The limit of one mapped id (docs/paas.md): in the pod, the RUN step saw the base's files owned by root…
    expect(motd).toMatch(/ 0 +0 +13 .* note$/m);
    // …but the base's layer is pushed as it was pulled, its owners kept.
    expect(k.ok(['run', c, 'stat', '-c', '%u:%g', '/home/app', '/home/app/note'])).toBe('1000:1000\n1000:1000');
  });

  it('the worker does not keep the image it pushed (its base stays, pulled once)', () => {
    const listed = podOk(['cairn', 'images', '--noheading']).stdout;
    expect(listed).not.toContain(`${reg.host}/app`);
    expect(listed).toContain(`${reg.host}/base`);
  });
});
