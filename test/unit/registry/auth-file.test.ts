// Editing auth files for login and logout: the rules as pure functions, then the file written 0600 in a 0700
// directory, through a symlink, and login()/logout() against a registry (node:http) checking Basic credentials.
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { authFileToEdit, helperFor, loginKey, readAuthDoc, storedUser, withAuthEntry, withoutAllAuths, withoutAuthEntry, writeAuthDoc } from '../../../dsl/registry/auth-file.js';
import { findCredentials, lookupAuthFile, primaryAuthFile } from '../../../dsl/registry/credentials.js';
import { login, loginUser, logout } from '../../../dsl/registry/login.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-authfile-'));
const b64 = (s: string) => Buffer.from(s).toString('base64');
let server: http.Server;
let host: string;

beforeAll(async () => {
  // A registry root that wants Basic alice:pw.
  server = http.createServer((req, res) => {
    req.resume();
    const ok = req.headers.authorization === 'Basic ' + b64('alice:pw');
    res.writeHead(ok ? 200 : 401, ok ? {} : { 'www-authenticate': 'Basic realm="test"' }).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('auth file rules', () => {
  it.each([
    ['reg:5000', 'reg:5000'],
    ['https://reg:5000/', 'reg:5000'],
    ['docker://quay.io/team', 'quay.io/team'],
    ['index.docker.io', 'docker.io'],
    ['reg/ns/repo', 'reg/ns/repo'],
  ])('takes %s as the key %s', (given, key) => expect(loginKey(given)).toBe(key));

  it.each(['', 'reg/ns:tag', 'reg/a@sha256:00', 'reg//x', 'reg/../x', 'a b'])('refuses %j as a registry', (bad) => {
    expect(() => loginKey(bad)).toThrow(BadInputError);
  });

  it('sets an entry, keeping other entries, unknown keys and the entry\'s other fields', () => {
    const doc = { auths: { 'https://reg:5000/v1/': { auth: b64('old:x'), email: 'a@b' }, other: { auth: b64('o:p') } }, credHelpers: { 'h.io': 'pass' }, psFormat: 'table' };
    const out = withAuthEntry(withAuthEntry(doc, 'reg:5000', { username: 'alice', password: 'pw' }), 'reg:5000', { username: 'bob', password: 'pw2' });
    expect(out).toEqual({ auths: { other: { auth: b64('o:p') }, 'reg:5000': { auth: b64('bob:pw2') } }, credHelpers: { 'h.io': 'pass' }, psFormat: 'table' });
    expect(doc.auths['https://reg:5000/v1/']).toBeDefined(); // pure: the input is untouched
    const kept = withAuthEntry({ auths: { r: { auth: b64('a:b'), identitytoken: 'RT', email: 'e' } } }, 'r', { username: 'c', password: 'd' });
    expect(kept.auths).toEqual({ r: { email: 'e', auth: b64('c:d') } });
    expect(storedUser(out, 'reg:5000')).toBe('bob');
    expect(storedUser(out, 'nope')).toBeUndefined();
  });

  it('removes one entry in any spelling, or every entry', () => {
    const doc = { auths: { 'http://r/': { auth: b64('a:b') }, 'r/ns': { auth: b64('c:d') } }, credsStore: 'x' };
    expect(withoutAuthEntry(doc, 'r')).toEqual({ doc: { auths: { 'r/ns': { auth: b64('c:d') } }, credsStore: 'x' }, removed: true });
    expect(withoutAuthEntry(doc, 'q').removed).toBe(false);
    expect(withoutAllAuths(doc)).toEqual({ auths: {}, credsStore: 'x' });
  });

  it('names the helper of a host: credHelpers, then credsStore', () => {
    expect(helperFor({ credHelpers: { 'https://h.io': 'one' }, credsStore: 'all' }, 'h.io')).toBe('one');
    expect(helperFor({ credHelpers: { 'h.io': 'one' }, credsStore: 'all' }, 'g.io')).toBe('all');
    expect(helperFor({ auths: {} }, 'g.io')).toBeUndefined();
  });

  it('reads the most specific key, and identity tokens', () => {
    const doc = { auths: { r: { auth: b64('all:1') }, 'r/ns': { auth: b64('ns:2') }, 'r/ns/app': { identitytoken: 'RT' } } };
    expect(lookupAuthFile(doc, 'r', 'ns/app', 'f')).toEqual({ username: '', password: '', identityToken: 'RT' });
    expect(lookupAuthFile(doc, 'r', 'ns/other', 'f')).toEqual({ username: 'ns', password: '2' });
    expect(lookupAuthFile(doc, 'r', 'nsx', 'f')).toEqual({ username: 'all', password: '1' });
    expect(lookupAuthFile(doc, 'r', '', 'f')).toEqual({ username: 'all', password: '1' });
  });

  it('edits the explicit file, else the primary one (XDG_RUNTIME_DIR, else /run/containers/UID)', () => {
    expect(authFileToEdit('/a.json', { REGISTRY_AUTH_FILE: '/r.json' })).toBe('/a.json');
    expect(authFileToEdit(undefined, { REGISTRY_AUTH_FILE: '/r.json' })).toBe('/r.json');
    expect(authFileToEdit(undefined, { XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/run/user/7/containers/auth.json');
    expect(primaryAuthFile({ CAIRN_ROOTLESS_UID: '1234' })).toBe('/run/containers/1234/auth.json');
    expect(primaryAuthFile({})).toBe(`/run/containers/${process.getuid!()}/auth.json`);
  });
});

describe('auth file on disk', () => {
  it('writes 0600 in a new 0700 directory, and through a symlink keeps the link', async () => {
    const file = path.join(dir, 'new', 'containers', 'auth.json');
    await writeAuthDoc(file, { auths: {} });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const real = path.join(dir, 'real.json');
    writeFileSync(real, '{}');
    chmodSync(real, 0o644);
    const link = path.join(dir, 'link.json');
    symlinkSync(real, link);
    await writeAuthDoc(link, { auths: { r: {} } });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(real, 'utf8'))).toEqual({ auths: { r: {} } });
    expect(statSync(real).mode & 0o777).toBe(0o600);
  });

  it('reads a missing file as empty and refuses one that is not a JSON object', async () => {
    expect(await readAuthDoc(path.join(dir, 'none.json'))).toEqual({ doc: {}, exists: false });
    writeFileSync(path.join(dir, 'arr.json'), '[]');
    await expect(readAuthDoc(path.join(dir, 'arr.json'))).rejects.toThrow(/not a JSON object/);
    writeFileSync(path.join(dir, 'bad.json'), '{');
    await expect(readAuthDoc(path.join(dir, 'bad.json'))).rejects.toThrow(/not JSON/);
  });
});

describe('login and logout', () => {
  it('stores checked credentials, leaves the file alone when refused, and logs out', async () => {
    const file = path.join(dir, 'login', 'auth.json');
    mkdirSync(path.dirname(file));
    writeFileSync(file, JSON.stringify({ auths: { keep: { auth: b64('k:v') } }, extra: 1 }));
    const before = readFileSync(file, 'utf8');
    const refused = await login(host, { username: 'alice', password: 'wrong', authfile: file, tlsVerify: false }).catch((e: Error) => e);
    expect((refused as Error).message).toBe(`login to ${host} failed: 401 unauthorized (credentials of alice not accepted)`);
    expect(readFileSync(file, 'utf8')).toBe(before);
    await expect(login(host, { username: 'alice', authfile: file, tlsVerify: false })).rejects.toThrow(/needs a password: none was given/);
    const r = await login(host, { username: 'alice', password: 'pw', authfile: file, tlsVerify: false });
    expect(r).toEqual({ registry: host, username: 'alice', storedIn: file, reused: false });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ auths: { keep: { auth: b64('k:v') }, [host]: { auth: b64('alice:pw') } }, extra: 1 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await findCredentials(host, 'any/repo', { authfile: file })).toMatchObject({ username: 'alice', password: 'pw' });
    // Nothing given: the stored credentials are checked and kept.
    expect(await login(host, { authfile: file, tlsVerify: false })).toMatchObject({ reused: true, username: 'alice' });
    expect(await loginUser(host, { authfile: file })).toBe('alice');
    expect(await logout(host, { authfile: file })).toEqual({ removed: [host], file });
    await expect(logout(host, { authfile: file })).rejects.toThrow(NotFoundError);
    await expect(logout(host, { authfile: file })).rejects.toThrow(`not logged into ${host}`);
    await expect(loginUser(host, { authfile: file })).rejects.toThrow(`not logged into ${host}`);
    await logout(undefined, { authfile: file, all: true });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ auths: {}, extra: 1 });
  });

  it('asks for what is missing when it may', async () => {
    const file = path.join(dir, 'ask.json');
    const asked: string[] = [];
    const r = await login(`${host}/team`, {
      authfile: file,
      tlsVerify: false,
      ask: async (what) => {
        asked.push(what);
        return what === 'username' ? 'alice' : 'pw';
      },
    });
    expect(asked).toEqual(['username', 'password']);
    expect(r.registry).toBe(`${host}/team`);
    expect(JSON.parse(readFileSync(file, 'utf8')).auths).toEqual({ [`${host}/team`]: { auth: b64('alice:pw') } });
  });
});
