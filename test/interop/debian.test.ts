// A real Debian build with cairn, read back by skopeo, umoci, buildah and podman.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { debianRootfs } from '../kit/debian.js';
import { blobPath, cleanupValidated, containersKit, layerMembers, removeTree, requirePeers, tempDir, skopeoInspect, stat, validateOci, type ContainersKit, type Validated } from '../kit/peers.js';

const ALICE_UID = 4242;
const CMD = ['/bin/sh', '-c', 'cat /etc/cairn-ok'];

let k: CliKit;
let peers: ContainersKit | undefined;
let work: string;
let id: string;
let layout: string;
let archive: string;
let v: Validated;

beforeAll(async () => {
  requirePeers('skopeo', 'umoci', 'buildah', 'podman', 'mmdebstrap');
  const deb = await debianRootfs();
  k = cliKit('cairn-interop-deb-');
  work = tempDir('cairn-interop-deb-');
  mkdirSync(path.join(work, 'src/sub'), { recursive: true });
  writeFileSync(path.join(work, 'src/app.conf'), 'port=80\n');
  writeFileSync(path.join(work, 'src/sub/data'), 'data\n');
  writeFileSync(path.join(work, 'cairn-tool'), '#!/bin/sh\necho tool\n', { mode: 0o755 });

  const c = k.ok(['from', '--name', 'deb', `tarball:${deb}`]);
  k.ok(['run', c, '--', 'sh', '-c', 'apt-get --version >/dev/null && echo ok > /etc/cairn-ok']);
  k.ok(['run', c, '--', 'useradd', '-m', '-u', String(ALICE_UID), 'alice']);
  k.ok(['copy', '--chown', '1000:1000', c, path.join(work, 'src'), '/opt/app']);
  k.ok(['run', c, '--', 'rm', '/etc/issue']);
  // bookworm's merged /usr: /bin is a symlink to usr/bin, and a copy to /bin/ must go through it
  k.ok(['copy', c, path.join(work, 'cairn-tool'), '/bin/']);
  expect(k.ok(['checkpoint', '-m', 'configured', c])).toMatch(/^sha256:[0-9a-f]{64}$/);
  k.ok(['config', '--cmd', JSON.stringify(CMD), '--env', 'GREETING=hi', c]);
  id = k.ok(['commit', c, 'localhost/deb:1']);
  layout = path.join(work, 'oci');
  archive = path.join(work, 'deb-docker.tar');
  k.ok(['push', 'localhost/deb:1', `oci:${layout}:tag`]);
  k.ok(['push', 'localhost/deb:1', `docker-archive:${archive}:localhost/deb:1`]);
  v = validateOci(layout, 'tag');
}, 300_000);

afterAll(() => {
  peers?.cleanup();
  cleanupValidated();
  k?.cleanup();
  if (work) removeTree(work);
});

