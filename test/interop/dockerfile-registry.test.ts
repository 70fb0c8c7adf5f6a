// `cairn build` with a real registry (Debian's docker-registry on 127.0.0.1): the step cache shared between two
// stores through a repository (--cache-to / --cache-from HOST/REPO, as buildah), and --format docker images
// read back by skopeo and loaded by podman.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { containersKit, removeTree, requirePeers, tempDir } from '../kit/peers.js';
import { freePort, startFront, startRegistry, type RegistryKit } from '../kit/registry.js';
import { tinyRootfsTar } from '../kit/tiny.js';

const INSECURE = '--tls-verify=false';
const run = promisify(execFile);
let work: string;
let reg: RegistryKit;
let ctx: string;
const kits: CliKit[] = [];

/** A fresh store (a worker) holding the tiny image as localhost/tiny:1. */
function worker(): CliKit {
  const k = cliKit('cairn-df-reg-', { CAIRN_REGISTRY_BACKOFF_MS: '50', REGISTRY_AUTH_FILE: '', DOCKER_CONFIG: path.join(work, 'no-docker'), SOURCE_DATE_EPOCH: '0' });
  kits.push(k);
  k.ok(['tag', k.ok(['pull', `tarball:${tinyRootfsTar()}`]), 'localhost/tiny:1']);
  return k;
}

/** The steps of a build's log after FROM, each with whether it was taken from the cache. */
function steps(stderr: string): { text: string; cached: boolean }[] {
  const out: { text: string; cached: boolean }[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^STEP \d+\/\d+: (.*)$/.exec(line);
    if (m) out.push({ text: m[1], cached: false });
    else if (/^--> Using cache [0-9a-f]{12} \(cached\)$/.test(line) && out.length) out[out.length - 1].cached = true;
  }
  return out.filter((s) => !s.text.startsWith('FROM'));
}

/** Builds ctx in k with the flags; returns the ID and the log. Never blocking: the registry's output is read by this process. */
async function build(k: CliKit, flags: string[]): Promise<{ id: string; stderr: string }> {
  const r = await k.cairnAsync(['build', ...flags, ctx]);
  expect(r.status, r.stderr).toBe(0);
  return { id: r.stdout.trim(), stderr: r.stderr };
}

