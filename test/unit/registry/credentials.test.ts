import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import { authFilePaths, findCredentials, lookupAuthFile, normalizeAuthKey, parseCreds } from '../../../dsl/registry/credentials.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-creds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('credentials', () => {
  it('parses --creds USER:PASS (the password may hold ":")', () => {
    expect(parseCreds('alice:a:b')).toEqual({ username: 'alice', password: 'a:b' });
    for (const bad of ['alice', ':pw', 'alice:']) expect(() => parseCreds(bad)).toThrow(BadInputError);
  });

  it.each([
    ['https://index.docker.io/v1/', 'docker.io'],
    ['registry-1.docker.io', 'docker.io'],
    ['http://reg:5000/', 'reg:5000'],
    ['reg:5000/ns/repo', 'reg:5000/ns/repo'],
    ['quay.io', 'quay.io'],
  ])('normalizes the auth file key %s', (key, want) => {
    expect(normalizeAuthKey(key)).toBe(want);
  });

  it('reads an auth file: helpers first, then the most specific auths entry', () => {
    const doc = {
      auths: {
        'reg:5000': { auth: b64('all:1') },
        'reg:5000/ns': { auth: b64('ns:2') },
        'https://index.docker.io/v1/': { auth: b64('hub:3') },
        'other:1': { username: 'u', password: 'p' },
      },
      credHelpers: { 'helped.io': 'pass' },
    };
    expect(lookupAuthFile(doc, 'reg:5000', 'ns/app', 'f')).toEqual({ username: 'ns', password: '2' });
    expect(lookupAuthFile(doc, 'reg:5000', 'nsx/app', 'f')).toEqual({ username: 'all', password: '1' });
    expect(lookupAuthFile(doc, 'docker.io', 'library/debian', 'f')).toEqual({ username: 'hub', password: '3' });
    expect(lookupAuthFile(doc, 'other:1', 'a', 'f')).toEqual({ username: 'u', password: 'p' });
    expect(lookupAuthFile(doc, 'helped.io', 'a', 'f')).toEqual({ helper: 'pass' });
    expect(lookupAuthFile(doc, 'nowhere', 'a', 'f')).toBeUndefined();
    expect(lookupAuthFile({ credsStore: 'desktop', auths: {} }, 'x', 'a', 'f')).toEqual({ helper: 'desktop' });
    expect(() => lookupAuthFile({ auths: { x: { auth: b64('nocolon') } } }, 'x', 'a', 'f')).toThrow(BadInputError);
  });

  it('looks in the explicit file only, or in the default places in order', () => {
    expect(authFilePaths({ authfile: '/a.json' }, {})).toEqual({ files: ['/a.json'], explicit: true });
    expect(authFilePaths({}, { REGISTRY_AUTH_FILE: '/r.json' })).toEqual({ files: ['/r.json'], explicit: true });
    expect(authFilePaths({}, { XDG_RUNTIME_DIR: '/run/user/7', XDG_CONFIG_HOME: '/cfg', DOCKER_CONFIG: '/dk', HOME: '/h' }).files).toEqual([
      '/run/user/7/containers/auth.json',
      '/cfg/containers/auth.json',
      '/dk/config.json',
    ]);
  });

  it('finds credentials in files and through a docker-credential helper', async () => {
    const run = path.join(dir, 'run');
    const docker = path.join(dir, 'docker');
    mkdirSync(path.join(run, 'containers'), { recursive: true });
    mkdirSync(docker);
    writeFileSync(path.join(run, 'containers', 'auth.json'), JSON.stringify({ auths: { 'a.io': { auth: b64('from:runtime') } } }));
    writeFileSync(path.join(docker, 'config.json'), JSON.stringify({ auths: { 'a.io': { auth: b64('from:docker') }, 'b.io': { auth: b64('b:docker') } }, credHelpers: { 'c.io': 'cairntest' } }));
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    // A credential helper speaks the docker-credential protocol: the server on stdin, JSON on stdout.
    writeFileSync(path.join(bin, 'docker-credential-cairntest'), '#!/bin/sh\nread server\n[ "$1" = get ] || exit 2\nif [ "$server" = c.io ]; then echo "{\\"ServerURL\\":\\"c.io\\",\\"Username\\":\\"helped\\",\\"Secret\\":\\"s\\"}"; else echo "credentials not found in native keychain"; exit 1; fi\n');
    chmodSync(path.join(bin, 'docker-credential-cairntest'), 0o755);
    const env = { XDG_RUNTIME_DIR: run, XDG_CONFIG_HOME: path.join(dir, 'none'), DOCKER_CONFIG: docker };
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      expect(await findCredentials('a.io', 'x', {}, env)).toMatchObject({ username: 'from', password: 'runtime' });
      expect(await findCredentials('b.io', 'x', {}, env)).toMatchObject({ username: 'b', password: 'docker' });
      expect(await findCredentials('c.io', 'x', {}, env)).toEqual({ username: 'helped', password: 's', source: 'docker-credential-cairntest' });
      expect(await findCredentials('d.io', 'x', {}, env)).toBeUndefined();
      expect(await findCredentials('a.io', 'x', { creds: 'cli:pw' }, env)).toMatchObject({ username: 'cli', source: '--creds' });
      await expect(findCredentials('a.io', 'x', { authfile: path.join(dir, 'missing.json') }, env)).rejects.toBeInstanceOf(NotFoundError);
      writeFileSync(path.join(dir, 'bad.json'), '{');
      await expect(findCredentials('a.io', 'x', { authfile: path.join(dir, 'bad.json') }, env)).rejects.toThrow(/is not JSON/);
    } finally {
      process.env.PATH = oldPath;
    }
  });
});