describe('a Debian image built by cairn', () => {
  it('is read by skopeo with the committed config and ID', () => {
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(v.configDigest).toBe(`sha256:${id}`);
    expect(v.manifest.layers).toHaveLength(2);
    expect(v.config.config.Cmd).toEqual(CMD);
    expect(v.config.config.Env).toContain('GREETING=hi');
    expect(v.config.rootfs.diff_ids).toHaveLength(2);
    expect(v.inspect.Layers).toEqual(v.manifest.layers.map((l: { digest: string }) => l.digest));
  });

  it("unpacks with umoci to the build's final state: files, owners, whiteouts, hardlinks", () => {
    const r = v.rootfs;
    expect(readFileSync(path.join(r, 'etc/cairn-ok'), 'utf8')).toBe('ok\n');
    expect(readFileSync(path.join(r, 'etc/passwd'), 'utf8')).toMatch(new RegExp(`^alice:x:${ALICE_UID}:${ALICE_UID}:`, 'm'));
    expect(stat('%u:%g %F', path.join(r, 'home/alice'), path.join(r, 'home/alice/.bashrc'))).toEqual([
      `${ALICE_UID}:${ALICE_UID} directory`,
      `${ALICE_UID}:${ALICE_UID} regular file`,
    ]);
    const app = path.join(r, 'opt/app');
    expect(stat('%n %u:%g', app, `${app}/app.conf`, `${app}/sub`, `${app}/sub/data`).map((l) => l.replace(r, ''))).toEqual([
      '/opt/app 1000:1000',
      '/opt/app/app.conf 1000:1000',
      '/opt/app/sub 1000:1000',
      '/opt/app/sub/data 1000:1000',
    ]);
    expect(readFileSync(`${app}/sub/data`, 'utf8')).toBe('data\n');
    // deleted before the checkpoint: the whiteout in the new layer hides the base's file
    expect(existsSync(path.join(r, 'etc/issue'))).toBe(false);
    expect(existsSync(path.join(r, 'etc/issue.net'))).toBe(true);
    // a copy to /bin/ went through the merged-/usr symlink, which is still a symlink
    expect(stat('%F %N', path.join(r, 'bin'))[0]).toMatch(/^symbolic link .* -> 'usr\/bin'$/);
    expect(stat('%F %a', path.join(r, 'usr/bin/cairn-tool'))).toEqual(['regular file 755']);
    // the base's hardlinks (perl, perl5.36.0) are still one inode
    const [a, b] = stat('%i %h', path.join(r, 'usr/bin/perl'), path.join(r, 'usr/bin/perl5.36.0'));
    expect(a).toBe(b);
    expect(Number(a.split(' ')[1])).toBeGreaterThanOrEqual(2);
  });

  it('writes the deletion as an OCI whiteout member of the new layer', () => {
    const names = layerMembers(blobPath(layout, v.manifest.layers.at(-1).digest));
    expect(names).toContain('etc/.wh.issue');
    expect(names).toContain('etc/cairn-ok');
    // what run binds in for the command (the host's resolver files) does not end up in the layer
    expect(names.filter((n) => /^etc\/(resolv\.conf|hosts|hostname)$/.test(n))).toEqual([]);
  });

  it('is a docker-archive skopeo reads with the same config and tag', () => {
    const raw = skopeoInspect(`docker-archive:${archive}`, '--raw');
    expect(raw.config.digest).toBe(`sha256:${id}`);
    const cfg = skopeoInspect(`docker-archive:${archive}`, '--config');
    expect(cfg.config.Cmd).toEqual(CMD);
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' }));
    expect(manifest[0].RepoTags).toEqual(['localhost/deb:1']);
  });

  it('is a base buildah can run (buildah from oci: + run --isolation chroot)', () => {
    peers ??= containersKit('cairn-peer-deb-');
    const ctr = peers.buildahOk(['from', '--pull-never', `oci:${layout}:tag`]);
    expect(peers.buildahOk(['run', '--isolation', 'chroot', ctr, '--', 'cat', '/etc/cairn-ok'])).toBe('ok');
    expect(peers.buildahOk(['run', '--isolation', 'chroot', '--user', 'alice', ctr, '--', 'sh', '-c', 'id -u; stat -c %u /opt/app/app.conf; test -e /etc/issue || echo gone; cairn-tool'])).toBe(
      `${ALICE_UID}\n1000\ngone\ntool`,
    );
    const info = JSON.parse(peers.buildahOk(['inspect', ctr]));
    expect(info.OCIv1.config.Cmd).toEqual(CMD);
    expect(info.OCIv1.config.Env).toContain('GREETING=hi');
    expect(info.FromImageID).toBe(id);
  }, 180_000);

  it('is a docker-archive podman loads, with the same image ID and config digest as cairn inspect', () => {
    peers ??= containersKit('cairn-peer-deb-');
    const out = peers.podmanOk(['load', '-q', '-i', archive]);
    expect(out).toContain('localhost/deb:1');
    const [img] = JSON.parse(peers.podmanOk(['image', 'inspect', 'localhost/deb:1']));
    const ours = JSON.parse(k.ok(['inspect', 'localhost/deb:1']));
    expect(img.Id).toBe(ours.id);
    expect(`sha256:${img.Id}`).toBe(ours.manifest.config.digest);
    expect(img.Config.Cmd).toEqual(CMD);
    expect(img.RootFS.Layers).toEqual(ours.config.rootfs.diff_ids);
    expect(img.RepoTags).toContain('localhost/deb:1');
  }, 180_000);
});
