// Two separate Debian builds with SOURCE_DATE_EPOCH give the same image ID and byte-identical archives,
// and the peers agree on what they read.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { debianRootfs } from '../kit/debian.js';
import { tinyRootfsTar } from '../kit/tiny.js';
import { cleanupValidated, removeTree, requirePeers, skopeoInspect, tempDir, validateOci, type Validated } from '../kit/peers.js';

const EPOCH = '1700000000';

interface Build {
  k: CliKit;
  work: string;
  id: string;
  ociArchive: string;
  dockerArchive: string;
  layout: string;
  /** umoci's unpack of the first build (the second is byte-identical, or the tests above fail). */
  v?: Validated;
}

const builds: Build[] = [];
/** Everything to remove after the file, registered before it is filled (a failed build leaves no trash). */
const trash: (() => void)[] = [];

/** sha256 of a file, streamed. */
function fileHash(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/**
 * One build in its own store, from a source tree made fresh (so host mtimes differ between builds,
 * and must be clamped), under a container name of its own.
 */
function build(deb: string, n: number): Build {
  const k = cliKit(`cairn-interop-repro${n}-`);
  const work = tempDir(`cairn-interop-repro${n}-`);
  trash.push(() => k.cleanup(), () => removeTree(work));
  const env = { SOURCE_DATE_EPOCH: EPOCH };
  const src = path.join(work, 'src');
  mkdirSync(path.join(src, 'conf.d'), { recursive: true });
  writeFileSync(path.join(src, 'app.conf'), 'port=80\n');
  writeFileSync(path.join(src, 'conf.d/extra.conf'), 'x=1\n');
  // a different host mtime in each build, after the epoch: clamped to it (older times are kept, as
  // reproducible-builds.org's SOURCE_DATE_EPOCH clamping says, so they are the same in both builds)
  const t = Date.now() / 1000 + n * 1000;
  utimesSync(path.join(src, 'app.conf'), t, t);
  utimesSync(path.join(src, 'conf.d/extra.conf'), 1_600_000_000, 1_600_000_000);
  const c = k.ok(['from', '--name', `repro-${n}`, `tarball:${deb}`], { env });
  k.ok(['run', c, '--', 'sh', '-c', 'echo hi > /etc/motd && mkdir -p /var/lib/app && touch /var/lib/app/stamp && rm /etc/issue'], { env });
  k.ok(['run', c, '--', 'useradd', '-m', '-u', '3000', 'bob'], { env });
  k.ok(['checkpoint', '-m', 'setup', c], { env });
  // a relative source (as in a Makefile): the history records it as given, the same in both builds
  k.ok(['copy', '--chown', 'bob:bob', c, './src', '/srv/app'], { env, cwd: work });
  k.ok(['config', '--cmd', '["/bin/sh"]', '--label', 'org.example=repro', c], { env });
  const id = k.ok(['commit', c, 'localhost/repro:1'], { env });
  const ociArchive = path.join(work, 'image.oci.tar');
  const dockerArchive = path.join(work, 'image.docker.tar');
  const layout = path.join(work, 'oci');
  k.ok(['push', 'localhost/repro:1', `oci-archive:${ociArchive}:repro`], { env });
  k.ok(['push', 'localhost/repro:1', `docker-archive:${dockerArchive}:localhost/repro:1`], { env });
  k.ok(['push', 'localhost/repro:1', `oci:${layout}:repro`], { env });
  return { k, work, id, ociArchive, dockerArchive, layout, v: n === 1 ? validateOci(layout, 'repro') : undefined };
}

beforeAll(async () => {
  requirePeers('skopeo', 'umoci', 'mmdebstrap');
  const deb = await debianRootfs();
  builds.push(build(deb, 1));
  builds.push(build(deb, 2));
}, 300_000);

afterAll(() => {
  cleanupValidated();
  for (const t of trash.splice(0)) t();
});

describe('two separate builds with SOURCE_DATE_EPOCH', () => {
  it('give the same image ID, manifest and layers', () => {
    const [a, b] = builds;
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(b.id).toBe(a.id);
    expect(skopeoInspect(`oci:${b.layout}:repro`, '--raw')).toEqual(a.v!.manifest);
    expect(a.v!.manifest.layers).toHaveLength(3);
    expect(a.v!.config.created).toBe(new Date(Number(EPOCH) * 1000).toISOString().replace('.000Z', 'Z'));
  });

  it('give byte-identical oci-archive and docker-archive files', async () => {
    const [a, b] = builds;
    expect(await fileHash(b.ociArchive)).toBe(await fileHash(a.ociArchive));
    expect(await fileHash(b.dockerArchive)).toBe(await fileHash(a.dockerArchive));
  });

  it('are read by skopeo as the same image from every transport', () => {
    const [a, b] = builds;
    const digests = [a, b].flatMap((x) => [
      skopeoInspect(`oci-archive:${x.ociArchive}:repro`, '--raw').config.digest,
      skopeoInspect(`docker-archive:${x.dockerArchive}`, '--raw').config.digest,
      skopeoInspect(`oci:${x.layout}:repro`, '--raw').config.digest,
    ]);
    expect(new Set(digests)).toEqual(new Set([`sha256:${a.id}`]));
  });

  it('unpack with umoci with file times clamped to the epoch (older ones kept)', () => {
    const r = builds[0].v!.rootfs;
    expect(statSync(path.join(r, 'srv/app/app.conf')).mtimeMs / 1000).toBe(Number(EPOCH));
    expect(statSync(path.join(r, 'srv/app/conf.d/extra.conf')).mtimeMs / 1000).toBe(1_600_000_000);
    expect(statSync(path.join(r, 'etc/motd')).mtimeMs / 1000).toBe(Number(EPOCH));
    expect(statSync(path.join(r, 'srv/app/app.conf')).uid).toBe(3000);
  });
});

describe('reproducibility across checkouts', () => {
  // The same sources at two different absolute host paths (two CI workspaces, two clones) must give the
  // same image: buildah records `COPY dir:<content digest> in DEST`, never the host path.
  it('does not depend on the absolute host path of copied sources', () => {
    const env = { SOURCE_DATE_EPOCH: EPOCH };
    const ids = [1, 2].map((n) => {
      const k = cliKit(`cairn-interop-reproabs${n}-`);
      const work = tempDir(`cairn-interop-reproabs${n}-`);
      try {
        mkdirSync(path.join(work, 'src'));
        writeFileSync(path.join(work, 'src/f'), 'same\n');
        const c = k.ok(['from', `tarball:${tinyRootfsTar()}`], { env });
        k.ok(['copy', c, path.join(work, 'src'), '/srv/app'], { env });
        const id = k.ok(['commit', c], { env });
        return { id, history: JSON.parse(k.ok(['inspect', id])).config.history.map((h: { created_by?: string }) => h.created_by) };
      } finally {
        k.cleanup();
        removeTree(work);
      }
    });
    expect(ids[1].history).toEqual(ids[0].history);
    expect(ids[1].id).toBe(ids[0].id);
  });
});
