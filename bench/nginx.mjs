// A real nginx serving a directory on 127.0.0.1 for the bench, its access log counting body bytes sent.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { sh } from './sh.mjs';

/** A port free right now on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts nginx serving root with its pid, logs and temp paths under work; returns { url, hits(), reset(), stop() }
 * where hits() lists { uri, status, bytes } logged since the last reset().
 */
export async function startNginx(root, work) {
  mkdirSync(path.join(work, 'tmp'), { recursive: true });
  const port = await freePort();
  const access = path.join(work, 'access.log');
  writeFileSync(access, '');
  const conf = `${process.getuid() === 0 ? 'user root root;\n' : ''}worker_processes 1;
daemon off;
pid ${work}/nginx.pid;
error_log ${work}/error.log warn;
events { worker_connections 64; }
http {
  log_format bytes '$request_uri $status $body_bytes_sent';
  access_log ${access} bytes;
  client_body_temp_path ${work}/tmp/body;
  proxy_temp_path ${work}/tmp/proxy;
  fastcgi_temp_path ${work}/tmp/fastcgi;
  uwsgi_temp_path ${work}/tmp/uwsgi;
  scgi_temp_path ${work}/tmp/scgi;
  default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`;
  writeFileSync(path.join(work, 'nginx.conf'), conf);
  sh('nginx', ['-t', '-p', work, '-c', path.join(work, 'nginx.conf')]);
  const child = spawn('nginx', ['-p', work, '-c', path.join(work, 'nginx.conf')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const r = sh('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${url}/`], { allowFail: true });
    if (r.stdout && r.stdout !== '000') break;
    if (i > 100) throw new Error(`nginx did not start: ${readFileSync(path.join(work, 'error.log'), 'utf8')}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  let skip = 0;
  const lines = () => readFileSync(access, 'utf8').split('\n').filter(Boolean);
  return {
    url,
    hits: () =>
      lines()
        .slice(skip)
        .map((l) => {
          const [uri, status, bytes] = l.split(' ');
          return { uri, status: Number(status), bytes: Number(bytes) };
        })
        .filter((h) => h.uri !== '/'),
    reset() {
      skip = lines().length;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGQUIT');
      }),
  };
}
