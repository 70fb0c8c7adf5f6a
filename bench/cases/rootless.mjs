// Rootless against root: the same verbs, the same workload, cairn as a normal user and as root.
import { chmodSync, chownSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log.mjs';
import { hyperfine } from '../hyperfine.mjs';
import { median, ratio } from '../stats.mjs';
import { flush, sh, shq, timed } from '../sh.mjs';
import { ONE_SHOT_RUNS } from './copy.mjs';

/** The normal user the rootless side runs as (made with a subordinate id range when missing). */
export const BENCH_USER = 'cairnbench';

/** Makes BENCH_USER when missing (useradd gives it /etc/subuid and /etc/subgid ranges); returns its uid. */
function ensureUser() {
  if (sh('id', ['-u', BENCH_USER], { allowFail: true }).status !== 0) sh('useradd', ['-m', BENCH_USER]);
  if (sh('grep', [`^${BENCH_USER}:`, '/etc/subuid'], { allowFail: true }).status !== 0) {
    sh('usermod', ['--add-subuids', '300000-365535', '--add-subgids', '300000-365535', BENCH_USER]);
  }
  return Number(sh('id', ['-u', BENCH_USER]).trim());
}

/** A cairn side: `runuser -u USER -- cairn --root ROOT …`, the same wrapper for root and the normal user. */
function side(user, bin, root) {
  const argv = (args) => ['-u', user, '--', bin, '--root', root, ...args];
  return {
    run: (args) => sh('runuser', argv(args)).trim(),
    time: (args) => timed('runuser', argv(args)).seconds,
    shell: (args) => ['runuser', ...argv(args)].map(shq).join(' '),
  };
}

/**
 * from, run true (hyperfine) and copy of the tree + checkpoint (median of three one-shot runs), by cairn as
 * root and as a normal user with subordinate ids, both through runuser so that both pay the same. Goal: each
 * rootless verb within 1.2× of root.
 */
export function rootlessCase({ cairn, tree, debianTar, tmp }) {
  if (process.getuid() !== 0) throw new Error('the rootless comparison needs root to make its user');
  const uid = ensureUser();
  chmodSync(tmp, 0o755);
  const userRoot = mkdtempSync(path.join(tmp, 'user-'));
  chownSync(userRoot, uid, uid);
  const sides = { root: side('root', cairn.bin, path.join(tmp, 'rootful')), rootless: side(BENCH_USER, cairn.bin, userRoot) };
  const base = 'localhost/rootless-base:bench';
  const t = { root: { copy: [], checkpoint: [] }, rootless: { copy: [], checkpoint: [] } };
  const hf = { root: {}, rootless: {} };
  for (const [name, s] of Object.entries(sides)) {
    log(`rootless: ${name}: importing the Debian base`);
    s.run(['tag', s.run(['pull', `tarball:${debianTar}`]), base]);
    const c = s.run(['from', '--name', 'bench-rootless-run', base]);
    log(`rootless: ${name}: from and run true (hyperfine)`);
    hf[name].from = hyperfine(`${name}-from`, s.shell(['from', '--name', 'bench-rootless-from', base]), { prepare: `${s.shell(['rm', 'bench-rootless-from'])} >/dev/null 2>&1 || true`, tmpDir: tmp });
    hf[name].run = hyperfine(`${name}-run`, s.shell(['run', c, 'true']), { tmpDir: tmp });
    for (let i = 0; i < ONE_SHOT_RUNS; i++) {
      log(`rootless: ${name}: copy + checkpoint run ${i + 1}/${ONE_SHOT_RUNS}`);
      const cc = s.run(['from', base]);
      flush();
      t[name].copy.push(s.time(['copy', cc, tree, '/data']));
      flush();
      t[name].checkpoint.push(s.time(['checkpoint', cc]));
      s.run(['rm', cc]);
    }
    s.run(['rm', '--all']);
  }
  sh('runuser', ['-u', BENCH_USER, '--', cairn.bin, 'unshare', 'rm', '-rf', userRoot], { allowFail: true });
  // The bench's own user: ending every process of it ends its namespace (the pause process).
  sh('pkill', ['-u', BENCH_USER], { allowFail: true });
  const rows = [];
  const goals = [];
  const add = (verb, rootless, root, sd) => {
    rows.push({ what: `cairn ${verb}: rootless  vs  root`, cairn: rootless, buildah: root, ...(sd ? { sd } : {}) });
    const r = ratio(rootless, root);
    goals.push({ goal: `rootless ${verb}: within 1.2× of root`, measured: r, kind: 'ratio', target: 1.2, pass: r !== undefined && r <= 1.2 });
  };
  add('from', hf.rootless.from.mean, hf.root.from.mean, { cairn: hf.rootless.from.stddev, buildah: hf.root.from.stddev });
  add('run CTR true', hf.rootless.run.mean, hf.root.run.mean, { cairn: hf.rootless.run.stddev, buildah: hf.root.run.stddev });
  add('copy (200 MB tree)', median(t.rootless.copy), median(t.root.copy));
  add('checkpoint', median(t.rootless.checkpoint), median(t.root.checkpoint));
  return {
    title: `rootless vs root: the same verbs as a normal user (${BENCH_USER}, subordinate ids) and as root`,
    columns: ['rootless', 'root', 'rootless/root'],
    rows,
    notes: ['both sides run `runuser -u USER -- cairn …`, so the start-up of runuser is on both; one-shot rows are medians of three'],
    goals,
  };
}
