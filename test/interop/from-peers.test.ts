// Images written by buildah, skopeo and podman are bases cairn can use (and cairn's result goes back to them).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { cleanupValidated, containersKit, removeTree, requirePeers, skopeoCopy, skopeoInspect, tempDir, validateOci, type ContainersKit } from '../kit/peers.js';

let k: CliKit;
let p: ContainersKit;
let work: string;
/** buildah's two-layer image: busybox + files, then a layer deleting /srv/x (a whiteout buildah wrote). */
let peerImageId: string;
const BUSYBOX = '/bin/busybox';

beforeAll(() => {
  requirePeers('skopeo', 'umoci', 'buildah', 'podman');
  k = cliKit('cairn-interop-peers-');
  p = containersKit('cairn-peer-from-');
  work = tempDir('cairn-interop-from-');
  const b = p.buildahOk(['from', 'scratch']);
  p.buildahOk(['copy', b, BUSYBOX, '/bin/busybox']);
  p.buildahOk([
    'run', '--isolation', 'chroot', b, '--', '/bin/busybox', 'sh', '-c',
    '/bin/busybox --install -s /bin && echo from-buildah > /etc/peer-made && mkdir -p /srv/keep && echo x > /srv/x && echo k > /srv/keep/k',
  ]);
  p.buildahOk(['config', '--cmd', '["/bin/cat","/etc/peer-made"]', '--env', 'PEER=buildah', '--env', 'PATH=/bin', '--workingdir', '/srv', b]);
  p.buildahOk(['commit', '-q', b, 'localhost/peer:1']);
  const b2 = p.buildahOk(['from', '--pull-never', 'localhost/peer:1']);
  p.buildahOk(['run', '--isolation', 'chroot', b2, '--', 'rm', '/srv/x']);
  peerImageId = p.buildahOk(['commit', '-q', b2, 'localhost/peer:2']);
}, 180_000);

afterAll(() => {
  cleanupValidated();
  p?.cleanup();
  k?.cleanup();
  if (work) removeTree(work);
});

/** What a container made from buildah's image must see. */
const PROBE = 'cat /etc/peer-made; test -e /srv/x || echo x-gone; cat /srv/keep/k; echo $PEER; pwd';
const EXPECTED = 'from-buildah\nx-gone\nk\nbuildah\n/srv';

describe('cairn from an image a peer wrote', () => {
  it('uses buildah push oci:DIR:x as a base, honouring its whiteout and config', () => {
    const dir = path.join(work, 'buildah-oci');
    p.buildahOk(['push', '-q', 'localhost/peer:2', `oci:${dir}:x`]);
    const c = k.ok(['from', `oci:${dir}:x`]);
    expect(k.ok(['run', c, '--', 'sh', '-c', PROBE])).toBe(EXPECTED);
    const ours = JSON.parse(k.ok(['inspect', `oci:${dir}:x`]));
    expect(ours.manifest.config.digest).toBe(skopeoInspect(`oci:${dir}:x`, '--raw').config.digest);
    expect(ours.manifest.config.digest).toBe(`sha256:${peerImageId}`);
  });

  it('uses buildah push oci-archive:FILE:x as a base', () => {
    const file = path.join(work, 'buildah.oci.tar');
    p.buildahOk(['push', '-q', 'localhost/peer:2', `oci-archive:${file}:x`]);
    const c = k.ok(['from', `oci-archive:${file}:x`]);
    expect(k.ok(['run', c, '--', 'sh', '-c', PROBE])).toBe(EXPECTED);
  });

  it("uses skopeo's docker-archive (copied from buildah's layout) as a base", () => {
    const dir = path.join(work, 'buildah-oci-2');
    const file = path.join(work, 'skopeo-docker.tar');
    p.buildahOk(['push', '-q', 'localhost/peer:2', `oci:${dir}:x`]);
    skopeoCopy(`oci:${dir}:x`, `docker-archive:${file}:localhost/peer:2`);
    const c = k.ok(['from', `docker-archive:${file}`]);
    expect(k.ok(['run', c, '--', 'sh', '-c', PROBE])).toBe(EXPECTED);
    // the stored image keeps the config bytes: same ID as buildah's
    expect(k.ok(['pull', `docker-archive:${file}`])).toBe(peerImageId);
  });

  it("uses podman save's docker-archive as a base", () => {
    const file = path.join(work, 'podman-save.tar');
    p.podmanOk(['save', '-q', '--format', 'docker-archive', '-o', file, 'localhost/peer:2']);
    const c = k.ok(['from', `docker-archive:${file}:localhost/peer:2`]);
    expect(k.ok(['run', c, '--', 'sh', '-c', PROBE])).toBe(EXPECTED);
  });

  it("picks one image of podman save's multi-image docker-archive, and refuses to guess", () => {
    const file = path.join(work, 'podman-multi.tar');
    p.podmanOk(['save', '-q', '-m', '-o', file, 'localhost/peer:1', 'localhost/peer:2']);
    const c1 = k.ok(['from', `docker-archive:${file}:localhost/peer:1`]);
    expect(k.ok(['run', c1, '--', 'sh', '-c', 'cat /srv/x'])).toBe('x');
    const c2 = k.ok(['from', `docker-archive:${file}:localhost/peer:2`]);
    expect(k.ok(['run', c2, '--', 'sh', '-c', PROBE])).toBe(EXPECTED);
    const r = k.cairn(['from', `docker-archive:${file}`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/2 images/);
  });

  it('resolves a tag naming an image index (buildah manifest push --all oci:)', () => {
    const dir = path.join(work, 'buildah-index');
    p.buildahOk(['manifest', 'create', 'localhost/peer-list']);
    p.buildahOk(['manifest', 'add', 'localhost/peer-list', 'containers-storage:localhost/peer:2']);
    p.buildahOk(['manifest', 'push', '-q', '--all', 'localhost/peer-list', `oci:${dir}:multi`]);
    const c = k.ok(['from', `oci:${dir}:multi`]);
    expect(k.ok(['run', c, '--', 'sh', '-c', PROBE])).toBe(EXPECTED);
  });

  it("builds on buildah's layers and gives back an image umoci and buildah agree on", () => {
    const dir = path.join(work, 'buildah-oci-3');
    p.buildahOk(['push', '-q', 'localhost/peer:2', `oci:${dir}:x`]);
    const c = k.ok(['from', `oci:${dir}:x`]);
    k.ok(['run', c, '--', 'sh', '-c', 'echo cairn > /etc/cairn-made && rm -r /srv/keep']);
    k.ok(['checkpoint', c]);
    const id = k.ok(['commit', c, 'localhost/on-peer']);
    const out = path.join(work, 'ours');
    k.ok(['push', 'localhost/on-peer', `oci:${out}:y`]);
    const v = validateOci(out, 'y');
    expect(v.configDigest).toBe(`sha256:${id}`);
    expect(v.manifest.layers).toHaveLength(3);
    expect(readFileSync(path.join(v.rootfs, 'etc/peer-made'), 'utf8')).toBe('from-buildah\n');
    expect(readFileSync(path.join(v.rootfs, 'etc/cairn-made'), 'utf8')).toBe('cairn\n');
    const b = p.buildahOk(['from', '--pull-never', `oci:${out}:y`]);
    expect(p.buildahOk(['run', '--isolation', 'chroot', b, '--', 'sh', '-c', 'cat /etc/cairn-made; ls /srv; echo $PEER'])).toBe('cairn\nbuildah');
  });
});
