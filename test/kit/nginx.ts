import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import path from 'node:path';

/*
 * A real nginx serving a directory on 127.0.0.1, with everything it writes (pid, logs, temp paths) in a
 * directory of the test's. Its access log records each request's URI, status, Range header and body bytes
 * sent, so a test can assert how much a client downloaded.
 */

/** One request as nginx logged it. */
export interface NginxHit {
  uri: string;
  status: number;
  range: string;
  bodyBytes: number;
}

/** A running nginx. */
export interface Nginx {
  url: string;
  /** The requests logged since start (or since the last reset). */
  hits(): NginxHit[];
  /** Forgets the requests logged so far. */
  reset(): void;
  stop(): Promise<void>;
}

/** A port free right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on port (nginx has started), or rejects after ~10 s. */
async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection(port, '127.0.0.1', () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port}: ${log()}`);
}

/** Starts nginx serving root (read-only) with its state in work/nginx. */
export async function startNginx(root: string, work: string): Promise<Nginx> {
  const dir = path.join(work, 'nginx');
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const access = path.join(dir, 'access.log');
  writeFileSync(access, '');
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  const conf = `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  log_format bytes '$request_uri $status "$http_range" $body_bytes_sent';
  access_log ${access} bytes;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  await listening(port, child, () => err + safeRead(path.join(dir, 'error.log')));
  let skip = 0;
  const lines = (): string[] => safeRead(access).split('\n').filter(Boolean);
  return {
    url: `http://127.0.0.1:${port}`,
    hits() {
      return lines()
        .slice(skip)
        .map((l) => {
          const m = /^(\S+) (\d+) "([^"]*)" (\d+)$/.exec(l);
          if (!m) throw new Error(`unexpected nginx log line: ${l}`);
          return { uri: m[1], status: Number(m[2]), range: m[3] === '-' ? '' : m[3], bodyBytes: Number(m[4]) };
        });
    },
    reset() {
      skip = lines().length;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGQUIT');
      }),
  };
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
