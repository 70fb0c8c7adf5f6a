// Registry signatures against a real registry (Debian's docker-registry): OpenPGP simple signatures made by
// `cairn push --sign-by` (gpg) and stored in the lookaside registries.d names, judged by skopeo's policy check;
// skopeo's own --sign-by signatures judged by cairn's; sigstore signatures of `cairn push --sign` checked by
// openssl over bytes fetched with plain HTTP (Debian builds skopeo with sigstore disabled, so it cannot judge
// them); and cairn's refusals (exit 125, one line, nothing stored).
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { peerOk, removeTree, requirePeers, runPeer, tempDir } from '../kit/peers.js';
import { makeCerts, startRegistry, type RegistryKit } from '../kit/registry.js';
import { gpgHome, opensslVerifies, plainGet, signedBy, sigstoreSigned, writePolicy, writeRegistriesD, type GpgHome } from '../kit/signing.js';
import { tinyRootfsTar } from '../kit/tiny.js';

const INSECURE = '--tls-verify=false';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

let work: string;
let k: CliKit;
let reg: RegistryKit;
let gpg: GpgHome;
let env: NodeJS.ProcessEnv;
let fprA: string;
let fprB: string;
let keyA: string;
let keyB: string;
let regd: string;
let lookaside: string;
const stops: (() => Promise<void> | void)[] = [];

/** cairn with the test's environment (GNUPGHOME, HOME); throws with stderr on failure; trimmed stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await k.cairnAsync(args, env);
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The registry's log once it has stopped growing (its access lines come a little after the answers). */
async function settledLog(): Promise<string> {
  for (let last = -1; ; ) {
    const now = reg.log();
    if (now.length === last) return now;
    last = now.length;
    await new Promise((r) => setTimeout(r, 400));
  }
}

/** The images in cairn's store, as `images --json` lists them. */
async function storedIds(): Promise<string[]> {
  return (JSON.parse(await ok(['images', '--json'])) as { id: string }[]).map((i) => i.id).sort();
}

/** A pull that the policy must refuse: exit 125, one line naming the image and the reason, nothing stored. */
async function refused(ref: string, policy: string, reason: RegExp): Promise<string> {
  const before = await storedIds();
  const r = await k.cairnAsync(['pull', INSECURE, '--signature-policy', policy, ref], env);
  expect(r.status, r.stderr).toBe(125);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(/^cairn pull: docker:\/\//);
  expect(lines[0]).toMatch(reason);
  expect(await storedIds()).toEqual(before);
  return r.stderr;
}

/** skopeo copy of a registry image into a fresh layout, judged by policy with the test's registries.d. */
function skopeoCopy(ref: string, policy: string) {
  // --remove-signatures: an oci: layout cannot hold them; the source's are still judged by the policy.
  return runPeer('skopeo', ['copy', '--quiet', '--remove-signatures', '--src-tls-verify=false', '--policy', policy, '--registries.d', regd, ref, `oci:${tempDir('cairn-sig-out-')}:x`], { env: gpg.env });
}

beforeAll(async () => {
  requirePeers('docker-registry', 'skopeo', 'gpg', 'openssl');
  work = tempDir('cairn-registry-sign-');
  gpg = gpgHome();
  stops.push(() => gpg.close());
  fprA = gpg.newKey('Alice');
  fprB = gpg.newKey('Bob');
  keyA = gpg.exportKey(fprA, path.join(work, 'alice.gpg'));
  keyB = gpg.exportKey(fprB, path.join(work, 'bob.gpg'));
  reg = await startRegistry();
  stops.push(() => reg.stop());
  lookaside = path.join(work, 'lookaside');
  regd = writeRegistriesD(path.join(work, 'registries.d'), reg.host, lookaside);
  // cairn finds registries.d in ~/.config/containers/registries.d, as containers/image does; its key is there too.
  const home = path.join(work, 'home');
  mkdirSync(path.join(home, '.config/containers'), { recursive: true });
  cpSync(regd, path.join(home, '.config/containers/registries.d'), { recursive: true });
  env = { ...gpg.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), REGISTRY_AUTH_FILE: '', DOCKER_CONFIG: path.join(work, 'no-docker') };
  k = cliKit('cairn-reg-sign-', env);
  stops.push(() => k.cleanup());
  const c = await ok(['from', `tarball:${tinyRootfsTar()}`]);
  await ok(['commit', c, 'localhost/signed:1']);
  await ok(['config', '--label', 'second=1', c]);
  await ok(['commit', c, 'localhost/signed:2']);
}, 120_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s();
  if (work) removeTree(work);
});

