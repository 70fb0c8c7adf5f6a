// Registries: push and pull of a 200 MB two-layer image to a local docker-registry, cairn against skopeo.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { log } from '../log.mjs';
import { median, ratio } from '../stats.mjs';
import { flush, have, sh, timed } from '../sh.mjs';
import { ONE_SHOT_RUNS } from './copy.mjs';

const IMAGE = 'localhost/registry-bench:2l';

/** A free TCP port on 127.0.0.1. */
async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Starts docker-registry on 127.0.0.1 with its storage under dir; resolves { host, stop } once it answers. */
async function startRegistry(dir) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, ['version: 0.1', 'log:', '  level: error', 'storage:', `  filesystem: { rootdirectory: "${path.join(dir, 'data')}" }`, 'http:', `  addr: 127.0.0.1:${port}`, '  secret: bench', ''].join('\n'));
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    const r = await fetch(`http://${host}/v2/`).then((x) => x.status, () => 0);
    if (r === 200) return { host, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  throw new Error('docker-registry did not start');
}

/** Makes IMAGE: two layers of about 100 MB each (the two halves of the bench tree), from scratch. */
function makeImage(cairn, tree, work) {
  const dirs = readdirSync(tree).sort();
  const half = Math.ceil(dirs.length / 2);
  for (const [name, part] of [['a', dirs.slice(0, half)], ['b', dirs.slice(half)]]) {
    mkdirSync(path.join(work, name));
    for (const d of part) cpSync(path.join(tree, d), path.join(work, name, d), { recursive: true });
  }
  const c = cairn.run(['from', 'scratch']);
  cairn.run(['copy', c, path.join(work, 'a'), '/a']);
  cairn.run(['checkpoint', c]);
  cairn.run(['copy', c, path.join(work, 'b'), '/b']);
  cairn.run(['commit', '--rm', c, IMAGE]);
  rmSync(path.join(work, 'a'), { recursive: true });
  rmSync(path.join(work, 'b'), { recursive: true });
}

/**
 * Times the same copies with both tools, ONE_SHOT_RUNS each, alternating who goes first: push (an OCI layout
 * into a new, empty registry) and pull (the registry into a new OCI layout); plus, for scale,
 * `cairn push` from the store (which compresses) and `cairn pull` into a new store (which unpacks).
 * Goals: push and pull ≤ 1.0× skopeo.
 */
export async function registryCase({ cairn, tree, tmp }) {
  if (!have('docker-registry') || !have('skopeo')) sh('apt-get', ['install', '-y', 'docker-registry', 'skopeo']);
  const work = path.join(tmp, 'registry');
  mkdirSync(work, { recursive: true });
  log('registry: making a 200 MB two-layer image');
  makeImage(cairn, tree, work);
  const layout = path.join(work, 'layout');
  cairn.run(['push', IMAGE, `oci:${layout}:t`]);
  const reg = await startRegistry(path.join(work, 'reg'));
  const skopeo = (args) => timed('skopeo', ['copy', '--quiet', ...args]).seconds;
  try {
    const push = { cairn: [], skopeo: [] };
    const pull = { cairn: [], skopeo: [] };
    const extra = { push: [], pull: [] };
    const src = `docker://${reg.host}/seed:t`;
    sh('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:t`, src]);
    for (let i = 0; i < ONE_SHOT_RUNS; i++) {
      log(`registry: run ${i + 1}/${ONE_SHOT_RUNS}`);
      const order = i % 2 ? ['skopeo', 'cairn'] : ['cairn', 'skopeo'];
      for (const who of order) {
        // A registry of its own for each push: no blob there to skip or mount (skopeo's blob cache would mount them).
        const fresh = await startRegistry(path.join(work, `reg-${who}-${i}`));
        const dest = `docker://${fresh.host}/${who}-push:t`;
        flush();
        try {
          push[who].push(who === 'cairn' ? cairn.time(['copy-image', '--tls-verify=false', `oci:${layout}:t`, dest]).seconds : skopeo(['--dest-tls-verify=false', `oci:${layout}:t`, dest]));
        } finally {
          fresh.stop();
        }
      }
      for (const who of order) {
        const out = path.join(work, `${who}-pull-${i}`);
        flush();
        pull[who].push(who === 'cairn' ? cairn.time(['copy-image', '--tls-verify=false', src, `oci:${out}:t`]).seconds : skopeo(['--src-tls-verify=false', src, `oci:${out}:t`]));
        rmSync(out, { recursive: true, force: true });
      }
      flush();
      const fresh = await startRegistry(path.join(work, `reg-store-${i}`));
      extra.push.push(cairn.time(['push', '--tls-verify=false', IMAGE, `docker://${fresh.host}/store-push:t`]).seconds);
      fresh.stop();
      const root = path.join(work, `pull-root-${i}`);
      flush();
      extra.pull.push(timed(cairn.bin, ['--root', root, 'pull', '--tls-verify=false', src], { env: cairn.env }).seconds);
      sh(cairn.bin, ['--root', root, 'rmi', '--all'], { env: cairn.env, allowFail: true });
      rmSync(root, { recursive: true, force: true });
    }
    const [pc, ps, lc, ls] = [median(push.cairn), median(push.skopeo), median(pull.cairn), median(pull.skopeo)];
    const rPush = ratio(pc, ps);
    const rPull = ratio(lc, ls);
    return {
      title: 'registries: a 200 MB two-layer image to and from a local docker-registry, cairn vs skopeo (same copies)',
      rows: [
        { what: 'push: copy-image oci:LAYOUT docker://… (new registry)', cairn: pc, buildah: ps, runs: { cairn: push.cairn, skopeo: push.skopeo } },
        { what: 'pull: copy-image docker://… oci:LAYOUT (new layout)', cairn: lc, buildah: ls, runs: { cairn: pull.cairn, skopeo: pull.skopeo } },
        { what: 'cairn push IMAGE docker://… from the store (gzip on the way), for scale', other: median(extra.push) },
        { what: 'cairn pull docker://… into a new store (unpacked, ready for from), for scale', other: median(extra.pull) },
      ],
      columns: ['cairn', 'skopeo', 'cairn/skopeo'],
      goals: [
        { goal: 'registry push (200 MB, 2 layers): cairn ≤ 1.0× skopeo', measured: rPush, kind: 'ratio', target: 1.0, pass: rPush !== undefined && rPush <= 1.0 },
        { goal: 'registry pull (200 MB, 2 layers): cairn ≤ 1.0× skopeo', measured: rPull, kind: 'ratio', target: 1.0, pass: rPull !== undefined && rPull <= 1.0 },
      ],
    };
  } finally {
    reg.stop();
    sh(cairn.bin, cairn.argv(['rmi', IMAGE]).slice(1), { env: cairn.env, allowFail: true });
  }
}
