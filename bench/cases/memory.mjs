// Peak memory of committing a 1 GB change (cairn commit under /usr/bin/time, buildah commit for scale), and of
// reading a 1 GB layer (cairn from tarball:).
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log.mjs';
import { writeTree } from '../tree.mjs';
import { flush, have, sh, timed } from '../sh.mjs';
import { BASE } from './base.mjs';

/** The 1 GB change: 4,000 generated files (768 MB, half compressible) plus one 256 MB random file. */
export const BIG_SPEC = { files: 4_000, dirs: 40, bytes: 768_000_000, seed: 2, version: 1, bigFile: 256_000_000 };

/** Returns /usr/bin/time, installing Debian's `time` package when it is missing. */
function gnuTime() {
  if (!have('/usr/bin/time')) {
    log('memory: installing the `time` package for /usr/bin/time…');
    sh('apt-get', ['install', '-y', 'time']);
  }
  return '/usr/bin/time';
}

/** Writes the 1 GB change into a mounted root filesystem. */
function writeBig(root) {
  const dir = path.join(root, 'big');
  mkdirSync(dir, { recursive: true });
  writeTree(dir, BIG_SPEC);
  sh('sh', ['-c', 'head -c "$1" /dev/urandom > "$2"', 'sh', String(BIG_SPEC.bigFile), path.join(dir, 'one-big-file.bin')]);
}

/** Runs argv under /usr/bin/time -f %M and returns { seconds, rssKB } (max resident set size of the process). */
function peak(argv, env, tmp, label) {
  const out = path.join(tmp, `rss-${label}.txt`);
  const { seconds } = timed(gnuTime(), ['-f', '%M', '-o', out, ...argv], { env });
  return { seconds, rssKB: Number(readFileSync(out, 'utf8').trim().split('\n').pop()) };
}

/** One tool: container from the base, 1 GB written through its mount (untimed), commit measured, all removed. */
function commitBig(t, tmp) {
  log(`memory: ${t.name}: writing 1 GB into a container…`);
  const c = t.run(['from', BASE]);
  const root = t.run(['mount', c]).split('\n').pop().split(/\s+/).pop();
  writeBig(root);
  t.run(['umount', c]);
  flush();
  log(`memory: ${t.name} commit of 1 GB under /usr/bin/time…`);
  const argv = t.name === 'cairn' ? t.argv(['commit', c, 'localhost/big:bench']) : ['buildah', 'commit', '--quiet', c, 'localhost/big:bench'];
  const r = peak(argv, t.env, tmp, t.name);
  t.run(['rm', c]);
  t.run(['rmi', 'localhost/big:bench']);
  flush();
  return r;
}

/** Peak RSS of `cairn from tarball:` of a 1 GB plain tar (the same files): reading and extracting one 1 GB layer. */
function readBig(cairn, tmp) {
  const dir = path.join(tmp, 'big-tree');
  log('memory: writing the 1 GB tree and its tar…');
  writeBig(dir);
  const tar = path.join(tmp, 'big.tar');
  sh('tar', ['-cf', tar, '-C', dir, '.']);
  rmSync(dir, { recursive: true, force: true });
  flush();
  log('memory: cairn from tarball: of the 1 GB layer under /usr/bin/time…');
  const r = peak(cairn.argv(['from', '--name', 'bigread', `tarball:${tar}`]), cairn.env, tmp, 'read');
  cairn.run(['rm', 'bigread']);
  rmSync(tar, { force: true });
  flush();
  return r;
}

/**
 * Peak RSS of `cairn commit` of a container holding ~1 GB of new files (and, for scale, of `buildah commit`
 * of the same files). The images and containers are removed afterwards. Goal: cairn < 200 MB.
 */
export function memoryCase({ cairn, buildah, tmp }) {
  const c = commitBig(cairn, tmp);
  const b = commitBig(buildah, tmp);
  const rd = readBig(cairn, tmp);
  const mb = (kb) => kb / 1024;
  return {
    title: 'Memory: commit of a 1 GB change (4,000 files + one 256 MB file), peak RSS via /usr/bin/time -f %M',
    rows: [
      { what: 'peak RSS of cairn commit  vs  buildah commit (MiB)', cairn: mb(c.rssKB), buildah: mb(b.rssKB), unit: 'MiB' },
      { what: 'wall time of that commit (cairn: seal + record)', cairn: c.seconds, buildah: b.seconds },
      { what: 'peak RSS of cairn from tarball: of a 1 GB layer (MiB)', cairn: mb(rd.rssKB), unit: 'MiB' },
      { what: 'wall time of that from (import + extract)', cairn: rd.seconds },
    ],
    goals: [
      { goal: 'memory during a 1 GB commit: cairn < 200 MiB', measured: mb(c.rssKB), kind: 'MiB', target: 200, pass: mb(c.rssKB) < 200 },
      { goal: 'memory reading a 1 GB layer: cairn < 200 MiB', measured: mb(rd.rssKB), kind: 'MiB', target: 200, pass: mb(rd.rssKB) < 200 },
    ],
  };
}
