// Signed flat images: export against `tar | gzip` of the same tree, verification throughput, cached exec start.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log.mjs';
import { hyperfine } from '../hyperfine.mjs';
import { median, ratio } from '../stats.mjs';
import { flush, sh, timed } from '../sh.mjs';
import { TREE_IMAGE } from './commit.mjs';
import { ONE_SHOT_RUNS } from './copy.mjs';

/**
 * Exports TREE_IMAGE (Debian + the 200 MB tree) three times; times `tar -c | gzip -6` of the same flattened
 * tree (the export extracted); verifies the gzip and a plain-tar export (MB/s of uncompressed data); and
 * times `cairn exec FILE -- true` once the image is cached. Goals: export ≤ 1.2× tar|gzip, verify ≥ 300 MB/s,
 * cached exec < 120 ms.
 */
export function flatCase({ cairn, tmp }) {
  const out = path.join(tmp, 'flat');
  mkdirSync(out, { recursive: true });
  const gz = path.join(out, 'image.tar.gz');
  const exp = [];
  for (let i = 0; i < ONE_SHOT_RUNS; i++) {
    log(`flat: cairn export run ${i + 1}/${ONE_SHOT_RUNS}`);
    rmSync(gz, { force: true });
    flush();
    exp.push(cairn.time(['export', TREE_IMAGE, gz]).seconds);
  }
  const tree = path.join(out, 'tree');
  mkdirSync(tree);
  sh('tar', ['-xzf', gz, '-C', tree]);
  const tg = [];
  for (let i = 0; i < ONE_SHOT_RUNS; i++) {
    log(`flat: tar -c | gzip -6 run ${i + 1}/${ONE_SHOT_RUNS}`);
    flush();
    tg.push(timed('sh', ['-c', 'tar -c -C "$1" . | gzip -6 > "$2"', 'sh', tree, path.join(out, 'ref.tar.gz')]).seconds);
  }
  const plain = path.join(out, 'image.tar');
  cairn.run(['export', TREE_IMAGE, plain]);
  const mb = statSync(plain).size / 1e6;
  log('flat: cairn verify (plain tar, then gzip)');
  const vPlain = median([0, 1, 2].map(() => cairn.time(['verify', plain]).seconds));
  const vGz = median([0, 1, 2].map(() => cairn.time(['verify', gz]).seconds));
  log('flat: cairn exec FILE -- true, cached');
  cairn.run(['exec', gz, '--', 'true']);
  const ex = hyperfine('cairn-exec-cached', cairn.shell(['exec', gz, '--', 'true']), { env: cairn.env, tmpDir: tmp });
  rmSync(out, { recursive: true, force: true });
  const e = median(exp);
  const t = median(tg);
  const r = ratio(e, t);
  const speed = mb / vPlain;
  return {
    title: `signed flat images: export, verify and exec of ${TREE_IMAGE} (${mb.toFixed(0)} MB flattened)`,
    rows: [
      { what: 'cairn export (flatten, sign, gzip)  vs  tar -c | gzip -6 of the same tree', cairn: e, buildah: t, runs: { cairn: exp, 'tar|gzip': tg } },
      { what: `cairn verify of the plain .tar export (${speed.toFixed(0)} MB/s)`, other: vPlain },
      { what: `cairn verify of the gzip export (${(mb / vGz).toFixed(0)} MB/s of tar)`, other: vGz },
      { what: 'cairn exec FILE -- true, image cached (to the service and back)', other: ex.mean, sd: { other: ex.stddev } },
    ],
    columns: ['cairn', 'tar|gzip', 'cairn/tar|gzip'],
    goals: [
      { goal: 'export: ≤ 1.2× tar | gzip', measured: r, kind: 'ratio', target: 1.2, pass: r !== undefined && r <= 1.2 },
      { goal: 'verify: ≥ 300 MB/s', measured: speed, kind: 'MB/s', target: 300, pass: speed >= 300 },
      { goal: 'cached exec: < 120 ms', measured: ex.mean, kind: 'time', target: 0.12, pass: ex.mean < 0.12 },
    ],
  };
}
