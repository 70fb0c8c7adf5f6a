// A service shipped as one signed flat tarball: busybox httpd and a page in a scratch image, exported signed with
// the local key, then started the way systemd does (signed-service/hello-web.service): `cairn exec FILE` in the
// foreground, stopped with SIGTERM. Checks the page it serves, that it stops promptly, and that a copy with one
// byte changed is refused.       cairn build recipes/signed-service.build.mjs [IMAGE]     (CAIRN=the cairn command)
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { from, keys, verify, $ } from 'cairn';

const name = process.argv[2] ?? 'localhost/hello-web:latest';
const cairn = process.env.CAIRN || fileURLToPath(new URL('../bin/cairn', import.meta.url));
const page = fileURLToPath(new URL('signed-service/index.html', import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), 'hello-web-'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const c = await from('scratch');
try {
  await c.copy('/bin/busybox', '/bin/', { withDeps: true });
  await c.copy(page, '/www/');
  await c.config({ entrypoint: ['/bin/busybox', 'httpd', '-f', '-h', '/www'], cmd: ['-p', '127.0.0.1:8080'] });
  const image = await c.commit(name);

  // Signed with the local key (made on first use); exec is told to accept that key only, as the unit does.
  const file = path.join(work, 'hello-web.tar');
  const pub = path.join(work, 'hello-web.pub.pem');
  writeFileSync(pub, (await keys.show()).pem);
  const { digest, signer } = await image.export(file);
  console.log(`exported ${name} to ${file}: ${digest}, signed by ${signer}`);
  await verify(file, { key: pub });

  // Started as systemd would: in the foreground, on a free port, until SIGTERM.
  const port = await freePort();
  const service = spawn(cairn, ['exec', '--key', pub, file, '--', '-p', `127.0.0.1:${port}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise((resolve) => service.on('exit', (code, signal) => resolve({ code, signal })));
  try {
    const body = await firstPage(`http://127.0.0.1:${port}/index.html`, service);
    if (!body.includes('hello from a signed flat image')) throw new Error(`unexpected page: ${body}`);
    // As root the service replaces cairn: systemd's main PID is the server itself.
    if (readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ') === '0 0 4294967295') {
      const comm = readFileSync(`/proc/${service.pid}/comm`, 'utf8').trim();
      if (comm !== 'busybox') throw new Error(`cairn exec did not replace itself: PID ${service.pid} is ${comm}`);
    }
  } finally {
    service.kill('SIGTERM');
  }
  const t0 = Date.now();
  const stuck = setTimeout(() => service.kill('SIGKILL'), 5000);
  const how = await exited;
  clearTimeout(stuck);
  if (Date.now() - t0 >= 5000) throw new Error('the service was still running 5 s after SIGTERM');
  console.log(`served the page on port ${port}; stopped (${how.signal ?? `status ${how.code}`}) in ${Date.now() - t0} ms`);

  // One byte changed: verify refuses it, and so does exec (status 125), without running anything.
  const bad = path.join(work, 'tampered.tar');
  copyFileSync(file, bad);
  const bytes = readFileSync(bad);
  bytes[bytes.length >> 1] ^= 1;
  writeFileSync(bad, bytes);
  const refused = await verify(bad, { key: pub }).then(() => false, (err) => (console.log(`verify refused it: ${err.message}`), true));
  if (!refused) throw new Error('a tampered file verified');
  const run = await $`${cairn} exec --key ${pub} --entrypoint /bin/busybox ${bad} -- true`.nothrow().quiet();
  if (run.exitCode !== 125) throw new Error(`cairn exec of a tampered file exited ${run.exitCode}, not 125`);
  console.log(`cairn exec refused it (status 125)`);
} finally {
  await c.remove();
  rmSync(work, { recursive: true, force: true });
}

/** A TCP port nobody listens on now. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The body at url once the server answers (within 30 s, the first start verifying and unpacking the image). */
async function firstPage(url, child) {
  for (const end = Date.now() + 30_000; Date.now() < end; await sleep(100)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`cairn exec ended before serving (${child.exitCode ?? child.signalCode})`);
    const res = await fetch(url).catch(() => undefined);
    if (res) return res.text();
  }
  throw new Error(`nothing answered at ${url} within 30 s`);
}
