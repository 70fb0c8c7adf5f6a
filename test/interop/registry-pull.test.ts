// cairn pulling from a real registry (Debian's docker-registry) that skopeo filled: OCI and Docker v2 images, a
// two-platform index, basic auth, TLS with a certificate directory; and, through small front ends, the cases a
// healthy registry does not make: a bearer token server, a lying or flaky network, 429, oversized manifests.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { sha, writeTestLayout, type TestImage } from '../kit/images.js';
import { peerOk, removeTree, requirePeers, skopeoInspect, tempDir } from '../kit/peers.js';
import { makeCerts, skopeoPush, startFront, startRegistry, type FrontAction, type FrontKit, type RegistryKit, type Seen } from '../kit/registry.js';

const ENV = { CAIRN_REGISTRY_BACKOFF_MS: '50', REGISTRY_AUTH_FILE: '' };
const INSECURE = '--tls-verify=false';
const HOST_ARCH = process.arch === 'x64' ? 'amd64' : process.arch;
const OTHER_ARCH = HOST_ARCH === 's390x' ? 'ppc64le' : 's390x';

let work: string;
let k: CliKit;
let open: RegistryKit;
let img: TestImage;
const stops: (() => Promise<void> | void)[] = [];

/** A fresh store (a test about what is stored must not find blobs an earlier test pulled). */
function freshStore(): CliKit {
  const c = cliKit('cairn-reg-store-', { ...ENV, DOCKER_CONFIG: path.join(work, 'no-docker') });
  stops.push(() => c.cleanup());
  return c;
}

/** Starts a front end and stops it at the end. */
async function front(target: string, decide: (req: Seen, n: number) => FrontAction): Promise<FrontKit> {
  const f = await startFront(target, decide);
  stops.push(() => f.stop());
  return f;
}

/** Runs cairn without blocking this process: the front ends answer from its event loop. */
async function run(c: CliKit, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return c.cairnAsync(args, env);
}

/** run(), throwing with stderr on failure; trimmed stdout. */
async function ok(c: CliKit, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await c.cairnAsync(args, env);
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

const pass: FrontAction = { pass: true };
const isBlob = (s: Seen, digest: string) => s.method === 'GET' && s.path.endsWith(`/blobs/${digest}`);
const blobGets = (f: FrontKit) => f.seen.filter((s) => s.method === 'GET' && s.path.includes('/blobs/')).map((s) => s.path.slice(s.path.lastIndexOf('/') + 1));

/** The blobs a store holds. */
function storedBlobs(c: CliKit): string[] {
  const dir = path.join(c.root, 'blobs', 'sha256');
  return existsSync(dir) ? readdirSync(dir).map((n) => `sha256:${n}`) : [];
}

/** Writes an OCI layout whose entry `multi` is an index of two images: this machine's architecture and another. */
async function writeTwoPlatformLayout(dir: string): Promise<{ host: TestImage; other: TestImage }> {
  const host = await writeTestLayout(path.join(dir, 'h'), { layers: [[{ name: 'arch', content: HOST_ARCH }]] });
  const other = await writeTestLayout(path.join(dir, 'o'), { layers: [[{ name: 'arch', content: OTHER_ARCH }]] });
  // The other image's config names its architecture: rewrite it (a new config, so a new manifest).
  const out = path.join(dir, 'multi');
  mkdirSync(path.join(out, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(path.join(out, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (b: Buffer) => {
    writeFileSync(path.join(out, 'blobs', 'sha256', sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const entries = [];
  for (const [image, arch] of [[host, HOST_ARCH], [other, OTHER_ARCH]] as const) {
    const config = JSON.parse(image.configBytes.toString());
    config.architecture = arch;
    const configBytes = Buffer.from(JSON.stringify(config));
    image.configBytes = configBytes;
    image.configDigest = sha(configBytes);
    const layers = image.layers.map((l) => ({ mediaType: l.mediaType, ...put(l.blob) }));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(configBytes) }, layers }));
    entries.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...put(manifest), platform: { os: 'linux', architecture: arch } });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
  const d = put(index);
  writeFileSync(path.join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...d, annotations: { 'org.opencontainers.image.ref.name': 'multi' } }] }));
  return { host, other };
}

let multi: { host: TestImage; other: TestImage };

