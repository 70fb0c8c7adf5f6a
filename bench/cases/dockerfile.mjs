// A 10-step Dockerfile over the Debian base: cairn build --layers vs buildah build --layers, cold and fully cached.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log.mjs';
import { median, ratio } from '../stats.mjs';
import { flush } from '../sh.mjs';
import { BASE } from './base.mjs';
import { ONE_SHOT_RUNS } from './copy.mjs';

/** The image each build tags. */
const TAG = 'localhost/dockerfile:bench';

/** How many of the bench tree's directories the context holds (each about 2.5 MB, 100 files). */
const CONTEXT_DIRS = 4;

/** Ten steps, all offline: ENV, WORKDIR, RUN writing files and users, COPY of part of the bench tree, ARG, USER, CMD. */
const DOCKERFILE = `FROM ${BASE}
ENV APP_HOME=/srv/app LANG=C.UTF-8
WORKDIR /srv/app
RUN mkdir -p data logs && for i in $(seq 1 200); do echo "record $i" > data/r$i.txt; done
COPY src/ ./src/
RUN find src -type f | sort | xargs sha256sum > manifest.txt
RUN useradd -u 1500 -d /srv/app -M app && chown -R app:app /srv/app
ARG VERSION=1.0
RUN echo "$VERSION" > VERSION && tar -cf /srv/app.tar -C /srv app
USER app
`;

/** Writes the context (Dockerfile + CONTEXT_DIRS directories of the tree under src/) into tmp/dockerfile-ctx. */
function makeContext(tmp, tree) {
  const dir = path.join(tmp, 'dockerfile-ctx');
  mkdirSync(path.join(dir, 'src'), { recursive: true });
  for (let i = 0; i < CONTEXT_DIRS; i++) {
    const d = `d${String(i).padStart(2, '0')}`;
    cpSync(path.join(tree, d), path.join(dir, 'src', d), { recursive: true });
  }
  writeFileSync(path.join(dir, 'Dockerfile'), DOCKERFILE);
  return dir;
}

/** The build command of each tool (stdout: the image ID), with --no-cache for a cold build. */
function buildArgs(t, ctx, cold) {
  const file = path.join(ctx, 'Dockerfile');
  const nc = cold ? ['--no-cache'] : [];
  return t.name === 'cairn'
    ? ['build', '--layers', ...nc, '-q', '-t', TAG, '-f', file, ctx]
    : ['build', '--layers', '--isolation', 'chroot', ...nc, '-q', '-t', TAG, '-f', file, ctx];
}

/** The image ID a build printed (last line, without `sha256:`). */
const idOf = (stdout) => stdout.trim().split('\n').pop().replace(/^sha256:/, '');

/**
 * Per tool, ONE_SHOT_RUNS rounds (alternating which tool goes first): a cold build (`--no-cache`: every
 * step runs), an untimed plain build (so the step cache is filled whatever --no-cache records), then a timed
 * rebuild with nothing changed. A rebuild that reused every step gives the same image ID as the build before
 * it; that is reported. Goals: cold ≤ 0.7× buildah's; cached ≤ 0.2× buildah's cached.
 */
export function dockerfileCase({ cairn, buildah, tmp, tree }) {
  const ctx = makeContext(tmp, tree);
  const times = { cold: { cairn: [], buildah: [] }, cached: { cairn: [], buildah: [] } };
  const reused = { cairn: [], buildah: [] };
  for (let i = 0; i < ONE_SHOT_RUNS; i++) {
    for (const t of i % 2 ? [cairn, buildah] : [buildah, cairn]) {
      log(`dockerfile: ${t.name} cold build ${i + 1}/${ONE_SHOT_RUNS}`);
      flush();
      times.cold[t.name].push(t.time(buildArgs(t, ctx, true)).seconds);
      const warm = idOf(t.run(buildArgs(t, ctx, false)));
      flush();
      log(`dockerfile: ${t.name} cached rebuild ${i + 1}/${ONE_SHOT_RUNS}`);
      const r = t.time(buildArgs(t, ctx, false));
      times.cached[t.name].push(r.seconds);
      reused[t.name].push(idOf(r.stdout) === warm);
    }
  }
  const cold = { cairn: median(times.cold.cairn), buildah: median(times.cold.buildah) };
  const cached = { cairn: median(times.cached.cairn), buildah: median(times.cached.buildah) };
  const rc = ratio(cold.cairn, cold.buildah);
  const rr = ratio(cached.cairn, cached.buildah);
  const said = (name) => (reused[name].every(Boolean) ? 'yes' : reused[name].some(Boolean) ? 'in some runs' : 'no');
  return {
    title: `Dockerfile build, 10 steps over the Debian base, --layers (median of ${ONE_SHOT_RUNS})`,
    rows: [
      { what: 'cold: cairn build --layers --no-cache  vs  buildah build --layers --no-cache --isolation chroot', cairn: cold.cairn, buildah: cold.buildah, runs: times.cold },
      { what: 'fully cached rebuild (nothing changed): cairn build --layers  vs  buildah build --layers', cairn: cached.cairn, buildah: cached.buildah, runs: times.cached },
    ],
    notes: [
      `context: ${CONTEXT_DIRS} directories of the bench tree (about ${CONTEXT_DIRS * 2.5} MB); steps: ENV, WORKDIR, 4 RUN, COPY, ARG, USER.`,
      `rebuild reused every step (same image ID as the build before it): cairn ${said('cairn')}, buildah ${said('buildah')}.`,
    ],
    goals: [
      { goal: 'dockerfile cold build: cairn ≤ 0.7× buildah', measured: rc, kind: 'ratio', target: 0.7, pass: rc !== undefined && rc <= 0.7 },
      { goal: 'dockerfile cached rebuild: cairn ≤ 0.2× buildah', measured: rr, kind: 'ratio', target: 0.2, pass: rr !== undefined && rr <= 0.2 },
    ],
  };
}
