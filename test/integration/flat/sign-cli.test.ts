import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCairnError, keys, verify, type CairnError } from '../../../dsl/index.js';
import { IN_PROCESS } from '../../kit/api.js';
import { withEnv } from '../../kit/env.js';
import { CAIRN, cliKit, type CliKit, type CliResult } from '../../kit/cli.js';
import { baliKey, baliTrailer, flatTarball, tmp, type BaliKey, type Flat } from '../../kit/bali.js';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

let k: CliKit;
let cfg: string;
let dir: string;
let key: BaliKey;
let flat: Flat;
beforeAll(async () => {
  cfg = tmp('cairn-cfg-');
  dir = tmp('cairn-files-');
  k = cliKit('cairn-test-', { XDG_CONFIG_HOME: cfg });
  key = baliKey();
  flat = await flatTarball(dir, 'signed.tar.gz', { key });
});
afterAll(() => k.cleanup());

/** Asserts a failure: exit 125, nothing on stdout, one error line (and its hint). */
function fails(r: CliResult, line: RegExp): void {
  expect(r.status).toBe(125);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(line);
  expect(lines).toHaveLength(2);
  expect(lines[1]).toMatch(/^ {2}hint: \S/);
}

/** Writes bytes to a new file in the temp dir; its path. */
function file(name: string, bytes: Buffer): string {
  const f = path.join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

/** Runs fn in-process as this file's user: its config directory (keys and trust). */
const asUser = <T>(fn: () => Promise<T>): Promise<T> => withEnv({ XDG_CONFIG_HOME: cfg }, fn);

function flip(buf: Buffer, i: number, mask = 0x01): Buffer {
  const b = Buffer.from(buf);
  b[i] ^= mask;
  return b;
}

describe('cairn key', () => {
  it('show creates the key on first use (key.pem mode 0600), prints the PEM on stdout and the ID on stderr', () => {
    const r = k.cairn(['key', 'show']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/);
    expect(r.stderr).toMatch(/^key ID: c[A-Z2-7]{55}\n$/);
    expect(statSync(path.join(cfg, 'cairn', 'key.pem')).mode & 0o777).toBe(0o600);
    const pub = file('me.pub.pem', Buffer.from(r.stdout));
    if (hasOpenssl) expect(spawnSync('openssl', ['pkey', '-pubin', '-in', pub, '-noout']).status).toBe(0);
    const j = JSON.parse(k.ok(['key', 'show', '--json']));
    expect(j.id).toBe(r.stderr.slice(8).trim());
    expect(j.publicKey).toBe(r.stdout);
    expect(k.ok(['key', 'list'])).toBe(`${j.id}  ${path.join(cfg, 'cairn', 'key.pem')}`);
  });

  it('--help has an example', () => {
    expect(k.ok(['key', '--help'])).toMatch(/Example:\n {2}cairn key/);
    expect(k.ok(['verify', '--help'])).toMatch(/Example:\n {2}cairn verify/);
  });

  it.each([
    [['key'], /^cairn key: too few arguments$/],
    [['key', 'frob'], /^cairn key: unknown key subcommand frob/],
    [['key', 'show', 'x'], /^cairn key: key show takes no argument$/],
    [['key', 'trust'], /^cairn key: key trust needs PUB/],
    [['verify'], /^cairn verify: too few arguments$/],
  ])('%j is a usage error', (args, line) => {
    const r = k.cairn(args);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toMatch(line);
    expect(r.stderr).toContain('Usage: cairn');
  });
});

describe('cairn verify', () => {
  it('says OK and the signer for a bali-signed tarball, with --key as identity or PEM file', () => {
    expect(k.ok(['verify', '--key', key.id, flat.file])).toBe(`OK ${key.id}`);
    const pem = file('signer.pub.pem', Buffer.from(key.pubPem));
    expect(k.ok(['verify', '--key', pem, flat.file])).toBe(`OK ${key.id}`);
    const j = JSON.parse(k.ok(['verify', '--json', '--key', key.id, flat.file]));
    expect(j).toMatchObject({ ok: true, signer: key.id, tarSize: flat.tar.length });
    expect(j.sha256).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('the signed file is an ordinary tar.gz: tar tzf and tar xzf exit 0 with nothing on stderr', () => {
    const list = spawnSync('tar', ['tzf', flat.file], { encoding: 'utf8' });
    expect(list.status).toBe(0);
    expect(list.stderr).toBe('');
    expect(list.stdout.split('\n')).toEqual(expect.arrayContaining(['etc/hostname', 'bin/hello', 'big', 'link']));
    const out = tmp('cairn-x-');
    const x = spawnSync('tar', ['xzf', flat.file, '-C', out], { encoding: 'utf8' });
    expect(x.status).toBe(0);
    expect(x.stderr).toBe('');
    expect(readFileSync(path.join(out, 'etc/hostname'), 'utf8')).toBe('cairn\n');
  });

  const T = (f: Flat): number => f.plain.length - 80;
  const tamper: [string, () => Buffer, RegExp][] = [
    ['the first byte of the file', () => flip(flat.bytes, 0), /: not a tar or gzip file$/],
    ['a byte in the middle of the gzip', () => flip(flat.bytes, flat.bytes.length >> 1, 0xff), /: corrupt gzip stream/],
    ['a truncated gzip', () => flat.bytes.subarray(0, flat.bytes.length - 100), /: truncated gzip stream \(the file is cut short\)$/],
    ['the first tar header (re-gzipped)', () => gzipSync(flip(flat.plain, 0)), /: tampered: bad tar header checksum at byte 0$/],
    ['file data in the middle of the tar (re-gzipped)', () => gzipSync(flip(flat.plain, flat.tar.length >> 1)), /: unknown signer or tampered: the signature does not match key c/],
    ['a byte inside the signature (re-gzipped)', () => gzipSync(flip(flat.plain, flat.plain.length - 1, 0xf0)), /: tampered: the signature is malformed$/],
    ['a byte inside the signature (plain tar)', () => flip(flat.plain, T(flat) + 48), /: unknown signer or tampered: the signature does not match key c/],
  ];
  // What each change is refused with, in-process through the public API; the CLI prints it as one line (below).
  it.runIf(IN_PROCESS).each(tamper)('fails on a change of %s, naming the file and what is wrong', async (_what, make, line) => {
    const f = file(`tampered-${tamper.findIndex((t) => t[1] === make)}.tar.gz`, make());
    const err: unknown = await asUser(() => verify(f, { key: key.id })).then(() => 'verified', (e) => e);
    expect(isCairnError(err), String(err)).toBe(true);
    const { message, hint } = err as CairnError;
    expect(message.startsWith(`${f}: `), message).toBe(true);
    expect(message).toMatch(line);
    expect(message).not.toContain('\n');
    expect(hint).toMatch(/^\S[^\n]*$/);
  });

  it('fails on a changed file with exit 125 and one line (and its hint)', () => {
    const f = file('tampered.tar.gz', tamper[4][1]());
    fails(k.cairn(['verify', '--key', key.id, f]), new RegExp(`^cairn verify: ${f.replace(/[.]/g, '\\.')}: unknown signer or tampered: the signature does not match key c`));
  });

  it('fails on an unsigned tarball, a missing file and a directory', async () => {
    const u = (await flatTarball(dir, 'unsigned.tar.gz', { sign: false })).file;
    fails(k.cairn(['verify', u]), new RegExp(`^cairn verify: ${u}: unsigned$`));
    fails(k.cairn(['verify', path.join(dir, 'nope.tar')]), /^cairn verify: .*nope\.tar: no such file$/);
    fails(k.cairn(['verify', dir]), /: is a directory, not a file$/);
  });

  it('refuses a bad --key', () => {
    fails(k.cairn(['verify', '--key', key.id.slice(0, 30) + (key.id[30] === 'A' ? 'B' : 'A') + key.id.slice(31), flat.file]), /^cairn verify: identity c.* has a wrong checksum \(a typo\?\)$/);
  });

  it.runIf(IN_PROCESS)('fails for a key not trusted, and verifies after `cairn key trust`', async () => {
    const other = baliKey();
    const f = file('other.tar.gz', gzipSync(Buffer.concat([flat.tar, baliTrailer(flat.tar, other)])));
    // The trusted set is the local key alone here.
    fails(k.cairn(['verify', f]), /: unknown signer or tampered: the signature does not match key c[A-Z2-7]{55}$/);
    const pem = file('other.pub.pem', Buffer.from(other.pubPem));
    expect(k.ok(['key', 'trust', pem])).toBe(other.id);
    expect(k.ok(['verify', f])).toBe(`OK ${other.id}`);
    expect(k.ok(['key', 'list'])).toContain(`${other.id}  ${path.join(cfg, 'cairn', 'trusted', other.id + '.pem')}`);
    // Trusting again changes nothing; trusting by identity string works the same (in-process).
    await asUser(async () => {
      expect((await keys.trust(pem)).id).toBe(other.id);
      const third = baliKey();
      const g = file('third.tar.gz', gzipSync(Buffer.concat([flat.tar, baliTrailer(flat.tar, third)])));
      await expect(verify(g)).rejects.toThrow(/unknown signer or tampered/);
      expect((await keys.trust(third.id)).id).toBe(third.id);
      expect((await verify(g)).signer.id).toBe(third.id);
    });
  });

  it.runIf(IN_PROCESS)('`key generate` makes a new ID; files signed by the old local key still verify', async () => {
    const seedOf = (): Uint8Array => Buffer.from(createPrivateKey(readFileSync(path.join(cfg, 'cairn', 'key.pem'))).export({ format: 'jwk' }).d!, 'base64url');
    const oldId = JSON.parse(k.ok(['key', 'show', '--json'])).id;
    const old = baliKey(seedOf());
    expect(old.id).toBe(oldId);
    const f = file('old.tar.gz', gzipSync(Buffer.concat([flat.tar, baliTrailer(flat.tar, old)])));
    const newId = k.ok(['key', 'generate']);
    expect(newId).toMatch(/^c[A-Z2-7]{55}$/);
    expect(newId).not.toBe(oldId);
    await asUser(async () => {
      expect((await keys.show()).id).toBe(newId);
      const list = await keys.list();
      expect(list[0]).toEqual({ id: newId, source: path.join(cfg, 'cairn', 'key.pem') });
      expect(list.map((x) => x.id)).toContain(oldId);
      expect((await verify(f)).signer.id).toBe(oldId);
      const g = file('new.tar.gz', gzipSync(Buffer.concat([flat.tar, baliTrailer(flat.tar, baliKey(seedOf()))])));
      expect((await verify(g)).signer.id).toBe(newId);
    });
  });

  it('verifies an http URL, and says what an HTTP error was', async () => {
    const server = http.createServer((req, res) => {
      if (req.url === '/signed.tar.gz') {
        res.writeHead(200, { 'content-type': 'application/gzip' });
        res.end(flat.bytes);
      } else {
        res.writeHead(404);
        res.end('no');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // The server lives in this process: run the CLI without blocking the event loop.
    const run = (args: string[]): Promise<CliResult> =>
      new Promise((resolve) => {
        const p = spawn(CAIRN, ['--root', k.root, ...args], { env: { ...process.env, XDG_CONFIG_HOME: cfg } });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (d) => (stdout += d));
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (status) => resolve({ status: status ?? 128, stdout, stderr }));
      });
    try {
      const ok = await run(['verify', '--key', key.id, `${base}/signed.tar.gz`]);
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toBe(`OK ${key.id}\n`);
      fails(await run(['verify', '--key', key.id, `${base}/missing.tar.gz`]), /^cairn verify: http:\/\/127\.0\.0\.1:\d+\/missing\.tar\.gz: HTTP 404 Not Found$/);
    } finally {
      server.close();
    }
    fails(await run(['verify', '--key', key.id, `${base}/gone.tar.gz`]), /^cairn verify: http:.*: cannot fetch: .*ECONNREFUSED/);
  });
});