beforeAll(async () => {
  requirePeers('docker-registry', 'skopeo', 'openssl');
  work = tempDir('cairn-registry-test-');
  k = freshStore();
  img = await writeTestLayout(path.join(work, 'app'), { ref: 'v1' });
  multi = await writeTwoPlatformLayout(path.join(work, 'multi'));
  open = await startRegistry();
  stops.push(() => open.stop());
  skopeoPush(`oci:${img.dir}:v1`, `docker://${open.host}/app:1`, ['--dest-tls-verify=false']);
  skopeoPush(`oci:${img.dir}:v1`, `docker://${open.host}/app-docker:1`, ['--dest-tls-verify=false', '--format', 'v2s2']);
  skopeoPush(`oci:${path.join(work, 'multi', 'multi')}:multi`, `docker://${open.host}/multi:1`, ['--dest-tls-verify=false', '--all']);
}, 60_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s();
  if (work) removeTree(work);
});

describe('pulling from an open registry', () => {
  it('pulls an OCI image skopeo pushed: same image ID, named by its reference, readable back by skopeo', () => {
    const id = k.ok(['pull', INSECURE, `docker://${open.host}/app:1`]);
    expect(id).toBe(img.configDigest.slice(7));
    const names = JSON.parse(k.ok(['images', '--json'])).flatMap((i: { names: string[] }) => i.names);
    expect(names).toContain(`${open.host}/app:1`);
    const out = path.join(work, 'back');
    k.ok(['push', `${open.host}/app:1`, `oci:${out}:x`]);
    expect(skopeoInspect(`oci:${out}:x`, '--config').rootfs.diff_ids).toEqual(img.layers.map((l) => l.diffID));
  });

  it('from docker:// makes a container; a second from uses the stored image without asking the registry', () => {
    const before = open.log().length;
    const c = k.ok(['from', INSECURE, '--name', 'web', `docker://${open.host}/app:1`]);
    expect(c).toBe('web');
    expect(JSON.parse(k.ok(['inspect', 'web'])).imageId).toBe(img.configDigest.slice(7));
    expect(open.log().slice(before)).not.toMatch(/GET \/v2\/app\//);
  });

  it('pulls a Docker v2 schema 2 image (skopeo --format v2s2) to the same image ID', () => {
    const raw = JSON.parse(peerOk('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${open.host}/app-docker:1`]));
    expect(raw.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const c = freshStore();
    expect(c.ok(['pull', INSECURE, `docker://${open.host}/app-docker:1`])).toBe(img.configDigest.slice(7));
    const manifest = JSON.parse(c.ok(['inspect', '--type', 'image', `${open.host}/app-docker:1`])).manifest;
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(img.layers.map(() => 'application/vnd.oci.image.layer.v1.tar+gzip'));
  });

  it('chooses the image of this platform from an index, or the one --platform names', () => {
    const c = freshStore();
    expect(c.ok(['pull', INSECURE, `docker://${open.host}/multi:1`])).toBe(multi.host.configDigest.slice(7));
    expect(c.ok(['pull', INSECURE, '--platform', `linux/${OTHER_ARCH}`, `docker://${open.host}/multi:1`])).toBe(multi.other.configDigest.slice(7));
    const r = c.cairn(['pull', INSECURE, '--platform', 'linux/mips64le', `docker://${open.host}/multi:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/no image for linux\/mips64le/);
    expect(r.stderr).toContain(`linux/${OTHER_ARCH}`);
  });

  it('inspect fetches the manifest and config only; a pull fetches no layer the store has', async () => {
    const f = await front(open.host, () => pass);
    const info = JSON.parse(await ok(k, ['inspect', INSECURE, `docker://${f.host}/app:1`]));
    expect(info.config.rootfs.diff_ids).toEqual(img.layers.map((l) => l.diffID));
    expect(info.digest).toMatch(/^sha256:/);
    expect(blobGets(f)).toEqual([img.configDigest]);
    // The same layers under another name (the Docker v2 copy): only the config comes over the network.
    f.seen.length = 0;
    await ok(k, ['pull', INSECURE, `docker://${f.host}/app-docker:1`]);
    expect(blobGets(f)).toEqual([img.configDigest]);
  });

  it('a pull on a pipe prints a line per layer fetched on stderr; a TTY gets bars (ProgressView)', async () => {
    const r = await run(freshStore(), ['pull', INSECURE, `docker://${open.host}/app:1`], { CAIRN_PROGRESS_AFTER: '0' });
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines.map((l) => l.slice(0, 19)).sort()).toEqual(img.layers.map((l) => l.digest.slice(0, 19)).sort());
    for (const l of lines) expect(l).toMatch(/^sha256:[0-9a-f]{12}: \S+ \S+ in [\d.]+s \(.+\/s\)$/);
  });

  it('applies the signature policy of the docker transport by scope', () => {
    const policy = path.join(work, 'policy.json');
    writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { docker: { [`${open.host}/app`]: [{ type: 'reject' }] } } }));
    const c = freshStore();
    const r = c.cairn(['pull', INSECURE, '--signature-policy', policy, `docker://${open.host}/app:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/rejected by the signature policy/);
    expect(c.ok(['pull', INSECURE, '--signature-policy', policy, `docker://${open.host}/app-docker:1`])).toBe(img.configDigest.slice(7));
  });

  it('says what is missing: an unknown repository or tag is one not-found line naming the reference', () => {
    const r = k.cairn(['pull', INSECURE, `docker://${open.host}/nope:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')[0]).toMatch(new RegExp(`^cairn pull: image docker://${open.host}/nope:1 not found`));
    const t = k.cairn(['from', INSECURE, `docker://${open.host}/app:404`]);
    expect(t.status).toBe(125);
    expect(t.stderr).toContain(`docker://${open.host}/app:404 not found`);
  });
});

describe('credentials', () => {
  let reg: RegistryKit;
  beforeAll(async () => {
    reg = await startRegistry({ basic: { user: 'alice', pass: 's3cret' } });
    stops.push(() => reg.stop());
    skopeoPush(`oci:${img.dir}:v1`, `docker://${reg.host}/private/app:1`, ['--dest-tls-verify=false', '--dest-creds', 'alice:s3cret']);
  });

  it('refuses without credentials, or with wrong ones, saying what to give', () => {
    const c = freshStore();
    const r = c.cairn(['pull', INSECURE, `docker://${reg.host}/private/app:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/401 unauthorized, no credentials given/);
    expect(r.stderr).toContain('--creds');
    const w = c.cairn(['pull', INSECURE, '--creds', 'alice:wrong', `docker://${reg.host}/private/app:1`]);
    expect(w.status).toBe(125);
    expect(w.stderr).toMatch(/credentials not accepted/);
    expect(storedBlobs(c)).toEqual([]);
  });

  it('pulls with --creds, with --authfile, and with a docker config.json', () => {
    expect(freshStore().ok(['pull', INSECURE, '--creds', 'alice:s3cret', `docker://${reg.host}/private/app:1`])).toBe(img.configDigest.slice(7));
    const authfile = path.join(work, 'auth.json');
    writeFileSync(authfile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    expect(freshStore().ok(['pull', INSECURE, '--authfile', authfile, `docker://${reg.host}/private/app:1`])).toBe(img.configDigest.slice(7));
    const docker = path.join(work, 'docker-config');
    mkdirSync(docker);
    writeFileSync(path.join(docker, 'config.json'), JSON.stringify({ auths: { [`http://${reg.host}/private`]: { username: 'alice', password: 's3cret' } } }));
    expect(freshStore().ok(['inspect', INSECURE, `docker://${reg.host}/private/app:1`], { env: { DOCKER_CONFIG: docker } })).toContain(img.layers[0].diffID);    // copy-image takes the same flags: straight from the registry into a layout, which skopeo reads back.
    const layout = path.join(work, 'copied-layout');
    freshStore().ok(['copy-image', INSECURE, '--creds', 'alice:s3cret', `docker://${reg.host}/private/app:1`, `oci:${layout}:copied`]);
    expect(skopeoInspect(`oci:${layout}:copied`, '--config').rootfs.diff_ids[0]).toBe(img.layers[0].diffID);
  });

  it('gets a bearer token from the realm a challenge names, once, and uses it for every request', async () => {
    let self = '';
    const tokens: string[] = [];
    const cdn = await front(open.host, () => pass);
    const f = await front(open.host, (s) => {
      if (s.path.startsWith('/token')) {
        const q = new URL(s.path, 'http://x').searchParams;
        if (s.headers.authorization !== 'Basic ' + Buffer.from('bob:pw').toString('base64')) return { answer: { status: 401 } };
        expect(q.get('service')).toBe('cairn-test');
        expect(q.get('scope')).toBe('repository:app:pull');
        tokens.push('T1');
        return { answer: { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'T1', expires_in: 300 }) } };
      }
      if (s.headers.authorization !== 'Bearer T1') {
        const scope = s.path === '/v2/' ? '' : ',scope="repository:app:pull"';
        return { answer: { status: 401, headers: { 'www-authenticate': `Bearer realm="http://${self}/token",service="cairn-test"${scope}` }, body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}' } };
      }
      // Layers are served by a "CDN" the registry redirects to: the token must not follow them there.
      if (s.path.includes('/blobs/') && !s.path.endsWith(img.configDigest)) return { answer: { status: 307, headers: { location: `http://${cdn.host}${s.path}` } } };
      return pass;
    });
    self = f.host;
    const c = freshStore();
    const anon = await run(c, ['pull', INSECURE, `docker://${f.host}/app:1`]);
    expect(anon.status).toBe(125);
    expect(anon.stderr).toMatch(/token server .* refused an anonymous token/);
    expect(await ok(c, ['pull', INSECURE, '--creds', 'bob:pw', `docker://${f.host}/app:1`])).toBe(img.configDigest.slice(7));
    expect(tokens).toEqual(['T1']);
    const served = f.seen.filter((s) => s.path.includes('/blobs/') && s.headers.authorization === 'Bearer T1');
    expect(served.length).toBe(1 + img.layers.length);
    expect(blobGets(cdn).sort()).toEqual(img.layers.map((l) => l.digest).sort());
    expect(cdn.seen.map((s) => s.headers.authorization)).toEqual(img.layers.map(() => undefined));
  });
});

describe('TLS', () => {
  let reg: RegistryKit;
  let certDir: string;
  beforeAll(async () => {
    const certs = makeCerts(path.join(work, 'certs'));
    certDir = path.join(work, 'ca-only');
    mkdirSync(certDir);
    writeFileSync(path.join(certDir, 'ca.crt'), readFileSync(certs.caCert));
    reg = await startRegistry({ tls: certs });
    stops.push(() => reg.stop());
    skopeoPush(`oci:${img.dir}:v1`, `docker://${reg.host}/app:1`, ['--dest-cert-dir', certDir]);
  });

  it('refuses a certificate it cannot verify, and pulls with --cert-dir or --tls-verify=false', () => {
    const c = freshStore();
    const r = c.cairn(['pull', `docker://${reg.host}/app:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/cannot verify the TLS certificate of 127\.0\.0\.1/);
    expect(r.stderr).toContain('--cert-dir');
    expect(c.ok(['pull', '--cert-dir', certDir, `docker://${reg.host}/app:1`])).toBe(img.configDigest.slice(7));
    expect(freshStore().ok(['inspect', INSECURE, `docker://${reg.host}/app:1`])).toContain(img.layers[0].diffID);
  });

  it('trusts the CAs of NODE_EXTRA_CA_CERTS, also for verbs the cairn command starts without them (login)', () => {
    const ca = path.join(certDir, 'ca.crt');
    const authfile = path.join(work, 'tls-auth.json');
    const c = freshStore();
    // An open registry accepts any credentials: the login only proves the TLS connection is trusted.
    const refused = c.cairn(['login', '--authfile', authfile, '--username', 'u', '--password', 'p', reg.host]);
    expect(refused.status).toBe(125);
    expect(refused.stderr).toMatch(/cannot verify the TLS certificate/);
    expect(c.cairn(['login', '--authfile', authfile, '--username', 'u', '--password', 'p', reg.host], { env: { NODE_EXTRA_CA_CERTS: ca } }).status).toBe(0);
    expect(c.ok(['pull', `docker://${reg.host}/app:1`], { env: { NODE_EXTRA_CA_CERTS: ca } })).toBe(img.configDigest.slice(7));
  });

  it('trusts the CAs of NODE_EXTRA_CA_CERTS for a download too (add of an https URL), which the cairn command hands over lazily', () => {
    const ca = path.join(certDir, 'ca.crt');
    const c = freshStore();
    const ctr = c.ok(['from', 'scratch']);
    const url = `https://${reg.host}/v2/app/blobs/${img.configDigest}`;
    const refused = c.cairn(['add', ctr, url, '/config.json']);
    expect(refused.status).toBe(125);
    c.ok(['add', ctr, url, '/config.json'], { env: { NODE_EXTRA_CA_CERTS: ca } });
    expect(c.ok(['diff', ctr])).toMatch(/config\.json/);
  });

  it('a plain-HTTP registry needs --tls-verify=false', () => {
    const r = freshStore().cairn(['pull', `docker://${open.host}/app:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/does not speak TLS/);
  });
});

describe('a registry that lies or fails', () => {
  const layer = () => img.layers[1].digest;

  it('a blob whose bytes do not match its digest is refused, and nothing is stored', async () => {
    const f = await front(open.host, (s) => (isBlob(s, layer()) ? { pass: true, mutate: (b) => Buffer.from(b.map((x, i) => (i === 10 ? x ^ 1 : x))) } : pass));
    const c = freshStore();
    const r = await run(c, ['pull', INSECURE, `docker://${f.host}/app:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain(`registry sent bytes that do not match ${layer()}`);
    expect(JSON.parse(c.ok(['images', '--json']))).toEqual([]);
    expect(storedBlobs(c)).not.toContain(layer());
  });

  it('a manifest that does not match Docker-Content-Digest, one over 4 MiB, and a schema 1 manifest are refused', async () => {
    const big = 'x'.repeat(5 << 20);
    const f = await front(open.host, (s) => {
      if (s.path.endsWith('/manifests/1') && s.path.startsWith('/v2/app/')) return { pass: true, mutate: (b) => Buffer.from(b.toString().replace('"schemaVersion":2', '"schemaVersion": 2')) };
      if (s.path.endsWith('/manifests/big')) return { answer: { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(big.length) }, body: big } };
      if (s.path.endsWith('/manifests/bigger')) return { answer: { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: big } };
      if (s.path.endsWith('/manifests/old')) return { answer: { status: 200, headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }, body: '{"schemaVersion":1,"name":"app","tag":"old","fsLayers":[]}' } };
      return pass;
    });
    const c = freshStore();
    const lie = await run(c, ['pull', INSECURE, `docker://${f.host}/app:1`]);
    expect(lie.status).toBe(125);
    expect(lie.stderr).toMatch(/registry sent bytes that do not match sha256:[0-9a-f]{64} \(the manifest of image/);
    const large = await run(c, ['inspect', INSECURE, `docker://${f.host}/app:big`]);
    expect(large.status).toBe(125);
    expect(large.stderr).toMatch(/is 5242880 bytes, more than cairn accepts \(4194304 bytes\)/);
    const chunked = await run(c, ['inspect', INSECURE, `docker://${f.host}/app:bigger`]);
    expect(chunked.status).toBe(125);
    expect(chunked.stderr).toMatch(/is larger than cairn accepts \(4194304 bytes\)/);
    const old = await run(c, ['inspect', INSECURE, `docker://${f.host}/app:old`]);
    expect(old.status).toBe(125);
    expect(old.stderr).toMatch(/unsupported media type application\/vnd\.docker\.distribution\.manifest\.v1\+prettyjws/);
    expect(old.stderr).toMatch(/schema 1/);
    expect(storedBlobs(c)).toEqual([]);
  });

  it('a blob cut off mid-way is resumed with Range; a 200 to the ranged request starts over cleanly', async () => {
    let cuts = 0;
    const f = await front(open.host, (s) => {
      if (!isBlob(s, layer())) return pass;
      if (cuts++ === 0) return { pass: true, cutAfter: 20 };
      return pass;
    });
    const c = freshStore();
    expect(await ok(c, ['pull', INSECURE, `docker://${f.host}/app:1`])).toBe(img.configDigest.slice(7));
    const tries = f.seen.filter((s) => isBlob(s, layer()));
    expect(tries.map((s) => s.headers.range)).toEqual([undefined, 'bytes=20-']);

    // The same cut, and a registry that then ignores Range (answers 200 with the whole blob).
    let cuts2 = 0;
    const g = await front(open.host, (s) => {
      if (!isBlob(s, layer())) return pass;
      delete s.headers.range;
      return cuts2++ === 0 ? { pass: true, cutAfter: 20 } : pass;
    });
    const d = freshStore();
    expect(await ok(d, ['pull', INSECURE, `docker://${g.host}/app:1`])).toBe(img.configDigest.slice(7));
    expect(g.seen.filter((s) => isBlob(s, layer())).length).toBe(2);
  });

  it('a blob cut off every time fails as truncated after the retries, storing nothing', async () => {
    const f = await front(open.host, (s) => (isBlob(s, layer()) ? { pass: true, cutAfter: 5 } : pass));
    const c = freshStore();
    const r = await run(c, ['pull', INSECURE, `docker://${f.host}/app:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(new RegExp(`${layer()} is truncated: the registry sent \\d+ of ${img.layers[1].size} bytes in 5 tries`));
    expect(storedBlobs(c)).not.toContain(layer());
    expect(JSON.parse(c.ok(['images', '--json']))).toEqual([]);
  });

  it('403 is one line naming the reference and what the registry said, asked once', async () => {
    const denied = '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}';
    const f = await front(open.host, (s) => (s.path.includes('/manifests/') ? { answer: { status: 403, headers: { 'content-type': 'application/json' }, body: denied } } : pass));
    const c = freshStore();
    const r = await run(c, ['pull', INSECURE, `docker://${f.host}/app:1`]);
    expect(r.status).toBe(125);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toContain(`docker://${f.host}/app:1`);
    expect(lines[0]).toMatch(/denied/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(f.seen.filter((s) => s.path.includes('/manifests/')).length).toBe(1);
    expect(storedBlobs(c)).toEqual([]);
  });

  it('a registry that keeps answering 503 is retried with backoff, then one clear line; nothing stored', async () => {
    const f = await front(open.host, (s) => (isBlob(s, layer()) ? { answer: { status: 503 } } : pass));
    const c = freshStore();
    const r = await run(c, ['pull', INSECURE, `docker://${f.host}/app:1`]);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/the registry answered HTTP 503$/);
    expect(f.seen.filter((s) => isBlob(s, layer())).length).toBe(5);
    expect(storedBlobs(c)).not.toContain(layer());
    expect(JSON.parse(c.ok(['images', '--json']))).toEqual([]);
  });

  it('a stalled connection times out and is retried, then one clear line; nothing stored', async () => {
    const f = await front(open.host, (s) => (isBlob(s, layer()) ? { stall: { status: 200, headers: { 'content-length': String(img.layers[1].size) } } } : pass));
    const c = freshStore();
    const r = await run(c, ['pull', INSECURE, `docker://${f.host}/app:1`], { CAIRN_REGISTRY_TIMEOUT_MS: '300' });
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/the connection stalled: no data for 0.3 s/);
    expect(f.seen.filter((s) => isBlob(s, layer())).length).toBe(5);
    expect(storedBlobs(c)).not.toContain(layer());

    // A manifest whose answer stalls once is asked for again.
    let stalls = 0;
    const g = await front(open.host, (s) => (s.path.includes('/manifests/') && stalls++ === 0 ? { stall: { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': '600' } } } : pass));
    expect(await ok(freshStore(), ['pull', INSECURE, `docker://${g.host}/app:1`], { CAIRN_REGISTRY_TIMEOUT_MS: '300' })).toBe(img.configDigest.slice(7));
    expect(g.seen.filter((s) => s.path.includes('/manifests/')).length).toBe(2);
  });

  it('a layer of a media type cairn cannot read is refused before any blob is fetched', async () => {
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.configDigest, size: img.configBytes.length },
      layers: img.layers.map((l, i) => ({ mediaType: i === 1 ? 'application/vnd.example.squashfs' : l.mediaType, digest: l.digest, size: l.size })),
    });
    const f = await front(open.host, (s) => (s.path.endsWith('/manifests/odd') ? { answer: { status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest } } : pass));
    const c = freshStore();
    const r = await run(c, ['pull', INSECURE, `docker://${f.host}/app:odd`]);
    expect(r.status).toBe(125);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/unsupported media type application\/vnd\.example\.squashfs/);
    expect(blobGets(f).filter((d) => img.layers.some((l) => l.digest === d))).toEqual([]);
    expect(storedBlobs(c)).toEqual([]);
  });

  it('429 with Retry-After is waited out and retried', async () => {
    let n = 0;
    const f = await front(open.host, (s) => (s.path.includes('/manifests/') && n++ === 0 ? { answer: { status: 429, headers: { 'retry-after': '1' } } } : pass));
    const t0 = Date.now();
    expect((await ok(freshStore(), ['inspect', INSECURE, `docker://${f.host}/app:1`]))).toContain(img.layers[0].diffID);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(f.seen.filter((s) => s.path.includes('/manifests/')).length).toBe(2);
  });
});
