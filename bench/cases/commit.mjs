// Sealing and committing the 200 MB change: cairn checkpoint + commit vs buildah commit, plus scale references.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log.mjs';
import { median, ratio } from '../stats.mjs';
import { flush, timed } from '../sh.mjs';
import { BASE } from './base.mjs';
import { ONE_SHOT_RUNS } from './copy.mjs';

/** The image name the last committed run keeps (debian + tree), for the `from` case. */
export const TREE_IMAGE = 'localhost/debian-tree:bench';

/** A fresh container from the base image holding the copied tree (untimed), synced to disk. */
function prepared(t, tree) {
  const c = t.run(['from', BASE]);
  t.run(t.name === 'buildah' ? ['copy', '--quiet', c, tree, '/data'] : ['copy', c, tree, '/data']);
  flush();
  return c;
}

/** The last layer (mediaType, size) of a stored cairn image, from `cairn inspect`. */
function lastLayer(cairn, image) {
  const m = JSON.parse(cairn.run(['inspect', image])).manifest;
  return m.layers[m.layers.length - 1];
}

/**
 * Three runs per tool on fresh containers with the tree copied in (alternating order): buildah commit;
 * cairn checkpoint then commit. Both keep the layer uncompressed in local storage, as buildah does
 * (compression happens at push). The last run of each keeps its image as TREE_IMAGE, which is then pushed
 * to an OCI layout with gzip by both tools (for scale). Goal: checkpoint + commit ≤ 1.3× `tar -c tree |
 * sha256sum` in the same run (the floors case: reading, packing and digesting the change once).
 */
export function commitCase({ cairn, buildah, tree, tmp, floors }) {
  const t = { buildah: [], checkpoint: [], commit: [], sum: [] };
  let layer;
  for (let i = 0; i < ONE_SHOT_RUNS; i++) {
    const last = i === ONE_SHOT_RUNS - 1;
    const img = last ? TREE_IMAGE : `localhost/commit-run:${i}`;
    const steps = {
      buildah() {
        log(`commit: buildah run ${i + 1}/${ONE_SHOT_RUNS}`);
        const c = prepared(buildah, tree);
        t.buildah.push(buildah.time(['commit', '--quiet', c, img]).seconds);
        buildah.run(['rm', c]);
        if (!last) buildah.run(['rmi', img]);
        flush();
      },
      cairn() {
        log(`commit: cairn checkpoint + commit run ${i + 1}/${ONE_SHOT_RUNS}`);
        const c = prepared(cairn, tree);
        const cp = cairn.time(['checkpoint', '-m', 'bench tree', c]).seconds;
        const cm = cairn.time(['commit', c, img]).seconds;
        t.checkpoint.push(cp);
        t.commit.push(cm);
        t.sum.push(cp + cm);
        layer = lastLayer(cairn, img);
        cairn.run(['rm', c]);
        if (!last) cairn.run(['rmi', img]);
        flush();
      },
    };
    for (const name of i % 2 ? ['cairn', 'buildah'] : ['buildah', 'cairn']) steps[name]();
  }
  log('commit: push with gzip to an OCI layout (one run each)');
  const pc = timed(cairn.bin, cairn.argv(['push', TREE_IMAGE, `oci:${path.join(tmp, 'push-cairn')}:t`]).slice(1), { env: cairn.env }).seconds;
  const pb = buildah.time(['push', '--quiet', TREE_IMAGE, `oci:${path.join(tmp, 'push-buildah')}:t`]).seconds;
  const b = median(t.buildah);
  const sum = median(t.sum);
  const r = ratio(sum, floors?.tarSum);
  return {
    title: `checkpoint + commit of that change: layer sealed and digested, image recorded (median of ${ONE_SHOT_RUNS})`,
    rows: [
      { what: 'cairn checkpoint + commit  vs  buildah commit', cairn: sum, buildah: b, runs: { cairn: t.sum, buildah: t.buildah } },
      { what: `  floor: tar -c tree | sha256sum (this run); cairn / floor = ${r?.toFixed(2) ?? '?'}×`, other: floors?.tarSum, indent: true },
      { what: '  of which cairn checkpoint (scan, tar, sha256; the upper dir becomes the layer)', cairn: median(t.checkpoint), indent: true },
      { what: '  of which cairn commit (config + manifest)', cairn: median(t.commit), indent: true },
      { what: 'for scale: push of that image to oci: with gzip (one run)', cairn: pc, buildah: pb },
    ],
    notes: [
      `cairn's sealed layer is ${layer.mediaType.split('.').pop()} (${(layer.size / 1e6).toFixed(1)} MB), kept as its tree and packed again when pushed;`,
      `buildah keeps its layer as a diff directory too. Both compress at push.`,
    ],
    goals: [{ goal: 'checkpoint + commit: cairn ≤ 1.3× tar | sha256sum', measured: r, kind: 'ratio', target: 1.3, pass: r !== undefined && r <= 1.3 }],
  };
}

/**
 * The floors, measured first so the goals compare with them in the same run: `cp -a` of the tree and
 * `tar -c tree | sha256sum` (median of 3 each, sync before each timing, untimed), and one `tar -c tree |
 * gzip -6`: what gzip alone costs, whoever runs it. Leaves them in ctx.floors for the copy and commit cases.
 */
export function scaleCase(ctx) {
  const { tree, tmp } = ctx;
  const cp = [];
  const tarsum = [];
  const dst = path.join(tmp, 'cp-a');
  for (let i = 0; i < ONE_SHOT_RUNS; i++) {
    log(`scale: cp -a / tar | sha256sum run ${i + 1}/${ONE_SHOT_RUNS}`);
    rmSync(dst, { recursive: true, force: true });
    mkdirSync(dst);
    flush();
    cp.push(timed('cp', ['-a', tree, dst]).seconds);
    rmSync(dst, { recursive: true, force: true });
    flush();
    tarsum.push(timed('sh', ['-c', 'tar -c -C "$1" . | sha256sum', 'sh', tree]).seconds);
  }
  log('scale: tar | gzip -6 (one run)');
  const gz = timed('sh', ['-c', 'tar -c -C "$1" . | gzip -6 | wc -c', 'sh', tree]);
  ctx.floors = { cpA: median(cp), tarSum: median(tarsum), gzip: gz.seconds };
  return {
    title: 'Floors: plain tools on the same tree (median of 3 unless marked)',
    rows: [
      { what: 'cp -a tree DEST (write 200 MB, 10,000 files)', other: median(cp) },
      { what: 'tar -c tree | sha256sum (read + tar + digest, no write)', other: median(tarsum) },
      { what: `tar -c tree | gzip -6 (one run; the gzip floor, ${(Number(gz.stdout) / 1e6).toFixed(1)} MB out)`, other: gz.seconds },
    ],
  };
}
