// The signature policy: a flat image whose trailer was cut off, `verify` of unsigned files, policy files in their
// places and by --signature-policy / CAIRN_SIGNATURE_POLICY, exec's signature rule. Each behaviour runs in-process
// through the public API (the engine reads XDG_CONFIG_HOME and CAIRN_SIGNATURE_POLICY when a call is made); CLI
// rows show each verb's --signature-policy flag, the variable, the warning and the one line a refusal prints.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, exec, from, inspect, isCairnError, pull, verify, type CairnError, type CairnEvent } from '../../../dsl/index.js';
import { IN_PROCESS } from '../../kit/api.js';
import { withEnv } from '../../kit/env.js';
import { cliKit, type CliKit, type CliResult } from '../../kit/cli.js';
import { flatFile, installLocalKey, testKey } from '../../kit/flat.js';
import { tmp } from '../../kit/bali.js';
import { writeTestLayout } from '../../kit/images.js';
import { smallRootfsTar } from '../../kit/tiny.js';

const CONFIG = { architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/sh', '-c', 'echo embedded'], Env: ['PATH=/bin', 'FROM_CONFIG=1'] } };

let k: CliKit;
let dir: string;
let cfg: string;
let A: ReturnType<typeof testKey>;
let B: ReturnType<typeof testKey>;
const f: Record<string, string> = {};
let layout: string;
let root: string;

beforeAll(async () => {
  dir = tmp('cairn-policy-cli-');
  cfg = path.join(dir, 'config');
  A = testKey(dir, 'a');
  B = testKey(dir, 'b');
  installLocalKey(cfg, A); // A is this user's key: trusted; B is not
  k = cliKit('cairn-policy-cli-', { XDG_CONFIG_HOME: cfg, CAIRN_SIGNATURE_POLICY: '' });
  root = k.root;
  // Only signed.tar.gz runs (exec … true): the others carry no root filesystem (a few KB to verify and unpack).
  f.signed = await flatFile(path.join(dir, 'signed.tar.gz'), { key: A, config: CONFIG });
  f.byB = await flatFile(path.join(dir, 'by-b.tar.gz'), { key: B, config: CONFIG, tiny: false });
  // A signed image with its 80-byte trailer cut off: an intact tar, an intact config, no signature.
  const raw = readFileSync(await flatFile(path.join(dir, 'signed.tar'), { key: A, config: CONFIG, gzip: false, tiny: false }));
  writeFileSync((f.cut = path.join(dir, 'cut.tar.gz')), gzipSync(raw.subarray(0, raw.length - 80)));
  writeFileSync((f.cutPlain = path.join(dir, 'cut.tar')), raw.subarray(0, raw.length - 80));
  f.plain = smallRootfsTar();
  layout = path.join(dir, 'layout');
  await writeTestLayout(layout, { ref: 'v1' });
});
afterAll(() => k.cleanup());

/** Asserts a failure of the CLI: exit 125, nothing on stdout, one error line (and its hint). */
function fails(r: CliResult, line: RegExp): void {
  expect(r.stderr.trimEnd().split('\n')[0]).toMatch(line);
  expect(r.status).toBe(125);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatch(/^ {2}hint: \S/);
}

/** An in-process call as this user: the config directory that trusts A, no policy variable unless env gives one. */
const call = <T>(fn: () => Promise<T>, env: Record<string, string | undefined> = {}): Promise<T> =>
  withEnv({ XDG_CONFIG_HOME: cfg, CAIRN_SIGNATURE_POLICY: '', ...env }, fn);

/** Asserts an in-process refusal: a CairnError whose one-line message matches (what the CLI prints after `cairn VERB: `), with a hint. */
async function refuses(p: Promise<unknown>, line: RegExp): Promise<void> {
  const err: unknown = await p.then(() => 'accepted', (e) => e);
  expect(isCairnError(err), String(err)).toBe(true);
  const { message, hint } = err as CairnError;
  expect(message).toMatch(line);
  expect(message).not.toContain('\n');
  expect(hint).toMatch(/^\S[^\n]*$/);
}

/** The warnings the engine gave while fn ran. */
async function warnings<T>(fn: () => Promise<T>): Promise<{ value: T; warned: string[] }> {
  const warned: string[] = [];
  const listen = (e: CairnEvent) => void (e.type === 'warn' && warned.push(e.text));
  events.on('event', listen);
  try {
    return { value: await fn(), warned };
  } finally {
    events.off('event', listen);
  }
}

/** Writes a policy file; its path. */
function policy(name: string, v: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof v === 'string' ? v : JSON.stringify(v));
  return p;
}

const images = () => k.ok(['images', '--json']);
const configOf = async (c: string) => ((await inspect(c, { root })) as { config: { config: { Cmd?: string[]; Env?: string[] } } }).config.config;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const run = ['true'];

