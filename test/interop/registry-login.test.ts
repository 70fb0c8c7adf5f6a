// cairn login and logout against real registries (Debian's docker-registry with htpasswd basic auth): the auth
// file it writes (0600, in XDG_RUNTIME_DIR) read by skopeo and by cairn's own pulls; a refused password leaving
// the file as it was; logout; copy-image between registries of different users with --src-creds/--dest-creds;
// and a docker-credential helper (a shell script written here) storing, giving and erasing the credentials.
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { writeTestLayout } from '../kit/images.js';
import { peerOk, removeTree, requirePeers, runPeer, tempDir } from '../kit/peers.js';
import { skopeoPush, startRegistry, type RegistryKit } from '../kit/registry.js';

const INSECURE = '--tls-verify=false';

let work: string;
let k: CliKit;
let alice: RegistryKit;
let bob: RegistryKit;
let open: RegistryKit;
let runtime: string;
let env: NodeJS.ProcessEnv;
const stops: (() => Promise<void> | void)[] = [];

/** cairn without blocking this process; throws with stderr on failure; trimmed stdout. */
async function ok(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await k.cairnAsync(args, { ...env, ...extra });
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

/** skopeo inspect's digest of a registry image. */
function digestOf(ref: string, extra: string[]): string {
  return JSON.parse(peerOk('skopeo', ['inspect', INSECURE, ...extra, ref], { env: { ...process.env, ...env } })).Digest;
}

beforeAll(async () => {
  requirePeers('docker-registry', 'skopeo');
  work = tempDir('cairn-registry-login-');
  runtime = path.join(work, 'run');
  // Only the files named here: no REGISTRY_AUTH_FILE, no docker config, the primary file under a fresh runtime dir.
  env = { CAIRN_REGISTRY_BACKOFF_MS: '50', REGISTRY_AUTH_FILE: '', XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: path.join(work, 'config'), DOCKER_CONFIG: path.join(work, 'no-docker') };
  k = cliKit('cairn-reg-login-', env);
  stops.push(() => k.cleanup());
  [alice, bob, open] = await Promise.all([startRegistry({ basic: { user: 'alice', pass: 's3cret' } }), startRegistry({ basic: { user: 'bob', pass: 'hunter2' } }), startRegistry()]);
  stops.push(() => alice.stop(), () => bob.stop(), () => open.stop());
  const img = await writeTestLayout(path.join(work, 'app'), { ref: 'v1' });
  skopeoPush(`oci:${img.dir}:v1`, `docker://${alice.host}/private/app:1`, ['--dest-tls-verify=false', '--dest-creds', 'alice:s3cret']);
}, 60_000);

afterAll(async () => {
  for (const s of stops.reverse()) await s();
  if (work) removeTree(work);
});

describe('login and logout with an auth file', () => {
  const primary = () => path.join(runtime, 'containers', 'auth.json');

  it('writes ${XDG_RUNTIME_DIR}/containers/auth.json 0600 that skopeo and cairn pull then use', async () => {
    const r = k.cairn(['login', INSECURE, '--username', 'alice', '--password-stdin', alice.host], { input: 's3cret\n' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const doc = JSON.parse(readFileSync(primary(), 'utf8'));
    expect(doc).toEqual({ auths: { [alice.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } });
    expect(statSync(primary()).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(primary())).mode & 0o777).toBe(0o700);
    const ref = `docker://${alice.host}/private/app:1`;
    const digest = digestOf(ref, ['--authfile', primary()]);
    expect(digest).toMatch(/^sha256:/);
    const id = await ok(['pull', INSECURE, ref]);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await ok(['login', '--get-login', alice.host])).toBe('alice');
  });

  it('a wrong password fails in one line, exit 125, the file unchanged', async () => {
    const before = readFileSync(primary());
    const r = await k.cairnAsync(['login', INSECURE, '--username', 'alice', '--password', 'wrong', alice.host], env);
    expect(r.status).toBe(125);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`cairn login: login to ${alice.host} failed: 401 unauthorized (credentials of alice not accepted)`);
    expect(lines.slice(1)).toEqual(['  hint: check the user name and password; nothing was written']);
    expect(readFileSync(primary()).equals(before)).toBe(true);
  });

  it('without a password and without a terminal, says what to give', async () => {
    const r = k.cairn(['login', INSECURE, '--username', 'bob', bob.host], { input: '' });
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe(`cairn login: login to ${bob.host} needs a password: none was given, and there is no terminal to ask on`);
  });

  it('logout removes the entry; a second logout is not logged in', async () => {
    await ok(['logout', alice.host]);
    expect(JSON.parse(readFileSync(primary(), 'utf8'))).toEqual({ auths: {} });
    const again = await k.cairnAsync(['logout', alice.host], env);
    expect(again.status).toBe(125);
    expect(again.stderr.split('\n')[0]).toBe(`cairn logout: not logged into ${alice.host}`);
    const pull = await k.cairnAsync(['pull', INSECURE, `docker://${alice.host}/private/app:1`], env);
    expect(pull.status).toBe(125);
    expect(pull.stderr).toContain('401 unauthorized, no credentials given');
  });

  it('logout --all empties the auths of the file named by --authfile', async () => {
    const file = path.join(work, 'two.json');
    writeFileSync(file, JSON.stringify({ auths: {}, keep: true }));
    await ok(['login', INSECURE, '--authfile', file, '-u', 'alice', '-p', 's3cret', alice.host]);
    await ok(['login', INSECURE, '--authfile', file, '-u', 'bob', '-p', 'hunter2', `${bob.host}/team`]);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).auths).sort()).toEqual([alice.host, `${bob.host}/team`].sort());
    expect(await ok(['login', '--authfile', file, '--get-login', `${bob.host}/team/app`])).toBe('bob');
    await ok(['logout', '--authfile', file, '--all']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ auths: {}, keep: true });
  });
});

