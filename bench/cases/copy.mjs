// `copy` of the 200 MB tree into a fresh container: cairn copy vs buildah copy.
import { log } from '../log.mjs';
import { median, ratio } from '../stats.mjs';
import { flush } from '../sh.mjs';
import { BASE } from './base.mjs';

/** How many one-shot runs per tool (the median is reported). */
export const ONE_SHOT_RUNS = 3;

/**
 * Runs `copy CTR TREE /data` 3 times per tool, each on a fresh container from the base image,
 * alternating which tool goes first, with sync before each timing. Goal: cairn ≤ 1.0× `cp -a` of the same
 * tree in the same run (the floors case); buildah is shown beside it.
 */
export function copyCase({ cairn, buildah, tree, floors }) {
  const times = { cairn: [], buildah: [] };
  const copyArgs = { cairn: (c) => ['copy', c, tree, '/data'], buildah: (c) => ['copy', '--quiet', c, tree, '/data'] };
  for (let i = 0; i < ONE_SHOT_RUNS; i++) {
    for (const t of i % 2 ? [cairn, buildah] : [buildah, cairn]) {
      log(`copy: ${t.name} run ${i + 1}/${ONE_SHOT_RUNS}`);
      const c = t.run(['from', BASE]);
      flush();
      times[t.name].push(t.time(copyArgs[t.name](c)).seconds);
      t.run(['rm', c]);
      flush();
    }
  }
  const c = median(times.cairn);
  const b = median(times.buildah);
  const r = ratio(c, floors?.cpA);
  return {
    title: `copy of the 200 MB / 10,000-file tree into a fresh container (median of ${ONE_SHOT_RUNS})`,
    rows: [
      { what: 'cairn copy CTR tree /data  vs  buildah copy CTR tree /data', cairn: c, buildah: b, runs: times },
      { what: `  floor: cp -a tree DEST (this run); cairn / floor = ${r?.toFixed(2) ?? '?'}×`, other: floors?.cpA, indent: true },
    ],
    goals: [{ goal: 'copy: cairn ≤ 1.0× cp -a', measured: r, kind: 'ratio', target: 1.0, pass: r !== undefined && r <= 1.0 }],
  };
}
