// Bearer tokens against a real HTTP server (node:http on 127.0.0.1) that is both a registry needing tokens and
// its token server: renewal when a token expires, a revoked token replaced once, OAuth identity tokens (POST
// grant_type=refresh_token, and the GET fallback when the realm answers 404), and the login check.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { RegistryClient } from '../../../dsl/registry/client.js';
import { drain } from '../../../dsl/registry/http.js';
import { RegistryError } from '../../../dsl/registry/errors.js';

interface Seen {
  method: string;
  path: string;
  auth?: string;
  form?: URLSearchParams;
}

/** The server's state, reset before each test. */
const state = {
  seen: [] as Seen[],
  valid: new Set<string>(),
  issued: 0,
  expiresIn: 300,
  /** What POST /token does: issue tokens for the refresh token RT, or answer 404 (no OAuth endpoint). */
  post: 'oauth' as 'oauth' | '404',
  /** Reject every manifest request, whatever its token. */
  rejectAll: false,
};

let server: http.Server;
let host: string;
const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-token-'));
const basic = (u: string, p: string) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');

function issue(res: http.ServerResponse): void {
  const token = `T${++state.issued}`;
  state.valid.add(token);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ token, expires_in: state.expiresIn }));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const s: Seen = { method: req.method ?? '', path: url.pathname + url.search, auth: req.headers.authorization };
      if (req.method === 'POST') s.form = new URLSearchParams(Buffer.concat(chunks).toString());
      state.seen.push(s);
      const challenge = { 'www-authenticate': `Bearer realm="http://${host}/token",service="test"` };
      if (url.pathname === '/token' && req.method === 'POST') {
        if (state.post === '404') return void res.writeHead(404).end();
        if (s.form?.get('grant_type') !== 'refresh_token' || s.form.get('refresh_token') !== 'RT') return void res.writeHead(401).end();
        return issue(res);
      }
      if (url.pathname === '/token') {
        if (s.auth !== undefined && s.auth !== basic('alice', 'pw')) return void res.writeHead(401).end();
        return issue(res);
      }
      const bearer = s.auth?.startsWith('Bearer ') ? s.auth.slice(7) : undefined;
      if (state.rejectAll || !bearer || !state.valid.has(bearer)) return void res.writeHead(401, challenge).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  Object.assign(state, { seen: [], valid: new Set(), issued: 0, expiresIn: 300, post: 'oauth', rejectAll: false });
});

/** An auth file holding doc, for a client that must read nothing else. */
function authFile(name: string, doc: object): string {
  const f = path.join(dir, name);
  writeFileSync(f, JSON.stringify(doc));
  return f;
}

/** GETs the manifest with client (its body drained). */
async function manifest(c: RegistryClient): Promise<void> {
  await drain(await c.get('/v2/x/manifests/1', { what: 'image x' }));
}

const open = (o: { creds?: string; authfile?: string }) => RegistryClient.open({ registry: host, repository: 'x', tag: '1' }, { tlsVerify: false, ...o });
const requests = (from = 0) => state.seen.slice(from).map((s) => `${s.method} ${s.path.split('?')[0]}${s.auth ? ' ' + s.auth.split(' ')[0] + (s.auth.startsWith('Bearer') ? ' ' + s.auth.slice(7) : '') : ''}`);

describe('bearer tokens', () => {
  it('renews an expired token before the request that needs it, without a 401 first', async () => {
    state.expiresIn = 1; // good for 0.5 s: half its life is taken off as a margin
    // The clock is moved, not waited for: only Date is faked (the sockets keep their real timers).
    vi.useFakeTimers({ toFake: ['Date'] });
    const c = await open({ creds: 'alice:pw' });
    try {
      await manifest(c);
      expect(requests()).toEqual(['GET /v2/', 'GET /v2/x/manifests/1', 'GET /token Basic', 'GET /v2/x/manifests/1 Bearer T1']);
      const mark = state.seen.length;
      vi.setSystemTime(Date.now() + 450);
      await manifest(c);
      expect(requests(mark)).toEqual(['GET /v2/x/manifests/1 Bearer T1']);
      vi.setSystemTime(Date.now() + 100);
      const later = state.seen.length;
      await manifest(c);
      expect(requests(later)).toEqual(['GET /token Basic', 'GET /v2/x/manifests/1 Bearer T2']);
    } finally {
      vi.useRealTimers();
      await c.close();
    }
  });

  it('a 401 to a cached token gets one fresh token, and a second 401 is the error', async () => {
    const c = await open({ creds: 'alice:pw' });
    try {
      await manifest(c);
      state.valid.clear(); // the registry forgets T1 before it expires
      const mark = state.seen.length;
      await manifest(c);
      expect(requests(mark)).toEqual(['GET /v2/x/manifests/1 Bearer T1', 'GET /token Basic', 'GET /v2/x/manifests/1 Bearer T2']);
      state.rejectAll = true;
      const again = state.seen.length;
      await expect(manifest(c)).rejects.toThrow(/401 unauthorized, credentials not accepted/);
      expect(requests(again)).toEqual(['GET /v2/x/manifests/1 Bearer T2', 'GET /token Basic', 'GET /v2/x/manifests/1 Bearer T3']);
    } finally {
      await c.close();
    }
  });

  it('trades an identity token for bearer tokens by POST grant_type=refresh_token', async () => {
    const c = await open({ authfile: authFile('idt.json', { auths: { [host]: { identitytoken: 'RT' } } }) });
    try {
      await manifest(c);
      const post = state.seen.find((s) => s.method === 'POST')!;
      expect(post.path).toBe('/token');
      expect(Object.fromEntries(post.form!)).toEqual({ grant_type: 'refresh_token', refresh_token: 'RT', client_id: 'cairn', service: 'test', scope: 'repository:x:pull' });
      expect(post.auth).toBeUndefined();
      expect(requests().at(-1)).toBe('GET /v2/x/manifests/1 Bearer T1');
      expect(state.seen.some((s) => s.method === 'GET' && s.path.startsWith('/token'))).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('falls back to GET with Basic credentials when the realm answers 404 to the POST', async () => {
    state.post = '404';
    const c = await open({ authfile: authFile('idt-basic.json', { auths: { [host]: { auth: Buffer.from('alice:pw').toString('base64'), identitytoken: 'RT' } } }) });
    try {
      await manifest(c);
      expect(requests()).toEqual(['GET /v2/', 'GET /v2/x/manifests/1', 'POST /token', 'GET /token Basic', 'GET /v2/x/manifests/1 Bearer T1']);
      const get = state.seen.find((s) => s.method === 'GET' && s.path.startsWith('/token'))!;
      expect(new URL(get.path, 'http://x').searchParams.get('account')).toBe('alice');
    } finally {
      await c.close();
    }
  });

  it('checks login credentials with a token for no scope', async () => {
    const good = await RegistryClient.open({ registry: host, repository: '' }, { tlsVerify: false }, { login: { username: 'alice', password: 'pw', source: 'test' } });
    try {
      await good.checkLogin();
      const token = state.seen.find((s) => s.path.startsWith('/token'))!;
      expect(new URL(token.path, 'http://x').searchParams.has('scope')).toBe(false);
      expect(requests().at(-1)).toBe('GET /v2/ Bearer T1');
    } finally {
      await good.close();
    }
    const bad = await RegistryClient.open({ registry: host, repository: '' }, { tlsVerify: false }, { login: { username: 'alice', password: 'nope', source: 'test' } });
    try {
      const err = await bad.checkLogin().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).status).toBe(401);
    } finally {
      await bad.close();
    }
  });
});
