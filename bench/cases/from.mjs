// `from` of a stored image, small and large: hyperfine, cairn vs buildah.
import { log } from '../log.mjs';
import { hyperfine } from '../hyperfine.mjs';
import { BASE } from './base.mjs';
import { TREE_IMAGE } from './commit.mjs';

/** The container name each timed `from` creates (removed by hyperfine's --prepare before each run). */
const NAME = 'bench-from';

/** Hyperfine of `from --name bench-from IMAGE` for one tool, removing the previous container first (untimed). */
function timeFrom(t, image, label, tmpDir) {
  log(`from: ${t.name} from ${image}`);
  const prepare = `${t.shell(['rm', NAME])} >/dev/null 2>&1 || true`;
  const r = hyperfine(`${t.name}-from-${label}`, `${t.shell(['from', '--name', NAME, image])} >/dev/null`, { prepare, env: t.env, tmpDir });
  t.run(['rm', NAME]);
  return r;
}

/**
 * `from` of the Debian base (170 MB) and of debian + tree (370 MB, committed by the commit case), both
 * tools, hyperfine mean (the whole command, Node.js start-up included). Goal: cairn ≤ 120 ms for each image
 * whatever its size.
 */
export function fromCase({ cairn, buildah, tmp }) {
  const rows = [];
  const goals = [];
  for (const [image, label, desc] of [[BASE, 'debian', 'Debian minbase, 170 MB'], [TREE_IMAGE, 'tree', 'Debian + tree, 370 MB']]) {
    const c = timeFrom(cairn, image, label, tmp);
    const b = timeFrom(buildah, image, label, tmp);
    rows.push({ what: `from ${image} (${desc})`, cairn: c.mean, buildah: b.mean, sd: { cairn: c.stddev, buildah: b.stddev } });
    goals.push({ goal: `from (${desc}): cairn ≤ 120 ms`, measured: c.mean, kind: 'time', target: 0.12, pass: c.mean <= 0.12 });
  }
  return { title: 'from of a stored image (hyperfine: warm-up 2, 10 runs, mean ± σ)', rows, goals };
}