describe('copy-image with credentials per side', () => {
  it('copies from alice\'s registry to bob\'s, and to an open one, with --src-creds and --dest-creds', async () => {
    const src = `docker://${alice.host}/private/app:1`;
    const want = digestOf(src, ['--creds', 'alice:s3cret']);
    await ok(['copy-image', INSECURE, '--src-creds', 'alice:s3cret', '--dest-creds', 'bob:hunter2', src, `docker://${bob.host}/mirror/app:1`]);
    expect(digestOf(`docker://${bob.host}/mirror/app:1`, ['--creds', 'bob:hunter2'])).toBe(want);
    await ok(['copy-image', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', 'alice:s3cret', src, `docker://${open.host}/copy/app:1`]);
    expect(digestOf(`docker://${open.host}/copy/app:1`, [])).toBe(want);
    // One set of credentials for both sides is refused by one of them.
    const r = await k.cairnAsync(['copy-image', INSECURE, '--creds', 'alice:s3cret', src, `docker://${bob.host}/mirror/app:2`], env);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('401 unauthorized, credentials not accepted');
  });

  it('takes each side\'s auth file', async () => {
    const a = path.join(work, 'src-auth.json');
    const b = path.join(work, 'dest-auth.json');
    await ok(['login', INSECURE, '--authfile', a, '-u', 'alice', '-p', 's3cret', alice.host]);
    await ok(['login', INSECURE, '--authfile', b, '-u', 'bob', '-p', 'hunter2', bob.host]);
    await ok(['copy-image', INSECURE, '--src-authfile', a, '--dest-authfile', b, `docker://${alice.host}/private/app:1`, `docker://${bob.host}/mirror/app:3`]);
    expect(digestOf(`docker://${bob.host}/mirror/app:3`, ['--authfile', b])).toBe(digestOf(`docker://${alice.host}/private/app:1`, ['--authfile', a]));
  });
});

describe('a credential helper named by credHelpers', () => {
  it('stores with docker-credential-NAME store, is read by cairn and skopeo, and erased by logout', async () => {
    const bin = path.join(work, 'helper-bin');
    const kept = path.join(work, 'helper-store');
    mkdirSync(bin);
    mkdirSync(kept);
    // The docker-credential protocol: store reads {ServerURL,Username,Secret}; get and erase read the server URL.
    writeFileSync(
      path.join(bin, 'docker-credential-test'),
      [
        '#!/bin/sh',
        `dir='${kept}'`,
        'case "$1" in',
        '  store) cat > "$dir/entry.json" ;;',
        '  get) read server; if [ -f "$dir/entry.json" ] && grep -qF "\\"ServerURL\\":\\"$server\\"" "$dir/entry.json"; then cat "$dir/entry.json"; else echo "credentials not found in native keychain"; exit 1; fi ;;',
        '  erase) read server; if [ -f "$dir/entry.json" ]; then rm "$dir/entry.json"; else echo "credentials not found in native keychain"; exit 1; fi ;;',
        '  *) exit 2 ;;',
        'esac',
        '',
      ].join('\n'),
    );
    chmodSync(path.join(bin, 'docker-credential-test'), 0o755);
    const file = path.join(work, 'helper-auth.json');
    writeFileSync(file, JSON.stringify({ credHelpers: { [alice.host]: 'test' } }));
    const pathEnv = { PATH: `${bin}:${process.env.PATH}` };
    const r = k.cairn(['login', INSECURE, '--authfile', file, '--username', 'alice', '--password-stdin', alice.host], { input: 's3cret', env: pathEnv });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(kept, 'entry.json'), 'utf8'))).toEqual({ ServerURL: alice.host, Username: 'alice', Secret: 's3cret' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ credHelpers: { [alice.host]: 'test' } });
    const ref = `docker://${alice.host}/private/app:1`;
    expect(await ok(['pull', INSECURE, '--authfile', file, ref], pathEnv)).toMatch(/^[0-9a-f]{64}$/);
    expect(runPeer('skopeo', ['inspect', INSECURE, '--authfile', file, ref], { env: { ...process.env, ...env, ...pathEnv } }).status).toBe(0);
    expect(await ok(['login', '--authfile', file, '--get-login', alice.host], pathEnv)).toBe('alice');
    await ok(['logout', '--authfile', file, alice.host], pathEnv);
    expect(existsSync(path.join(kept, 'entry.json'))).toBe(false);
    const again = await k.cairnAsync(['logout', '--authfile', file, alice.host], { ...env, ...pathEnv });
    expect(again.stderr.split('\n')[0]).toBe(`cairn logout: not logged into ${alice.host}`);
  });
});