/** cairn in k, without blocking; throws with stderr on failure; returns trimmed stdout. */
async function ok(k: CliKit, args: string[]): Promise<string> {
  const r = await k.cairnAsync(args);
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** skopeo, without blocking; returns stdout. */
async function skopeo(args: string[]): Promise<string> {
  return (await run('skopeo', args, { maxBuffer: 16 << 20 })).stdout;
}

const diffIds = (k: CliKit, id: string): string[] => JSON.parse(k.ok(['inspect', id])).config.rootfs.diff_ids;

beforeAll(async () => {
  requirePeers('docker-registry', 'skopeo', 'podman', 'buildah');
  work = tempDir('cairn-df-registry-');
  ctx = path.join(work, 'ctx');
  mkdirSync(ctx);
  writeFileSync(path.join(ctx, 'a'), 'a\n');
  writeFileSync(
    path.join(ctx, 'Dockerfile'),
    'FROM localhost/tiny:1\nCOPY a /a\nRUN echo ran > /ran\nENV E=1\nHEALTHCHECK CMD ["/bin/cat", "/a"]\nONBUILD RUN true\nSHELL ["/bin/sh", "-c"]\nCMD ["/bin/cat", "/a"]\n',
  );
  reg = await startRegistry();
}, 60_000);

afterAll(async () => {
  for (const k of kits) k.cleanup();
  await reg?.stop();
  if (work) removeTree(work);
});

/**
 * Builds in k through a front of the registry, with flags(REPO) naming the repository `cache/NAME` behind it: every
 * step must come from a cache, the front must have seen the repository's manifests read, and nothing written.
 */
async function buildReadingOnly(k: CliKit, name: string, flags: (repo: string) => string[]): Promise<void> {
  const front = await startFront(reg.host, () => ({ pass: true }));
  try {
    const r = await build(k, ['--layers', INSECURE, ...flags(`${front.host}/cache/${name}`)]);
    expect(steps(r.stderr).filter((x) => !x.cached)).toEqual([]);
    expect(front.seen.filter((x) => x.method === 'GET' && x.path.startsWith(`/v2/cache/${name}/manifests/`)).length).toBeGreaterThan(0);
    expect(front.seen.filter((x) => x.method !== 'GET' && x.method !== 'HEAD').map((x) => `${x.method} ${x.path}`)).toEqual([]);
  } finally {
    await front.stop();
  }
}

describe('the step cache in a registry repository', () => {
  it('worker 1 pushes its steps tagged by key; worker 2, a fresh store, takes every step from there and gets the same image', async () => {
    const w1 = worker();
    const first = await build(w1, ['--layers', INSECURE, '--cache-to', `${reg.host}/cache/app`]);
    expect(steps(first.stderr).some((s) => s.cached)).toBe(false);
    const tags: string[] = JSON.parse(await skopeo(['list-tags', INSECURE, `docker://${reg.host}/cache/app`])).Tags;
    // One tag per step (the file-changing steps' layers images too, as base-KEY).
    expect(tags.filter((t) => /^[0-9a-f]{64}$/.test(t)).length).toBe(steps(first.stderr).length);
    expect(tags.some((t) => /^base-[0-9a-f]{64}$/.test(t))).toBe(true);

    const w2 = worker();
    const second = await build(w2, ['--layers', INSECURE, '--cache-from', `docker://${reg.host}/cache/app`, '-t', 'localhost/shared:1']);
    const s = steps(second.stderr);
    expect(s.length).toBeGreaterThan(0);
    expect(s.filter((x) => !x.cached)).toEqual([]);
    expect(second.id).toBe(first.id);
    expect(diffIds(w2, second.id)).toEqual(diffIds(w1, first.id));
    // The RUN step's file is there, though nothing ran in worker 2.
    const c = w2.ok(['from', 'localhost/shared:1']);
    expect(w2.ok(['run', c, '--', '/bin/cat', '/ran'])).toBe('ran');
    w2.ok(['rm', c]);
  }, 180_000);

  it('--cache-from R --cache-to R, as a CI job runs it: the steps taken from R are not pushed back to it', async () => {
    await build(worker(), ['--layers', INSECURE, '--cache-to', `${reg.host}/cache/ci`]);
    await buildReadingOnly(worker(), 'ci', (repo) => ['--cache-from', repo, '--cache-to', repo]);
  }, 180_000);

  it('a rebuild from the local cache with --cache-to the same repository pushes nothing again', async () => {
    const w = worker();
    await build(w, ['--layers', INSECURE, '--cache-to', `${reg.host}/cache/again`]);
    await buildReadingOnly(w, 'again', (repo) => ['--cache-to', repo]);
  }, 180_000);

  it('a repository or a key the registry lacks is a miss: the steps run', async () => {
    const w = worker();
    const r = await build(w, ['--layers', INSECURE, '--cache-from', `${reg.host}/cache/nothing-here`]);
    const s = steps(r.stderr);
    expect(s.length).toBeGreaterThan(0);
    expect(s.filter((x) => x.cached)).toEqual([]);
  }, 120_000);

  it('a repository the registry refuses (401, as Docker Hub answers for one that does not exist yet) is a miss, said once and asked once', async () => {
    const w = worker();
    const denied = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    const front = await startFront(reg.host, (req) => (req.path.startsWith('/v2/cache/') ? { answer: { status: 401, headers: { 'content-type': 'application/json' }, body: denied } } : { pass: true }));
    try {
      const r = await build(w, ['--layers', INSECURE, '--cache-from', `${front.host}/cache/not-yet`]);
      const s = steps(r.stderr);
      expect(s.length).toBeGreaterThan(1);
      expect(s.filter((x) => x.cached)).toEqual([]);
      const said = r.stderr.split('\n').filter((l) => l.includes(`--cache-from ${front.host}/cache/not-yet`));
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/401 unauthorized.*taken as a miss/);
      expect(front.seen.filter((x) => x.path.startsWith('/v2/cache/'))).toHaveLength(1);
    } finally {
      await front.stop();
    }
  }, 120_000);

  it('a registry that cannot be reached fails the build with one line naming the flag; a tagged repository is refused', async () => {
    const w = worker();
    const dead = `127.0.0.1:${await freePort()}`;
    const r = await w.cairnAsync(['build', '--layers', INSECURE, '--cache-from', `${dead}/cache`, ctx]);
    expect(r.status).toBe(125);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('cairn build:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`--cache-from ${dead}/cache`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const tagged = await w.cairnAsync(['build', '--layers', '--cache-to', `docker://${reg.host}/cache/app:v1`, ctx]);
    expect(tagged.status).toBe(125);
    expect(tagged.stderr).toContain('without a tag');
    expect(tagged.stderr).not.toContain('STEP 1/');
  }, 60_000);
});

describe('--format docker', () => {
  it('writes a Docker schema 2 image, kept on a registry and in docker-archive:, which podman loads; OCI stays the default', async () => {
    const w = worker();
    const oci = await build(w, ['-q']);
    expect((await build(w, ['-q', '--format', 'oci'])).id).toBe(oci.id);
    const docker = await build(w, ['-q', '--format', 'docker', '-t', 'localhost/fmt:docker']);
    expect(docker.id).not.toBe(oci.id);
    const pushed = await ok(w, ['push', INSECURE, 'localhost/fmt:docker', `docker://${reg.host}/fmt/app:1`]);
    const raw = JSON.parse(await skopeo(['inspect', '--raw', INSECURE, `docker://${reg.host}/fmt/app:1`]));
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(raw.config.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(raw.config.digest).toBe(`sha256:${docker.id}`);
    for (const l of raw.layers) expect(l.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    expect(JSON.parse(await skopeo(['inspect', INSECURE, `docker://${reg.host}/fmt/app:1`])).Digest).toBe(pushed);
    const cfg = JSON.parse(await skopeo(['inspect', '--config', '--raw', INSECURE, `docker://${reg.host}/fmt/app:1`]));
    expect(cfg.config.Healthcheck.Test).toEqual(['CMD', '/bin/cat', '/a']);
    expect(cfg.config.OnBuild).toEqual(['RUN true']);
    expect(cfg.config.Shell).toEqual(['/bin/sh', '-c']);
    // The default push stays OCI, and its digest is that of the OCI manifest.
    await ok(w, ['push', INSECURE, oci.id, `docker://${reg.host}/fmt/app:oci`]);
    expect(JSON.parse(await skopeo(['inspect', '--raw', INSECURE, `docker://${reg.host}/fmt/app:oci`])).mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    // With --layers the last step's image is made Docker too (same layers); a rebuild gives the same ID.
    const layered = await build(w, ['-q', '--layers', '--format', 'docker']);
    expect((await build(w, ['-q', '--layers', '--format', 'docker'])).id).toBe(layered.id);
    expect(JSON.parse(w.ok(['inspect', layered.id])).manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');

    // docker-archive: from cairn and from the registry by skopeo; podman loads it.
    const archive = path.join(work, 'fmt.tar');
    w.ok(['push', 'localhost/fmt:docker', `docker-archive:${archive}`]);
    expect(JSON.parse(await skopeo(['inspect', '--config', '--raw', `docker-archive:${archive}`])).container_config).toBeDefined();
    await skopeo(['copy', INSECURE.replace('--', '--src-'), `docker://${reg.host}/fmt/app:1`, `docker-archive:${path.join(work, 'copied.tar')}:localhost/fmt:copied`]);
    const pk = containersKit('cairn-df-podman-');
    try {
      pk.podmanOk(['load', '-i', archive]);
      const ins = JSON.parse(pk.podmanOk(['image', 'inspect', 'localhost/fmt:docker']))[0];
      expect(ins.Id).toBe(docker.id);
      expect(ins.ManifestType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    } finally {
      pk.cleanup();
    }
  }, 240_000);

  it('commit --format docker: the store keeps the Docker form, from and run use it, check finds nothing wrong; an unknown format is refused', async () => {
    const w = worker();
    const c = w.ok(['from', 'localhost/tiny:1']);
    w.ok(['config', '--cmd', '/bin/cat /etc/hostname', c]);
    const bad = w.cairn(['commit', '--format', 'v2s2', c]);
    expect(bad.status).toBe(125);
    expect(bad.stderr).toContain('--format v2s2: use oci or docker');
    const id = w.ok(['commit', '--format', 'docker', c, 'localhost/committed:docker']);
    const ins = JSON.parse(w.ok(['inspect', id]));
    expect(ins.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(ins.manifest.layers.every((l: { mediaType: string }) => l.mediaType.startsWith('application/vnd.docker.image.rootfs.diff.tar'))).toBe(true);
    const d = w.ok(['from', 'localhost/committed:docker']);
    w.ok(['run', d, '--', '/bin/sh', '-c', 'echo hi > /hi']);
    expect(w.ok(['run', d, '--', '/bin/cat', '/hi'])).toBe('hi');
    w.ok(['commit', '--format', 'docker', d, 'localhost/committed:docker2']);
    w.ok(['rm', c, d]);
    w.ok(['check']);
    const layout = path.join(work, 'committed-layout');
    w.ok(['push', 'localhost/committed:docker2', `oci:${layout}:x`]);
    expect(JSON.parse(await skopeo(['inspect', '--raw', `oci:${layout}:x`])).mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(JSON.parse(await skopeo(['inspect', '--config', '--raw', `oci:${layout}:x`])).container_config).toBeDefined();
  }, 120_000);
});

