// The signature policy through the CLI: a flat image whose trailer was cut off, `verify` of unsigned files,
// policy files in their places and by --signature-policy / CAIRN_SIGNATURE_POLICY, exec's signature rule.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit, type CliResult } from '../../kit/cli.js';
import { flatFile, installLocalKey, testKey } from '../../kit/flat.js';
import { tmp } from '../../kit/bali.js';
import { writeTestLayout } from '../../kit/images.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

const CONFIG = { architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh', '-c', 'echo embedded'], Env: ['PATH=/bin', 'FROM_CONFIG=1'] } };

let k: CliKit;
let dir: string;
let cfg: string;
let A: ReturnType<typeof testKey>;
let B: ReturnType<typeof testKey>;
const f: Record<string, string> = {};
let layout: string;

beforeAll(async () => {
  dir = tmp('cairn-policy-cli-');
  cfg = path.join(dir, 'config');
  A = testKey(dir, 'a');
  B = testKey(dir, 'b');
  installLocalKey(cfg, A); // A is this user's key: trusted; B is not
  k = cliKit('cairn-policy-cli-', { XDG_CONFIG_HOME: cfg, CAIRN_SIGNATURE_POLICY: '' });
  f.signed = await flatFile(path.join(dir, 'signed.tar.gz'), { key: A, config: CONFIG });
  f.byB = await flatFile(path.join(dir, 'by-b.tar.gz'), { key: B, config: CONFIG });
  // The same signed image with its 80-byte trailer cut off: an intact tar, an intact config, no signature.
  const raw = readFileSync(await flatFile(path.join(dir, 'signed.tar'), { key: A, config: CONFIG, gzip: false }));
  writeFileSync((f.cut = path.join(dir, 'cut.tar.gz')), gzipSync(raw.subarray(0, raw.length - 80)));
  writeFileSync((f.cutPlain = path.join(dir, 'cut.tar')), raw.subarray(0, raw.length - 80));
  f.plain = tinyRootfsTar();
  layout = path.join(dir, 'layout');
  await writeTestLayout(layout, { ref: 'v1' });
});
afterAll(() => k.cleanup());

/** Asserts a failure: exit 125, nothing on stdout, one error line (and its hint). */
function fails(r: CliResult, line: RegExp): void {
  expect(r.stderr.trimEnd().split('\n')[0]).toMatch(line);
  expect(r.status).toBe(125);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatch(/^ {2}hint: \S/);
}

/** Writes a policy file; its path. */
function policy(name: string, v: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v));
  return p;
}

