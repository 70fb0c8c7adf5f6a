// `run CTR true`: cairn run vs buildah run --isolation chroot, with hyperfine.
import { log } from '../log.mjs';
import { hyperfine } from '../hyperfine.mjs';
import { ratio } from '../stats.mjs';
import { shq } from '../sh.mjs';
import { BASE } from './base.mjs';

/**
 * One container per tool from the base image, then hyperfine of `cairn run CTR true` and
 * `buildah run --isolation chroot CTR true`, and `node -e 0` for scale. Goal: cairn ≤ 0.6× buildah.
 */
export function runCase({ cairn, buildah, tmp }) {
  const cc = cairn.run(['from', '--name', 'bench-run', BASE]);
  const bc = buildah.run(['from', '--name', 'bench-run', BASE]);
  log('run: cairn run CTR true');
  const c = hyperfine('cairn-run-true', `${cairn.shell(['run', cc, 'true'])}`, { env: cairn.env, tmpDir: tmp });
  log('run: buildah run --isolation chroot CTR true');
  const b = hyperfine('buildah-run-true', `${buildah.shell(['run', '--isolation', 'chroot', bc, 'true'])}`, { env: buildah.env, tmpDir: tmp });
  log('run: node -e 0 (for scale)');
  const n = hyperfine('node-e-0', `${shq(process.execPath)} -e 0`, { tmpDir: tmp });
  cairn.run(['rm', cc]);
  buildah.run(['rm', bc]);
  const r = ratio(c.mean, b.mean);
  return {
    title: 'run CTR true (hyperfine: warm-up 2, 10 runs, mean ± σ)',
    rows: [
      { what: 'cairn run CTR true  vs  buildah run --isolation chroot CTR true', cairn: c.mean, buildah: b.mean, sd: { cairn: c.stddev, buildah: b.stddev } },
      { what: 'for scale: node -e 0 (Node.js start-up, the floor under every cairn verb)', other: n.mean, sd: { other: n.stddev } },
    ],
    goals: [{ goal: 'run CTR true: cairn ≤ 0.4× buildah', measured: r, kind: 'ratio', target: 0.4, pass: r !== undefined && r <= 0.4 }],
  };
}