describe.runIf(IN_PROCESS)('a flat image whose signature trailer was cut off (no policy file)', () => {
  it('the signed original gives its embedded config, without a warning', async () => {
    const { value, warned } = await warnings(() => call(() => from(`tarball:${f.signed}`, { root })));
    expect(warned).toEqual([]);
    expect((await configOf(value.name)).Cmd).toEqual(CONFIG.config.Cmd);
  });

  const unsignedWarning = (file: string) => new RegExp(`^tarball ${esc(file)} is not signed: its \\.cairn/config\\.json is ignored and the file is read as a plain root filesystem`);

  it('cut (gzip): read as a plain root filesystem, its embedded config ignored, with a warning saying it is not signed', async () => {
    const r = k.cairn(['from', `tarball:${f.cut}`]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^cairn: warning: ${unsignedWarning(f.cut).source.slice(1)}`));
    const c = await configOf(r.stdout.trim());
    expect(c.Cmd).toBeUndefined();
    expect(c.Env).not.toContain('FROM_CONFIG=1');
  });

  it('cut (plain tar): the same, in-process', async () => {
    const { value, warned } = await warnings(() => call(() => from(`tarball:${f.cutPlain}`, { root })));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(unsignedWarning(f.cutPlain));
    const c = await configOf(value.name);
    expect(c.Cmd).toBeUndefined();
    expect(c.Env).not.toContain('FROM_CONFIG=1');
  });

  it('cairn verify reports the cut gzip file as unsigned, never as trusted (exit 125)', () => {
    fails(k.cairn(['verify', f.cut]), new RegExp(`^cairn verify: ${esc(f.cut)}: unsigned$`));
    fails(k.cairn(['verify', '--json', f.cut]), /: unsigned$/);
  });

  it.each([
    ['the cut plain tar', 'cutPlain'],
    ['a plain rootfs tarball', 'plain'],
  ])('verify reports %s as unsigned, never as trusted', async (_what, name) => {
    await refuses(call(() => verify(f[name])), new RegExp(`^${esc(f[name])}: unsigned$`));
  });

  it('a plain unsigned rootfs tarball (no embedded config) is read as before, without a warning', async () => {
    expect((await warnings(() => call(() => from(`tarball:${f.plain}`, { root })))).warned).toEqual([]);
  });
});

describe.runIf(IN_PROCESS)('policy files', () => {
  it('the user\'s policy.json applies: requiring a signature refuses the cut file, and the store is unchanged', async () => {
    const home = path.join(dir, 'strict-config');
    installLocalKey(home, A);
    writeFileSync(path.join(home, 'cairn', 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }], transports: { tarball: { '': [{ type: 'cairnSigned' }] } } }));
    const before = images();
    const env = { XDG_CONFIG_HOME: home };
    fails(
      k.cairn(['from', `tarball:${f.cut}`], { env }),
      new RegExp(`^cairn from: tarball ${esc(f.cut)}: unsigned, and the signature policy requires a signature \\(signature policy ${esc(path.join(home, 'cairn', 'policy.json'))}, transport "tarball", scope ""\\)$`),
    );
    await refuses(call(() => pull(`tarball:${f.plain}`, { root }), env), /^tarball .*: unsigned, and the signature policy requires a signature/);
    expect(images()).toBe(before);
    await call(() => from(`tarball:${f.signed}`, { root }), env);
  });

  it('--signature-policy with keyPath: a key outside the trust directory is enough, a trusted one is not accepted', async () => {
    const p = policy('only-b.json', { default: [{ type: 'reject' }], transports: { tarball: { [dir]: [{ type: 'cairnSigned', keyPath: B.pubFile }] } } });
    const r = k.cairn(['from', '--signature-policy', p, `tarball:${f.byB}`]);
    expect(r.status).toBe(0);
    expect((await configOf(r.stdout.trim())).Cmd).toEqual(CONFIG.config.Cmd);
    fails(k.cairn(['from', '--signature-policy', p, `tarball:${f.signed}`]), new RegExp(`^cairn from: tarball .*: unknown signer or tampered: the signature does not match key ${B.id} \\(signature policy ${esc(p)}, transport "tarball", scope "${esc(dir)}"\\)$`));
    // Without it the default policy applies again: B is not trusted.
    await refuses(call(() => from(`tarball:${f.byB}`, { root })), /unknown signer or tampered/);
  });

  it('CAIRN_SIGNATURE_POLICY names the policy as the flag does; reject refuses oci: layouts too, a scope accepts one', async () => {
    const p = policy('oci.json', { default: [{ type: 'reject' }], transports: { oci: { [`${layout}:v1`]: [{ type: 'insecureAcceptAnything' }] } } });
    const env = { CAIRN_SIGNATURE_POLICY: p };
    fails(k.cairn(['pull', `tarball:${f.signed}`], { env }), new RegExp(`^cairn pull: tarball .*: rejected by the signature policy \\(signature policy ${esc(p)}, default\\)$`));
    await refuses(call(() => pull(`oci:${layout}`, { root }), env), new RegExp(`^oci:${esc(layout)}: rejected by the signature policy`));
    await call(() => pull(`oci:${layout}:v1`, { root }), env);
    expect(k.cairn(['pull', '--signature-policy', policy('cs.json', { default: [{ type: 'cairnSigned' }] }), `oci:${layout}:v1`]).stderr).toMatch(/requires a cairn signature, and oci: images carry none/);
  });

  it('an invalid or missing policy file fails every verb with one line, never falling back', async () => {
    const p = policy('bad.json', { default: [{ type: 'signedByCosign' }] });
    const line = new RegExp(`^signature policy ${esc(p)}: default\\[0\\]: unknown policy requirement type "signedByCosign"$`);
    fails(k.cairn(['exec', '--signature-policy', p, f.signed]), new RegExp(`^cairn exec: ${line.source.slice(1)}`));
    await refuses(call(() => from(`tarball:${f.plain}`, { root, signaturePolicy: p })), line);
    await refuses(call(() => pull(`oci:${layout}`, { root, signaturePolicy: p })), line);
    await refuses(call(() => verify(f.signed, { signaturePolicy: p })), line);
    await refuses(call(() => from(`tarball:${f.plain}`, { root }), { CAIRN_SIGNATURE_POLICY: path.join(dir, 'none.json') }), /^signature policy .*none\.json does not exist$/);
  });

  it('cairn verify applies the policy: a key it names verifies, others do not', async () => {
    const p = policy('verify-b.json', { default: [{ type: 'cairnSigned', keyIdentity: B.id }] });
    expect(k.ok(['verify', '--signature-policy', p, f.byB])).toBe(`OK ${B.id}`);
    fails(k.cairn(['verify', '--signature-policy', p, f.signed]), /^cairn verify: .*signed\.tar\.gz: unknown signer or tampered/);
    await refuses(call(() => verify(f.signed, { signaturePolicy: policy('verify-reject.json', { default: [{ type: 'reject' }] }) })), /: rejected by the signature policy/);
    // insecureAcceptAnything does not make an unsigned file verify.
    await refuses(call(() => verify(f.cut, { signaturePolicy: policy('verify-any.json', { default: [{ type: 'insecureAcceptAnything' }] }) })), /: unsigned \(signature policy /);
  });
});

describe.runIf(IN_PROCESS)('cairn exec always wants a valid signature', () => {
  it.each([
    ['insecureAcceptAnything', [{ type: 'insecureAcceptAnything' }]],
    ['cairnSigned with "unsigned": "rootfs"', [{ type: 'cairnSigned', unsigned: 'rootfs' }]],
  ])('an unsigned (cut) file is refused under %s', async (name, reqs) => {
    const p = policy(`exec-${name.length}.json`, { default: reqs });
    await refuses(call(() => exec(f.cut, { root, signaturePolicy: p, cmd: run })), new RegExp(`^${esc(f.cut)}: unsigned \\(signature policy `));
  });

  it('a cached image is judged by the policy of each start: a policy changed since it was verified applies at once', async () => {
    expect(await call(() => exec(f.signed, { root, cmd: run }))).toBe(0); // verified (A is trusted), unpacked, cached
    expect(await call(() => exec(f.signed, { root, cmd: run }))).toBe(0); // the cached start
    const onlyB = policy('exec-cached-b.json', { default: [{ type: 'cairnSigned', keyIdentity: B.id }] });
    fails(k.cairn(['exec', '--signature-policy', onlyB, f.signed, 'true']), /^cairn exec: .*: unknown signer or tampered: the signature does not match key/);
    const reject = policy('exec-cached-reject.json', { default: [{ type: 'reject' }] });
    await refuses(call(() => exec(f.signed, { root, insecure: true, signaturePolicy: reject, cmd: run })), /: rejected by the signature policy/);
    expect(await call(() => exec(f.signed, { root, cmd: run }))).toBe(0);
  });

  it('a policy naming key B refuses a file signed by the trusted key A; reject is not waived by --insecure-skip-verify', async () => {
    await refuses(call(() => exec(f.signed, { root, signaturePolicy: policy('exec-b.json', { default: [{ type: 'cairnSigned', keyPath: B.pubFile }] }), cmd: run })), /: unknown signer or tampered: the signature does not match key/);
    fails(k.cairn(['exec', '--insecure-skip-verify', '--signature-policy', policy('exec-reject.json', { default: [{ type: 'reject' }] }), f.cut, 'true']), /^cairn exec: .*: rejected by the signature policy/);
  });
});

it('--signature-policy is in the help of from, pull, verify and exec', () => {
  for (const verb of ['from', 'pull', 'verify', 'exec']) expect(k.ok([verb, '--help'])).toMatch(/--signature-policy FILE/);
});
