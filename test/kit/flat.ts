import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { publicKeyOf } from '../../dsl/sign/ed25519ph.js';
import { identityString } from '../../dsl/sign/identity.js';
import type { KeyPair } from '../../dsl/sign/keys.js';
import { publicKeyToPem, seedToPem } from '../../dsl/sign/pem.js';
import { signingStream } from '../../dsl/flat/trailer.js';
import { tinyRootfsTar } from './tiny.js';

/** A fresh Ed25519 key pair, with its public key PEM written to dir/<name>.pub.pem (for --key). */
export function testKey(dir: string, name = 'k'): KeyPair & { pubFile: string } {
  const seed = new Uint8Array(randomBytes(32));
  const publicKey = publicKeyOf(seed);
  const pubFile = path.join(dir, `${name}.pub.pem`);
  writeFileSync(pubFile, publicKeyToPem(publicKey));
  return { seed, publicKey, id: identityString(publicKey), source: pubFile, pubFile };
}

/** Makes key the local key of a cairn config dir (XDG_CONFIG_HOME=configHome), so it is trusted without --key. */
export function installLocalKey(configHome: string, key: KeyPair): void {
  const dir = path.join(configHome, 'cairn');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'key.pem'), seedToPem(key.seed), { mode: 0o600 });
  writeFileSync(path.join(dir, 'key.pub.pem'), publicKeyToPem(key.publicKey));
}

/** One extra tar entry of a flat file (header as tar-stream takes it). */
export interface ExtraEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  body?: string | Buffer;
  linkname?: string;
  mode?: number;
}

/** What flatFile writes. */
export interface FlatOptions {
  /** The OCI image config put first as .cairn/config.json; null for none (as bali's files). */
  config?: Record<string, unknown> | null;
  /** The signing key; null for an unsigned file. */
  key: KeyPair | null;
  /** gzip the whole (default true). */
  gzip?: boolean;
  /** Entries added after the tiny rootfs (a motd, or hostile ones). */
  extra?: ExtraEntry[];
  /** Put the tiny rootfs in (default true); false for a file that is only verified, never run (a few KB to check, not MBs). */
  tiny?: boolean;
}

/** Re-packs the tiny rootfs tar's entries into pack. */
async function copyTiny(pack: tarStream.Pack): Promise<void> {
  const ex = tarStream.extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (h.type === 'file') pack.entry(h, Buffer.concat(chunks), next);
        else pack.entry(h, next);
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  createReadStream(tinyRootfsTar()).pipe(ex);
  await done;
}

/**
 * Writes a flat image as `cairn export` does: a tar whose first entry is .cairn/config.json, then the tiny
 * rootfs (sh, coreutils, /etc/passwd with root and user 1000) and the extra entries, the 80-byte bali
 * trailer after it (signingStream, over the uncompressed stream), gzip around the whole.
 */
export async function flatFile(dest: string, o: FlatOptions): Promise<string> {
  const pack = tarStream.pack();
  const fill = (async () => {
    if (o.config !== null) {
      const cfg = Buffer.from(JSON.stringify(o.config ?? { architecture: 'amd64', os: 'linux', config: {} }));
      pack.entry({ name: '.cairn/config.json', mode: 0o644, mtime: new Date(0) }, cfg);
    }
    if (o.tiny !== false) await copyTiny(pack);
    for (const e of o.extra ?? []) {
      const h = { name: e.name, type: e.type ?? 'file', mode: e.mode ?? (e.type === 'directory' ? 0o755 : 0o644), mtime: new Date(0), linkname: e.linkname };
      if ((e.type ?? 'file') === 'file') pack.entry(h, Buffer.from(e.body ?? ''));
      else pack.entry(h);
    }
    pack.finalize();
  })();
  const stages: (Readable | Transform)[] = [pack];
  if (o.key) stages.push(signingStream(o.key));
  if (o.gzip !== false) stages.push(createGzip());
  stages.push(new PassThrough());
  await Promise.all([fill, pipeline([...stages, createWriteStream(dest)] as unknown as Parameters<typeof pipeline>)]);
  return dest;
}

/** A tiny HTTP server over a directory, as any dumb server: ETag, Last-Modified, conditional GETs; plus trap routes. */
export interface FlatServer {
  url: string;
  /** Requests seen: path, status answered, whether it was conditional. */
  log: { path: string; status: number; conditional: boolean }[];
  close(): Promise<void>;
}

/**
 * Serves dir's files on 127.0.0.1. Routes: /missing → 404, /loop → redirects to itself, /hop/NAME → one
 * redirect to /NAME, /short/NAME → promises the whole file, sends half and closes the connection.
 */
export async function serveDir(dir: string): Promise<FlatServer> {
  const { createServer } = await import('node:http');
  const { readFileSync, statSync } = await import('node:fs');
  const log: FlatServer['log'] = [];
  const server = createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const conditional = req.headers['if-none-match'] !== undefined || req.headers['if-modified-since'] !== undefined;
    const answer = (status: number): void => {
      log.push({ path: p, status, conditional });
    };
    if (p === '/loop') {
      answer(302);
      res.writeHead(302, { location: '/loop' }).end();
      return;
    }
    if (p.startsWith('/hop/')) {
      answer(301);
      res.writeHead(301, { location: '/' + p.slice(5) }).end();
      return;
    }
    const short = p.startsWith('/short/');
    const file = path.join(dir, path.basename(short ? p.slice(6) : p));
    let st;
    try {
      st = statSync(file);
    } catch {
      st = undefined;
    }
    if (!st?.isFile()) {
      answer(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const etag = `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const lastModified = st.mtime.toUTCString();
    if (req.headers['if-none-match'] === etag) {
      answer(304);
      res.writeHead(304, { etag, 'last-modified': lastModified }).end();
      return;
    }
    const body = readFileSync(file);
    answer(200);
    res.writeHead(200, { etag, 'last-modified': lastModified, 'content-length': body.length, 'content-type': 'application/gzip' });
    if (short) {
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    log,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The result of one `cairn` call. */
export interface ExecResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** How runCairn runs: extra env, and a normal user to run as (by setpriv, which execs: same PID). */
export interface RunAs {
  env?: NodeJS.ProcessEnv;
  user?: { uid: number; gid: number; home: string };
}

/** Spawns `bin/cairn ARGS` (asynchronously: a test's HTTP server keeps answering meanwhile). */
export async function spawnCairn(args: string[], o: RunAs = {}): Promise<import('node:child_process').ChildProcess> {
  const { spawn } = await import('node:child_process');
  const cairn = path.resolve(__dirname, '../../bin/cairn');
  if (!o.user) return spawn(cairn, args, { env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const env = { PATH: process.env.PATH, HOME: o.user.home, ...o.env };
  return spawn('setpriv', ['--reuid', String(o.user.uid), '--regid', String(o.user.gid), '--init-groups', '--', cairn, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
}

/** Runs `bin/cairn ARGS` to completion. */
export async function runCairn(args: string[], o: RunAs = {}): Promise<ExecResult> {
  const child = await spawnCairn(args, o);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const status = await new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? 128 + (sig === 'SIGKILL' ? 9 : 15))));
  return { status, stdout, stderr };
}