const images = () => k.ok(['images', '--json']);
const configOf = (c: string) => JSON.parse(k.ok(['inspect', c])).config.config;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('a flat image whose signature trailer was cut off (no policy file)', () => {
  it('the signed original gives its embedded config', () => {
    const r = k.cairn(['from', `tarball:${f.signed}`]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(configOf(r.stdout.trim()).Cmd).toEqual(CONFIG.config.Cmd);
  });

  it.each([
    ['gzip', 'cut'],
    ['plain tar', 'cutPlain'],
  ])('cut (%s): read as a plain root filesystem, its embedded config ignored, with a warning saying it is not signed', (_kind, name) => {
    const r = k.cairn(['from', `tarball:${f[name]}`]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^cairn: warning: tarball ${esc(f[name])} is not signed: its \\.cairn/config\\.json is ignored and the file is read as a plain root filesystem`));
    const c = configOf(r.stdout.trim());
    expect(c.Cmd).toBeUndefined();
    expect(c.Env).not.toContain('FROM_CONFIG=1');
  });

  it.each([
    ['the cut gzip file', 'cut'],
    ['the cut plain tar', 'cutPlain'],
    ['a plain rootfs tarball', 'plain'],
  ])('cairn verify reports %s as unsigned, never as trusted (exit 125)', (_what, name) => {
    fails(k.cairn(['verify', f[name]]), new RegExp(`^cairn verify: ${esc(f[name])}: unsigned$`));
    fails(k.cairn(['verify', '--json', f[name]]), /: unsigned$/);
  });

  it('a plain unsigned rootfs tarball (no embedded config) is read as before, without a warning', () => {
    const r = k.cairn(['from', `tarball:${f.plain}`]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('policy files', () => {
  it('the user\'s policy.json applies: requiring a signature refuses the cut file, and the store is unchanged', () => {
    const home = path.join(dir, 'strict-config');
    installLocalKey(home, A);
    writeFileSync(path.join(home, 'cairn', 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { tarball: { '': [{ type: 'cairnSigned' }] } } }));
    const before = images();
    const env = { XDG_CONFIG_HOME: home };
    fails(
      k.cairn(['from', `tarball:${f.cut}`], { env }),
      new RegExp(`^cairn from: tarball ${esc(f.cut)}: unsigned, and the signature policy requires a signature \\(signature policy ${esc(path.join(home, 'cairn', 'policy.json'))}, transport "tarball", scope ""\\)$`),
    );
    fails(k.cairn(['pull', `tarball:${f.plain}`], { env }), /^cairn pull: tarball .*: unsigned, and the signature policy requires a signature/);
    expect(images()).toBe(before);
    expect(k.cairn(['from', `tarball:${f.signed}`], { env }).status).toBe(0);
  });

  it('--signature-policy with keyPath: a key outside the trust directory is enough, a trusted one is not accepted', () => {
    const p = policy('only-b.json', { default: [{ type: 'reject' }], transports: { tarball: { [dir]: [{ type: 'cairnSigned', keyPath: B.pubFile }] } } });
    const r = k.cairn(['from', '--signature-policy', p, `tarball:${f.byB}`]);
    expect(r.status).toBe(0);
    expect(configOf(r.stdout.trim()).Cmd).toEqual(CONFIG.config.Cmd);
    fails(k.cairn(['from', '--signature-policy', p, `tarball:${f.signed}`]), new RegExp(`^cairn from: tarball .*: unknown signer or tampered: the signature does not match key ${B.id} \\(signature policy ${esc(p)}, transport "tarball", scope "${esc(dir)}"\\)$`));
    // Without the flag the default policy applies again: B is not trusted.
    fails(k.cairn(['from', `tarball:${f.byB}`]), /unknown signer or tampered/);
  });

  it('CAIRN_SIGNATURE_POLICY names the policy as the flag does; reject refuses oci: layouts too, a scope accepts one', () => {
    const p = policy('oci.json', { default: [{ type: 'reject' }], transports: { oci: { [`${layout}:v1`]: [{ type: 'insecureAcceptAnything' }] } } });
    const env = { CAIRN_SIGNATURE_POLICY: p };
    fails(k.cairn(['pull', `tarball:${f.signed}`], { env }), new RegExp(`^cairn pull: tarball .*: rejected by the signature policy \\(signature policy ${esc(p)}, default\\)$`));
    fails(k.cairn(['pull', `oci:${layout}`], { env }), new RegExp(`^cairn pull: oci:${esc(layout)}: rejected by the signature policy`));
    expect(k.cairn(['pull', `oci:${layout}:v1`], { env }).status).toBe(0);
    expect(k.cairn(['pull', '--signature-policy', policy('cs.json', { default: [{ type: 'cairnSigned' }] }), `oci:${layout}:v1`]).stderr).toMatch(/requires a cairn signature, and oci: images carry none/);
  });

  it('an invalid or missing policy file fails every verb with one line, never falling back', () => {
    const p = policy('bad.json', { default: [{ type: 'signedByCosign' }] });
    const line = new RegExp(`signature policy ${esc(p)}: default\\[0\\]: unknown policy requirement type "signedByCosign"$`);
    fails(k.cairn(['from', '--signature-policy', p, `tarball:${f.plain}`]), new RegExp(`^cairn from: ${line.source}`));
    fails(k.cairn(['pull', '--signature-policy', p, `oci:${layout}`]), new RegExp(`^cairn pull: ${line.source}`));
    fails(k.cairn(['verify', '--signature-policy', p, f.signed]), new RegExp(`^cairn verify: ${line.source}`));
    fails(k.cairn(['exec', '--signature-policy', p, f.signed]), new RegExp(`^cairn exec: ${line.source}`));
    fails(k.cairn(['from', `tarball:${f.plain}`], { env: { CAIRN_SIGNATURE_POLICY: path.join(dir, 'none.json') } }), /^cairn from: signature policy .*none\.json does not exist$/);
  });

  it('cairn verify applies the policy: a key it names verifies, others do not', () => {
    const p = policy('verify-b.json', { default: [{ type: 'cairnSigned', keyIdentity: B.id }] });
    expect(k.ok(['verify', '--signature-policy', p, f.byB])).toBe(`OK ${B.id}`);
    fails(k.cairn(['verify', '--signature-policy', p, f.signed]), /^cairn verify: .*signed\.tar\.gz: unknown signer or tampered/);
    fails(k.cairn(['verify', '--signature-policy', policy('verify-reject.json', { default: [{ type: 'reject' }] }), f.signed]), /: rejected by the signature policy/);
    // insecureAcceptAnything does not make an unsigned file verify.
    fails(k.cairn(['verify', '--signature-policy', policy('verify-any.json', { default: [{ type: 'insecureAcceptAnything' }] }), f.cut]), /: unsigned \(signature policy /);
  });
});

describe('cairn exec always wants a valid signature', () => {
  it.each([
    ['insecureAcceptAnything', [{ type: 'insecureAcceptAnything' }]],
    ['cairnSigned with "unsigned": "rootfs"', [{ type: 'cairnSigned', unsigned: 'rootfs' }]],
  ])('an unsigned (cut) file is refused under %s', (name, reqs) => {
    const p = policy(`exec-${name.length}.json`, { default: reqs });
    fails(k.cairn(['exec', '--signature-policy', p, f.cut, 'true']), new RegExp(`^cairn exec: ${esc(f.cut)}: unsigned \\(signature policy `));
  });

  it('a cached image is judged by the policy of each start: a policy changed since it was verified applies at once', () => {
    expect(k.cairn(['exec', f.signed, 'true']).status).toBe(0); // verified (A is trusted), unpacked, cached
    expect(k.cairn(['exec', f.signed, 'true']).status).toBe(0); // the cached start
    const onlyB = policy('exec-cached-b.json', { default: [{ type: 'cairnSigned', keyIdentity: B.id }] });
    fails(k.cairn(['exec', '--signature-policy', onlyB, f.signed, 'true']), /^cairn exec: .*: unknown signer or tampered: the signature does not match key/);
    const reject = policy('exec-cached-reject.json', { default: [{ type: 'reject' }] });
    fails(k.cairn(['exec', '--insecure-skip-verify', '--signature-policy', reject, f.signed, 'true']), /^cairn exec: .*: rejected by the signature policy/);
    expect(k.cairn(['exec', f.signed, 'true']).status).toBe(0);
  });

  it('a policy naming key B refuses a file signed by the trusted key A; reject is not waived by --insecure-skip-verify', () => {
    fails(k.cairn(['exec', '--signature-policy', policy('exec-b.json', { default: [{ type: 'cairnSigned', keyPath: B.pubFile }] }), f.signed, 'true']), /^cairn exec: .*: unknown signer or tampered: the signature does not match key/);
    fails(k.cairn(['exec', '--insecure-skip-verify', '--signature-policy', policy('exec-reject.json', { default: [{ type: 'reject' }] }), f.cut, 'true']), /^cairn exec: .*: rejected by the signature policy/);
  });
});

it('--signature-policy is in the help of from, pull, verify and exec', () => {
  for (const verb of ['from', 'pull', 'verify', 'exec']) expect(k.ok([verb, '--help'])).toMatch(/--signature-policy FILE/);
});
