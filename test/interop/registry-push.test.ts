// cairn pushing to a real registry (Debian's docker-registry): an image it committed, read back by skopeo; a
// second push that uploads nothing; chunked uploads; copy-image registry → registry, by mount within one
// registry and streamed between two; basic auth. Requests are counted through a pass-through front end.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { peerOk, removeTree, requirePeers, skopeoInspect, tempDir } from '../kit/peers.js';
import { startFront, startRegistry, type FrontKit, type RegistryKit, type Seen } from '../kit/registry.js';
import { tinyRootfsTar } from '../kit/tiny.js';

const ENV = { CAIRN_REGISTRY_BACKOFF_MS: '50', REGISTRY_AUTH_FILE: '' };
const INSECURE = '--tls-verify=false';

let work: string;
let k: CliKit;
let open: RegistryKit;
let second: RegistryKit;
let front: FrontKit;
let id: string;
const stops: (() => Promise<void> | void)[] = [];

/** cairn without blocking this process (the front end answers from its event loop); throws with stderr on failure. */
async function ok(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await k.cairnAsync(args, env);
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The requests the front end saw since mark, as `METHOD path`. */
function since(mark: number): string[] {
  return front.seen.slice(mark).map((s: Seen) => `${s.method} ${s.path}`);
}

const blobUploads = (reqs: string[]) => reqs.filter((r) => /^(POST|PUT|PATCH) \/v2\/[^ ]+\/blobs\/uploads\//.test(r));

/** skopeo inspect of a registry image (no TLS on the test registries). */
function inspect(ref: string, extra: string[] = []): { Digest: string; Layers: string[] } {
  return JSON.parse(peerOk('skopeo', ['inspect', '--tls-verify=false', ...extra, ref]));
}

beforeAll(async () => {
  requirePeers('docker-registry', 'skopeo');
  work = tempDir('cairn-registry-push-');
  k = cliKit('cairn-reg-push-', { ...ENV, DOCKER_CONFIG: path.join(work, 'no-docker') });
  stops.push(() => k.cleanup());
  // An image of three layers: the tiny rootfs, a small file, and a file of random bytes (over the chunk size below).
  writeFileSync(path.join(work, 'small'), 'hello\n');
  writeFileSync(path.join(work, 'big'), randomBytes(300 << 10));
  const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
  k.ok(['copy', c, path.join(work, 'small'), '/etc/small']);
  k.ok(['checkpoint', '-m', 'small', c]);
  k.ok(['copy', c, path.join(work, 'big'), '/srv/big']);
  id = k.ok(['commit', c, 'localhost/pushed:1']);
  [open, second] = await Promise.all([startRegistry(), startRegistry()]);
  stops.push(() => open.stop(), () => second.stop());
  front = await startFront(open.host, () => ({ pass: true }));
  stops.push(() => front.stop());
}, 60_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s();
  if (work) removeTree(work);
});

describe('pushing to an open registry', () => {
  let digest: string;

  it('pushes a committed image that skopeo reads back: digest as --digestfile, same layers, same config', async () => {
    const file = path.join(work, 'digest');
    digest = await ok(['push', INSECURE, '--digestfile', file, 'localhost/pushed:1', `docker://${front.host}/app:1`]);
    expect(readFileSync(file, 'utf8')).toBe(digest);
    const info = inspect(`docker://${open.host}/app:1`);
    expect(info.Digest).toBe(digest);
    // The same image written to a layout holds the same layers and manifest.
    const layout = path.join(work, 'layout');
    expect(await ok(['push', 'localhost/pushed:1', `oci:${layout}:x`])).toBe(digest);
    expect(info.Layers).toEqual(skopeoInspect(`oci:${layout}:x`).Layers);
    expect(info.Layers).toHaveLength(3);
    const back = path.join(work, 'back');
    peerOk('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${open.host}/app:1`, `oci:${back}:x`]);
    expect(skopeoInspect(`oci:${back}:x`, '--raw').config.digest).toBe(`sha256:${id}`);
  });

  it('a second push of the same image uploads no blob', async () => {
    const mark = front.seen.length;
    expect(await ok(['push', INSECURE, 'localhost/pushed:1', `docker://${front.host}/app:2`])).toBe(digest);
    const reqs = since(mark);
    expect(reqs.filter((r) => r.startsWith('HEAD /v2/app/blobs/'))).toHaveLength(4);
    expect(blobUploads(reqs)).toEqual([]);
    expect(reqs.filter((r) => r.startsWith('PUT /v2/app/manifests/2'))).toHaveLength(1);
  });

  it('a blob over the chunk size goes in PATCHes with the same result', async () => {
    const mark = front.seen.length;
    expect(await ok(['push', INSECURE, 'localhost/pushed:1', `docker://${front.host}/chunked:1`], { CAIRN_REGISTRY_CHUNK_BYTES: String(64 << 10) })).toBe(digest);
    const patches = since(mark).filter((r) => r.startsWith('PATCH /v2/chunked/blobs/uploads/'));
    expect(patches.length).toBeGreaterThanOrEqual(5);
    expect(inspect(`docker://${open.host}/chunked:1`).Digest).toBe(digest);
  });

  it('copy-image to another repository of the same registry mounts every blob', async () => {
    const mark = front.seen.length;
    await ok(['copy-image', INSECURE, `docker://${front.host}/app:1`, `docker://${front.host}/mirror:1`]);
    const reqs = since(mark);
    expect(reqs.filter((r) => r.startsWith('POST /v2/mirror/blobs/uploads/?mount='))).toHaveLength(4);
    expect(reqs.filter((r) => /^(PUT|PATCH) \/v2\/mirror\/blobs\//.test(r))).toEqual([]);
    expect(reqs.filter((r) => r.startsWith('GET /v2/app/blobs/'))).toHaveLength(1); // the config only
    expect(inspect(`docker://${open.host}/mirror:1`).Digest).toBe(digest);
  });

  it('copy-image to a second registry streams the blobs across, a progress line per layer on a pipe', async () => {
    const r = await k.cairnAsync(['copy-image', INSECURE, `docker://${front.host}/app:1`, `docker://${second.host}/copied:1`], { CAIRN_PROGRESS_AFTER: '0' });
    expect(r.status).toBe(0);
    const layers = inspect(`docker://${open.host}/app:1`).Layers;
    const lines = r.stderr.trim().split('\n');
    // One finished line per layer (`sha256:0123456789ab: 1.2 KiB in 0.1s (…/s)`), nothing else.
    expect(lines.map((l) => l.slice(0, 19)).sort()).toEqual(layers.map((d) => `${d.slice(0, 19)}`).sort());
    for (const l of lines) expect(l).toMatch(/^sha256:[0-9a-f]{12}: \S+ \S+ in [\d.]+s \(.+\/s\)$/);
    const info = inspect(`docker://${second.host}/copied:1`);
    expect(info.Digest).toBe(digest);
    expect(info.Layers).toEqual(inspect(`docker://${open.host}/app:1`).Layers);
  });
});

describe('copying between registries keeps the manifest', () => {
  it('a Docker schema 2 image copied registry to registry keeps its bytes and digest, as skopeo copy does', async () => {
    peerOk('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', '--format', 'v2s2', `docker://${open.host}/app:1`, `docker://${open.host}/v2s2:1`]);
    const source = inspect(`docker://${open.host}/v2s2:1`);
    await ok(['copy-image', INSECURE, `docker://${open.host}/v2s2:1`, `docker://${second.host}/v2s2:1`]);
    const copied = inspect(`docker://${second.host}/v2s2:1`);
    expect(copied.Digest).toBe(source.Digest);
    const raw = JSON.parse(peerOk('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${second.host}/v2s2:1`]));
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
  });
});

describe('pushing through a front end that changes what the registry says', () => {
  it('follows relative Locations with their query, as given', async () => {
    const f = await startFront(open.host, () => ({ pass: true, relocate: (l) => l.replace(/^https?:\/\/[^/]+/, '') }));
    stops.push(() => f.stop());
    const digest = await ok(['push', INSECURE, 'localhost/pushed:1', `docker://${f.host}/relative:1`], { CAIRN_REGISTRY_CHUNK_BYTES: String(128 << 10) });
    expect(f.seen.filter((s) => s.method === 'PATCH' && /\?_state=/.test(s.path)).length).toBeGreaterThanOrEqual(3);
    expect(inspect(`docker://${open.host}/relative:1`).Digest).toBe(digest);
  });

  it('a layer upload that fails starts a new upload session and the push succeeds', async () => {
    let failed = 0;
    const f = await startFront(open.host, (s) => {
      const big = Number(s.headers['content-length'] ?? 0) > 100_000;
      if (s.method === 'PUT' && s.path.includes('/blobs/uploads/') && big && failed++ === 0) return { answer: { status: 503 } };
      return { pass: true };
    });
    stops.push(() => f.stop());
    const digest = await ok(['push', INSECURE, 'localhost/pushed:1', `docker://${f.host}/flaky:1`]);
    expect(failed).toBeGreaterThanOrEqual(2);
    // One session per blob, and one more for the upload that failed.
    expect(f.seen.filter((s) => s.method === 'POST' && s.path.startsWith('/v2/flaky/blobs/uploads/'))).toHaveLength(5);
    expect(inspect(`docker://${open.host}/flaky:1`).Digest).toBe(digest);
  });
});

describe('pushing to a registry with basic auth', () => {
  let reg: RegistryKit;

  beforeAll(async () => {
    reg = await startRegistry({ basic: { user: 'alice', pass: 's3cret' } });
    stops.push(() => reg.stop());
  }, 30_000);

  it('refuses without credentials in one line, and pushes with --creds', async () => {
    const r = await k.cairnAsync(['push', INSECURE, 'localhost/pushed:1', `docker://${reg.host}/private/app:1`]);
    expect(r.status).toBe(125);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^cairn push: .*401 unauthorized, no credentials given/);
    expect(r.stderr).toContain('--creds');
    const digest = await ok(['push', INSECURE, '--creds', 'alice:s3cret', 'localhost/pushed:1', `docker://${reg.host}/private/app:1`]);
    expect(inspect(`docker://${reg.host}/private/app:1`, ['--creds', 'alice:s3cret']).Digest).toBe(digest);
  });
});
