// A real registry for the interop suite: Debian's docker-registry (distribution 2.8) on 127.0.0.1, open, with
// htpasswd basic auth, or behind TLS with a CA made here by openssl; small HTTP front ends for the cases a
// registry does not produce on its own (a token server, a lying or flaky network); images pushed by skopeo.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { peerOk, requirePeers, tempDir } from './peers.js';

/** A running registry: its host:port, what it logged (access log lines included), and how to stop it. */
export interface RegistryKit {
  host: string;
  dir: string;
  /** Everything the registry printed so far. */
  log(): string;
  stop(): Promise<void>;
}

/** A test CA and a server certificate for 127.0.0.1 it signed (PEM files in dir). */
export interface TestCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A bcrypt htpasswd line: htpasswd (apache2-utils) when installed, else perl's crypt (libxcrypt does bcrypt). */
export function htpasswdLine(user: string, pass: string): string {
  if (spawnSync('sh', ['-c', 'command -v htpasswd']).status === 0) return peerOk('htpasswd', ['-Bbn', user, pass]).trim();
  const salt = randomBytes(16).toString('base64').replace(/[^A-Za-z0-9]/g, '.').slice(0, 22);
  const hash = peerOk('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', pass, `$2b$05$${salt}`]);
  if (!hash.startsWith('$2b$')) throw new Error('no bcrypt here: install apache2-utils (htpasswd)');
  return `${user}:${hash}`;
}

/** Makes a CA and a server certificate for IP 127.0.0.1 with openssl (EC keys: fast). */
export function makeCerts(dir: string): TestCerts {
  requirePeers('openssl');
  mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  peerOk('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=cairn test CA']);
  peerOk('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  peerOk('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('ext')]);
  return { dir, caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key') };
}

async function waitForRegistry(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const mod = url.startsWith('https') ? import('node:https') : Promise.resolve(http);
      void mod.then((m) => {
        const req = (m as typeof http).get(`${url}/v2/`, { rejectUnauthorized: false } as http.RequestOptions, (res) => {
          res.resume();
          resolve(res.statusCode === 200 || res.statusCode === 401);
        });
        req.on('error', () => resolve(false));
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${url}:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts docker-registry on a free port with storage in a fresh temp dir: open, with basic auth, or with TLS. */
export async function startRegistry(o: { basic?: { user: string; pass: string }; tls?: TestCerts } = {}): Promise<RegistryKit> {
  requirePeers('docker-registry');
  const dir = tempDir('cairn-registry-');
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    `  filesystem: { rootdirectory: "${path.join(dir, 'data')}" }`,
    '  delete: { enabled: true }',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: cairn-test-secret',
  ];
  if (o.tls) lines.push('  tls:', `    certificate: "${o.tls.serverCert}"`, `    key: "${o.tls.serverKey}"`);
  if (o.basic) {
    writeFileSync(path.join(dir, 'htpasswd'), htpasswdLine(o.basic.user, o.basic.pass) + '\n');
    lines.push('auth:', '  htpasswd:', '    realm: cairn-test', `    path: "${path.join(dir, 'htpasswd')}"`);
  }
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const log = () => out;
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForRegistry(`${o.tls ? 'https' : 'http'}://${host}`, child, log);
  } catch (e) {
    await stop();
    throw e;
  }
  return { host, dir, log, stop };
}

/** `skopeo copy` into a registry (throws with skopeo's error on failure). */
export function skopeoPush(src: string, dest: string, extra: string[] = []): void {
  requirePeers('skopeo');
  peerOk('skopeo', ['copy', '--quiet', ...extra, src, dest]);
}

/** A request the front end saw: method, path, the headers it had. */
export interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

/**
 * What a front end does with one request (n counts requests from 0): answer it itself, or pass it on to the
 * registry with the answer's body optionally changed (`mutate`) or cut after `cutAfter` bytes (the
 * connection is then destroyed), and its Location header rewritten by `relocate`.
 */
export type FrontAction =
  | { answer: { status: number; headers?: Record<string, string>; body?: string } }
  | { pass: true; mutate?: (body: Buffer) => Buffer; cutAfter?: number; relocate?: (location: string) => string }
  /** Sends the status and headers, then nothing more: the connection stays open (a stalled network). */
  | { stall: { status: number; headers?: Record<string, string> } };

/** A small HTTP server in front of a registry, deciding per request (a flaky network, a liar, a token gate). */
export interface FrontKit {
  host: string;
  seen: Seen[];
  stop(): Promise<void>;
}

/** Starts a front end on 127.0.0.1 passing requests to target (host:port, plain HTTP) as decide says. */
export async function startFront(target: string, decide: (req: Seen, n: number) => FrontAction): Promise<FrontKit> {
  const seen: Seen[] = [];
  const [thost, tport] = target.split(':');
  const server = http.createServer((req, res) => {
    const s: Seen = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers };
    const action = decide(s, seen.length);
    seen.push(s);
    if ('stall' in action) {
      res.writeHead(action.stall.status, action.stall.headers ?? {});
      res.flushHeaders();
      req.resume();
      return;
    }
    if ('answer' in action) {
      res.writeHead(action.answer.status, action.answer.headers ?? {});
      res.end(action.answer.body ?? '');
      req.resume();
      return;
    }
    const headers = { ...req.headers, host: target };
    delete headers.authorization; // the registry behind is open; the front end is what checks
    const up = http.request({ host: thost, port: Number(tport), method: req.method, path: req.url, headers }, (ur) => {
      const chunks: Buffer[] = [];
      ur.on('data', (c: Buffer) => chunks.push(c));
      ur.on('end', () => {
        let body = Buffer.concat(chunks);
        if (action.mutate) body = action.mutate(body);
        const h = { ...ur.headers };
        delete h['transfer-encoding'];
        if (ur.headers['content-length'] !== undefined) h['content-length'] = String(body.length);
        // Redirects and Location headers point at the registry itself: rewrite them to come back here.
        if (typeof h.location === 'string') h.location = h.location.replace(`//${target}`, `//${addr}`);
        if (typeof h.location === 'string' && action.relocate) h.location = action.relocate(h.location);
        if (action.cutAfter !== undefined && action.cutAfter < body.length) {
          res.writeHead(ur.statusCode ?? 500, h);
          res.write(body.subarray(0, action.cutAfter), () => setTimeout(() => res.socket?.destroy(), 20));
          return;
        }
        res.writeHead(ur.statusCode ?? 500, h);
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host: addr,
    seen,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