describe('OpenPGP simple signatures (signedBy)', () => {
  let digest: string;
  let policyA: string;
  let policyB: string;

  beforeAll(async () => {
    digest = await ok(['push', INSECURE, '--sign-by', fprA, '--registries.d', regd, 'localhost/signed:1', `docker://${reg.host}/gpg:1`]);
    await ok(['push', INSECURE, 'localhost/signed:2', `docker://${reg.host}/plain:1`]);
    policyA = writePolicy(path.join(work, 'policy-a.json'), { [reg.host]: [signedBy(keyA)] });
    policyB = writePolicy(path.join(work, 'policy-b.json'), { [reg.host]: [signedBy(keyB)] });
  }, 60_000);

  it('stores the signature where registries.d says: REPO@sha256=HEX/signature-1, a gpg-signed payload for the digest and reference', () => {
    const file = path.join(lookaside, `gpg@sha256=${digest.slice(7)}`, 'signature-1');
    expect(existsSync(file)).toBe(true);
    // gpg itself (with Alice's key) opens it: the payload inside names the digest and the reference.
    const payload = JSON.parse(peerOk('gpg', ['--batch', '--decrypt', file], { env: gpg.env }));
    expect(payload.critical).toEqual({ type: 'atomic container signature', image: { 'docker-manifest-digest': digest }, identity: { 'docker-reference': `${reg.host}/gpg:1` } });
    expect(payload.optional.creator).toBe('cairn');
  });

  it('skopeo accepts it under a policy requiring Alice\'s key', () => {
    const r = skopeoCopy(`docker://${reg.host}/gpg:1`, policyA);
    expect(r.status, r.stderr).toBe(0);
  });

  it('skopeo refuses it under a policy requiring Bob\'s key', () => {
    const r = skopeoCopy(`docker://${reg.host}/gpg:1`, policyB);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/signature|rejected|not allowed/i);
  });

  it('cairn refuses it under Bob\'s key, before fetching a layer, and stores nothing', async () => {
    const mark = (await settledLog()).length;
    const err = await refused(`docker://${reg.host}/gpg:1`, policyB, /signedBy: none of its 1 OpenPGP signature\(s\) is accepted/);
    expect(err).toMatch(/signed by key [0-9A-F]{16}, not one of the policy's keys/);
    // The manifest and the config were read; the one layer was not.
    const seen = (await settledLog()).slice(mark);
    expect(seen.match(/GET \/v2\/gpg\/blobs\//g), seen).toHaveLength(1);
  });

  it('cairn refuses an unsigned image under a policy requiring a signature', async () => {
    const err = await refused(`docker://${reg.host}/plain:1`, policyA, /signedBy: no OpenPGP signature found/);
    expect(err).toContain('signature policy');
  });

  it('cairn refuses a signature moved to another image (it names another digest)', async () => {
    const moved = await ok(['push', INSECURE, 'localhost/signed:2', `docker://${reg.host}/moved:1`]);
    const dir = path.join(lookaside, `moved@sha256=${moved.slice(7)}`);
    mkdirSync(dir, { recursive: true });
    cpSync(path.join(lookaside, `gpg@sha256=${digest.slice(7)}`, 'signature-1'), path.join(dir, 'signature-1'));
    await refused(`docker://${reg.host}/moved:1`, policyA, /signs sha256:[0-9a-f]{64}, not the manifest/);
  });

  it('cairn refuses a signature whose bytes were changed', async () => {
    const other = await ok(['push', INSECURE, '--sign-by', fprA, '--registries.d', regd, 'localhost/signed:2', `docker://${reg.host}/tampered:1`]);
    const file = path.join(lookaside, `tampered@sha256=${other.slice(7)}`, 'signature-1');
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(file, bytes);
    await refused(`docker://${reg.host}/tampered:1`, policyA, /OpenPGP signature\(s\) is accepted/);
  });

  it('cairn refuses a signature for another reference under the default signedIdentity, and accepts it under matchRepository', async () => {
    // Signed for gpg:1; pulled as gpg:copy (the same manifest).
    const sigDir = path.join(lookaside, `gpg@sha256=${digest.slice(7)}`);
    expect(readdirSync(sigDir)).toEqual(['signature-1']);
    await ok(['push', INSECURE, 'localhost/signed:1', `docker://${reg.host}/gpg:copy`]);
    await refused(`docker://${reg.host}/gpg:copy`, policyA, /which signedIdentity matchRepoDigestOrExact does not accept/);
    const loose = writePolicy(path.join(work, 'policy-repo.json'), { [reg.host]: [signedBy(keyA, { type: 'matchRepository' })] });
    expect(await ok(['pull', INSECURE, '--signature-policy', loose, `docker://${reg.host}/gpg:copy`])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('cairn accepts it under Alice\'s key (--policy spelling)', async () => {
    expect(await ok(['pull', INSECURE, '--policy', policyA, `docker://${reg.host}/gpg:1`])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('cairn accepts what skopeo --sign-by signed', async () => {
    const layout = path.join(work, 'layout');
    await ok(['push', 'localhost/signed:2', `oci:${layout}:x`]);
    peerOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--registries.d', regd, '--sign-by', fprA, `oci:${layout}:x`, `docker://${reg.host}/by-skopeo:1`], { env: gpg.env });
    expect(readdirSync(lookaside).some((d) => d.startsWith('by-skopeo@sha256='))).toBe(true);
    expect(await ok(['pull', INSECURE, '--signature-policy', policyA, `docker://${reg.host}/by-skopeo:1`])).toMatch(/^[0-9a-f]{64}$/);
    await refused(`docker://${reg.host}/by-skopeo:1`, policyB, /signedBy: none of its/);
  });

  it('reads signatures from an https lookaside server whose CA is in NODE_EXTRA_CA_CERTS', async () => {
    const certs = makeCerts(path.join(work, 'lookaside-tls'));
    const served: string[] = [];
    const server = https.createServer({ cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) }, (req, res) => {
      served.push(req.url ?? '');
      const file = path.join(lookaside, decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname));
      if (!file.startsWith(lookaside + path.sep) || !existsSync(file)) return res.writeHead(404).end();
      res.writeHead(200).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const regdHttps = path.join(work, 'registries.d-https');
      mkdirSync(regdHttps, { recursive: true });
      writeFileSync(path.join(regdHttps, 'test.yaml'), `docker:\n  ${reg.host}:\n    lookaside: https://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
      const args = ['pull', INSECURE, '--registries.d', regdHttps, '--signature-policy', policyA, `docker://${reg.host}/gpg:1`];
      // Without the CA the server is not trusted; with it (handed to the registry client by the cairn command), the signature is read.
      const untrusted = await k.cairnAsync(args, env);
      expect(untrusted.status).toBe(125);
      expect(await k.cairnAsync(args, { ...env, NODE_EXTRA_CA_CERTS: certs.caCert })).toMatchObject({ status: 0 });
      expect(served).toContain(`/gpg@sha256=${digest.slice(7)}/signature-1`);
    } finally {
      server.close();
    }
  });

  it('a policy that rejects the registry refuses before asking it for anything', async () => {
    const reject = writePolicy(path.join(work, 'policy-reject.json'), { [`${reg.host}/gpg`]: [{ type: 'reject' }] });
    const mark = (await settledLog()).length;
    await refused(`docker://${reg.host}/gpg:1`, reject, /rejected by the signature policy/);
    expect((await settledLog()).slice(mark)).not.toMatch(/\/v2\/gpg\//);
  });
});

describe('sigstore signatures (sigstoreSigned)', () => {
  let digest: string;
  let cairnPub: string;
  let otherKey: string;
  let otherPub: string;

  /** The .sig manifest of a digest, read with plain HTTP. */
  async function sigManifest(repo: string, d: string): Promise<{ layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] }> {
    const r = await plainGet(reg.host, `/v2/${repo}/manifests/sha256-${d.slice(7)}.sig`, OCI_MANIFEST);
    expect(r.status).toBe(200);
    return JSON.parse(r.body.toString());
  }

  beforeAll(async () => {
    digest = await ok(['push', INSECURE, '--sign', 'localhost/signed:1', `docker://${reg.host}/cosign:1`]);
    cairnPub = path.join(work, 'cairn.pub.pem');
    const shown = await k.cairnAsync(['key', 'show'], env);
    writeFileSync(cairnPub, shown.stdout);
    otherKey = path.join(work, 'other.pem');
    otherPub = path.join(work, 'other.pub.pem');
    peerOk('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', otherKey]);
    peerOk('openssl', ['pkey', '-in', otherKey, '-pubout', '-out', otherPub]);
  }, 60_000);

  it('attaches a cosign-layout signature that openssl verifies with the cairn key (pure Ed25519 over the payload)', async () => {
    const m = await sigManifest('cosign', digest);
    expect(m.layers).toHaveLength(1);
    const [layer] = m.layers;
    expect(layer.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    const blob = await plainGet(reg.host, `/v2/cosign/blobs/${layer.digest}`);
    expect(blob.status).toBe(200);
    expect(JSON.parse(blob.body.toString())).toEqual({
      critical: { identity: { 'docker-reference': `${reg.host}/cosign:1` }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
      optional: null,
    });
    const payload = path.join(work, 'payload.json');
    const sig = path.join(work, 'payload.sig');
    writeFileSync(payload, blob.body);
    writeFileSync(sig, Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'], 'base64'));
    expect(opensslVerifies(cairnPub, payload, sig)).toBe(true);
    expect(opensslVerifies(otherPub, payload, sig)).toBe(false);
    writeFileSync(payload, Buffer.concat([blob.body, Buffer.from('\n')]));
    expect(opensslVerifies(cairnPub, payload, sig)).toBe(false);
  });

  it('a second signature (--sign-key) is added to the .sig tag; the first stays', async () => {
    expect(await ok(['push', INSECURE, '--sign-key', otherKey, 'localhost/signed:1', `docker://${reg.host}/cosign:1`])).toBe(digest);
    const m = await sigManifest('cosign', digest);
    expect(m.layers).toHaveLength(2);
    expect(new Set(m.layers.map((l) => l.annotations['dev.cosignproject.cosign/signature'])).size).toBe(2);
  });

  it('cairn accepts it under a policy naming the cairn key, and under one naming the other key', async () => {
    const mine = writePolicy(path.join(work, 'sigstore-mine.json'), { [reg.host]: [sigstoreSigned(cairnPub)] });
    const other = writePolicy(path.join(work, 'sigstore-other.json'), { [reg.host]: [sigstoreSigned(otherPub)] });
    expect(await ok(['pull', INSECURE, '--signature-policy', mine, `docker://${reg.host}/cosign:1`])).toMatch(/^[0-9a-f]{64}$/);
    expect(await ok(['pull', INSECURE, '--signature-policy', other, `docker://${reg.host}/cosign:1`])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('copy-image --sign signs what it writes to a registry, as push does', async () => {
    const copied = await ok(['copy-image', INSECURE, '--sign', `docker://${reg.host}/cosign:1`, `docker://${reg.host}/copied:1`]);
    expect(copied).toBe('');
    const m = await sigManifest('copied', digest);
    expect(m.layers).toHaveLength(1);
    const mine = writePolicy(path.join(work, 'sigstore-copied.json'), { [reg.host]: [sigstoreSigned(cairnPub)] });
    expect(await ok(['pull', INSECURE, '--signature-policy', mine, `docker://${reg.host}/copied:1`])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('cairn refuses it under a key that did not sign it, and an unsigned image', async () => {
    const stranger = path.join(work, 'stranger.pem');
    const strangerPub = path.join(work, 'stranger.pub.pem');
    peerOk('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', stranger]);
    peerOk('openssl', ['pkey', '-in', stranger, '-pubout', '-out', strangerPub]);
    const p = writePolicy(path.join(work, 'sigstore-stranger.json'), { [reg.host]: [sigstoreSigned(strangerPub)] });
    await refused(`docker://${reg.host}/cosign:1`, p, /sigstoreSigned: none of its 2 sigstore signature\(s\) is accepted/);
    await ok(['push', INSECURE, 'localhost/signed:2', `docker://${reg.host}/unsigned:1`]);
    const mine = writePolicy(path.join(work, 'sigstore-mine2.json'), { [reg.host]: [sigstoreSigned(cairnPub)] });
    await refused(`docker://${reg.host}/unsigned:1`, mine, /sigstoreSigned: no sigstore signature found/);
  });

  it('verifies ECDSA P-256 signatures, as cosign keys are', async () => {
    const ec = path.join(work, 'ec.pem');
    const ecPub = path.join(work, 'ec.pub.pem');
    peerOk('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ec]);
    peerOk('openssl', ['pkey', '-in', ec, '-pubout', '-out', ecPub]);
    await ok(['push', INSECURE, '--sign-key', ec, 'localhost/signed:2', `docker://${reg.host}/ecdsa:1`]);
    const p = writePolicy(path.join(work, 'sigstore-ec.json'), { [reg.host]: [sigstoreSigned(ecPub)] });
    expect(await ok(['pull', INSECURE, '--signature-policy', p, `docker://${reg.host}/ecdsa:1`])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('needs both kinds when the policy asks for both', async () => {
    const both = writePolicy(path.join(work, 'both.json'), { [reg.host]: [signedBy(keyA), sigstoreSigned(cairnPub)] });
    await refused(`docker://${reg.host}/cosign:1`, both, /signedBy: no OpenPGP signature found/);
    await ok(['push', INSECURE, '--sign', '--sign-by', fprA, '--registries.d', regd, 'localhost/signed:2', `docker://${reg.host}/both:1`]);
    expect(await ok(['pull', INSECURE, '--signature-policy', both, `docker://${reg.host}/both:1`])).toMatch(/^[0-9a-f]{64}$/);
  });
});
