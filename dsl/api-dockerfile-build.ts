import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Container } from './api-container.js';
import { image, storeRoot } from './api.js';
import { epochOption, type Image } from './api-image.js';
import { writeFileAtomic } from './core/atomic.js';
import { BadInputError, NotFoundError, isCairnError } from './core/errors.js';
import { step, warn } from './core/events.js';
import { makeDirs } from './core/fsutil.js';
import { DEFAULT_PATH_ENV } from './core/which.js';
import { cacheLocation } from './dockerfile/cache-records.js';
import { contextHashes } from './dockerfile/context-hashes.js';
import { contextSources, type BuildContext } from './dockerfile/context-sources.js';
import { expandWords } from './dockerfile/expand.js';
import { healthcheckTimes } from './dockerfile/healthcheck.js';
import { contextFilter } from './dockerfile/ignore.js';
import type { Dockerfile, Instruction, Stage } from './dockerfile/model.js';
import { parseRemembered } from './dockerfile/parse-cache.js';
import { BuildScope, hostPlatform, type PlatformSpec } from './dockerfile/scope.js';
import { neededStages, stageRef } from './dockerfile/stages.js';
import { baseIdentity } from './dockerfile/step-identity.js';
import type { DockerfileBuildOptions } from './api-dockerfile.js';
import { exportCache } from './api-dockerfile-cache.js';
import { buildContainer, clearOnBuild, liveStage, notMadeYet, openBase } from './api-dockerfile-from.js';
import { flagsOf, runInstruction, type BuildState, type StageState } from './api-dockerfile-steps.js';

/*
 * The builder behind buildDockerfile (api-dockerfile.ts, which loads it when a build starts): the Dockerfile read
 * and parsed, its stages run one by one, the last one's image named.
 */

/** The Dockerfile's path and text, and the name messages give it. */
async function readDockerfile(o: DockerfileBuildOptions, contextDir: string): Promise<{ file?: string; shown: string; text: string }> {
  if (o.file === '-' || (o.file === undefined && o.text !== undefined)) {
    if (o.text === undefined) throw new BadInputError('the Dockerfile is `-` but no text was given', { hint: 'pipe the Dockerfile on standard input' });
    return { shown: o.file ?? 'Dockerfile', text: o.text };
  }
  const candidates = o.file !== undefined ? [o.file] : [path.join(contextDir, 'Dockerfile'), path.join(contextDir, 'Containerfile')];
  for (const f of candidates) {
    const text = await fsp.readFile(f, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    if (text !== undefined) return { file: path.resolve(f), shown: o.file ?? path.basename(f), text };
  }
  throw new NotFoundError(o.file !== undefined ? `Dockerfile ${o.file} does not exist` : `no Dockerfile or Containerfile in ${o.context}`, {
    hint: 'give the file with -f FILE (or -f - for standard input)',
  });
}

/** The platform the build is for: `os/arch[/variant]`, else this machine's. */
function buildPlatform(given: string | undefined, host: PlatformSpec): PlatformSpec {
  if (!given) return host;
  const [os, arch, variant] = given.split('/');
  if (!os || !arch) throw new BadInputError(`invalid platform ${given}`, { hint: 'use OS/ARCH[/VARIANT], e.g. linux/amd64' });
  return variant ? { os, arch, variant } : { os, arch };
}

/** The number of steps the needed stages take (FROM counts as one, as buildah counts it). */
function stepCount(stages: Stage[]): number {
  return stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
}

/** Builds an image from a Dockerfile and a context directory; resolves to its ID and names. */
export async function runDockerfileBuild(opts: DockerfileBuildOptions): Promise<{ id: string; names: string[] }> {
  if (typeof opts?.context !== 'string') throw new BadInputError('buildDockerfile needs a context directory', { hint: "buildDockerfile({ context: '.', tags: ['localhost/app'] })" });
  const contextDir = await fsp.realpath(opts.context).catch(() => {
    throw new NotFoundError(`the build context ${opts.context} does not exist`, { hint: 'give an existing directory as CONTEXT' });
  });
  if (!(await fsp.stat(contextDir)).isDirectory()) throw new BadInputError(`the build context ${opts.context} is not a directory`);
  if (opts.format !== undefined && opts.format !== 'oci' && opts.format !== 'docker') throw new BadInputError(`unknown format ${opts.format}`, { hint: 'use oci or docker' });
  const df = await readDockerfile(opts, contextDir);
  const root = await storeRoot(opts);
  const parsed: Dockerfile = await parseRemembered(df.text, df.shown, root);
  const ctx: BuildContext = { dir: contextDir, filter: await contextFilter(contextDir, df.file) };
  const scope = BuildScope.create(parsed, { ...(opts.buildArgs ?? {}) }, buildPlatform(opts.platform, hostPlatform()));
  const stages = neededStages(parsed, opts.target, scope.fromLookup());
  // The step cache keys COPY/ADD by content: with layers, file digests are remembered by stat between builds.
  if (opts.layers) ctx.hashes = contextHashes(root, contextDir);
  const timestamp = await epochOption(opts.timestamp);
  const tmp = path.join(root, 'tmp', `dockerfile-${process.pid}-${Date.now()}`);
  const made: Container[] = [];
  const images: Image[] = [];
  const st: BuildState = {
    df: parsed, ctx, opts, root, timestamp, stageRef: (ref, before) => stageRef(parsed, ref, before), stages: new Map(), made,
    steps: { n: 0, total: stepCount(stages) }, cacheUsed: [],
    tmpDir: async () => {
      await makeDirs(tmp);
      return fsp.mkdtemp(path.join(tmp, 'x-'));
    },
  };
  await precheck(st, stages);
  if (opts.cacheFrom?.length || opts.cacheTo !== undefined) {
    // A cache place that cannot be one is refused before any step runs.
    for (const c of [...(opts.cacheFrom ?? []), ...(opts.cacheTo !== undefined ? [opts.cacheTo] : [])]) cacheLocation(c);
  }
  if (!opts.layers && (opts.cacheFrom?.length || opts.cacheTo !== undefined)) warn('--cache-from and --cache-to take effect only with --layers (the step cache is kept for layered builds)');
  try {
    let last: StageState | undefined;
    for (const stage of stages) last = await runStage(st, stage, scope, images, stage === stages.at(-1));
    if (!last) throw new BadInputError(`${df.shown} has no stage to build`, { hint: 'a Dockerfile starts with FROM' });
    for (const u of scope.unusedBuildArgs()) warn(`build argument ${u} is not used by the Dockerfile`);
    const img = await finalImage(st, last);
    if (opts.cacheTo !== undefined) await exportCache(st, opts.cacheTo);
    const names = (await img.record()).names;
    if (opts.iidfile !== undefined) await writeFileAtomic(opts.iidfile, `sha256:${img.id}`);
    return { id: img.id, names };
  } finally {
    for (const c of made.reverse()) await c.remove().catch(() => undefined);
    for (const i of images) await i.remove().catch(() => undefined);
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * The build's result: with layers, the image of the last stage's last step when nothing is added to it (the
 * same image a cached rebuild gives), named with the tags; else the last stage's container committed.
 */
async function finalImage(st: BuildState, last: StageState): Promise<Image> {
  const o = st.opts;
  if (o.layers && last.lastImage && !o.squash && !(o.labels && Object.keys(o.labels).length)) {
    const img = await image(last.lastImage, { root: st.root });
    if (o.format === 'docker') {
      // The steps' images are OCI (the step cache holds one form): the result is the last one in Docker form.
      const [{ reformatImage }, { normalizeName }] = await Promise.all([import('./image/store-image.js'), import('./oci/reference.js')]);
      const rec = await reformatImage(img.store, await img.record(), 'docker', (o.tags ?? []).map((t) => normalizeName(t)));
      return image(rec.id, { root: st.root });
    }
    if (o.tags?.length) await img.tag(...o.tags);
    return img;
  }
  if (o.layers) await liveStage(st, last);
  if (o.labels) await last.c.config({ labels: o.labels });
  return last.c.commit({ names: [...(o.tags ?? [])], squash: o.squash === true, timestamp: st.timestamp, format: o.format });
}

/** Runs one stage from its FROM; returns its state (its container holds the result). */
async function runStage(st: BuildState, stage: Stage, scope: BuildScope, images: Image[], isLast: boolean): Promise<StageState> {
  const fromInstr = stage.from;
  const words = expandWords(fromInstr.args.join(' '), scope.fromLookup(), st.df.escape, fromInstr.place);
  const ref = words[0];
  if (!ref) throw new BadInputError(`${placeOf(fromInstr)}: FROM needs an image`, { hint: 'FROM IMAGE [AS NAME]' });
  let baseStage: string | undefined;
  const o = st.opts;
  const opened = await announce(st, fromInstr, async () => {
    const earlier = st.stageRef(ref, stage.index);
    let base = ref;
    if (earlier) {
      // An earlier stage as a base: its result committed as an image (removed when the build ends).
      const prev = st.stages.get(earlier.index);
      if (!prev) throw new BadInputError(`${placeOf(fromInstr)}: stage ${ref} was not built`);
      if (prev.lastImage) base = prev.lastImage;
      else {
        const img = await prev.c.commit({ timestamp: st.timestamp });
        images.push(img);
        base = img.id;
      }
      baseStage = prev.identity;
    }
    // With the step cache, the container waits until a step misses (a fully cached build makes none).
    return openBase(st, base, o.layers === true && !o.noCache && !o.squash);
  });
  const c = opened.c;
  const rc = opened.config;
  // As Docker and buildah: a stage whose base sets no PATH (scratch, most often) gets the default one.
  const env = [...(rc.Env ?? [])];
  const added: string[] = [];
  if (!env.some((e) => e.startsWith('PATH='))) {
    env.push(DEFAULT_PATH_ENV);
    added.push(DEFAULT_PATH_ENV);
  }
  if (c) await buildContainer(c, added);
  const state: StageState = {
    stage, c: c as Container, scope: scope.stage(env), shell: rc.Shell?.length ? [...rc.Shell] : ['/bin/sh', '-c'], workdir: rc.WorkingDir || '/', cmdSet: false,
    // A stage built on an earlier one chains on that stage's identity (its image is made afresh when not cached).
    identity: baseIdentity(baseStage !== undefined ? `stage:${baseStage}` : opened.imageId),
    layerImage: opened.imageId,
  };
  if (!c) {
    state.lazy = { image: opened.imageId!, env: added };
    notMadeYet(state);
  }
  st.stages.set(stage.index, state);
  if (rc.OnBuild?.length) await runTriggers(st, state, ref, rc.OnBuild);
  for (const instr of stage.instructions) await announce(st, instr, (id) => runInstruction(st, state, instr, id));
  // A stage that ended on hits, read by a later one (COPY --from, RUN --mount from=), needs a container of its result.
  if ((state.hit || state.lazy) && !isLast) await liveStage(st, state);
  return state;
}

/**
 * Runs the ONBUILD triggers of a stage's base right after its FROM (as Docker and buildah do): each is a step of
 * its own (counted in N from now on, as buildah counts them; its place is `IMAGE ONBUILD:N`), keyed in the step
 * cache like any step; the stage's config then holds none of them.
 */
async function runTriggers(st: BuildState, s: StageState, ref: string, triggers: string[]): Promise<void> {
  // The triggers' parser (dockerfile-ast) is loaded only for a base that has some (parse-cache.ts).
  const { triggerInstruction } = await import('./dockerfile/onbuild.js');
  const instrs = triggers.map((t, i) => triggerInstruction(t, ref, i + 1));
  if (s.lazy) s.lazy.clearOnBuild = true;
  else await clearOnBuild(s.c);
  st.steps.total += instrs.length;
  for (const instr of instrs) await announce(st, instr, (id) => runInstruction(st, s, instr, id));
}

/** FILE:LINE:COL of an instruction. */
function placeOf(i: Instruction): string {
  return `${i.place.file}:${i.place.line}:${i.place.column}`;
}

/** Runs one step as `STEP n/N: TEXT`; a failure names the step and its place. */
async function announce<T>(st: BuildState, instr: Instruction, fn: (stepId: string) => Promise<T>): Promise<T> {
  const n = ++st.steps.n;
  const title = `STEP ${n}/${st.steps.total}: ${instr.text}`;
  try {
    return await step('dockerfile', title, fn);
  } catch (err) {
    if (isCairnError(err) && !err.message.startsWith(`${instr.place.file}:`)) err.message = `${placeOf(instr)}: ${err.message}`;
    if (isCairnError(err)) err.message = `${err.message} (at STEP ${n}/${st.steps.total}: ${instr.text})`;
    throw err;
  }
}

/**
 * What can be refused before any step runs: a flag an instruction does not take, COPY/ADD sources (with no
 * variable in them) that leave the context, are missing or excluded, and --from names that are neither a stage
 * nor an image in the store.
 */
async function precheck(st: BuildState, stages: Stage[]): Promise<void> {
  for (const stage of stages) {
    for (const instr of stage.instructions) {
      flagsOf(instr);
      if (instr.keyword === 'HEALTHCHECK') healthcheckTimes(instr);
      if (instr.keyword !== 'COPY' && instr.keyword !== 'ADD') continue;
      const fromFlag = instr.flags.find((f) => f.name === 'from');
      if (fromFlag?.value !== undefined && !fromFlag.value.includes('$')) {
        if (!st.stageRef(fromFlag.value, stage.index) && /^[\w.-]+$/.test(fromFlag.value) && !/^\d+$/.test(fromFlag.value)) {
          const known = await image(fromFlag.value, { root: st.root }).then(() => true, () => false);
          if (!known) {
            const names = st.df.stages.filter((s) => s.index < stage.index && s.name).map((s) => s.name);
            throw new BadInputError(`${placeOf(instr)}: --from=${fromFlag.value} names no earlier stage and no stored image`, {
              hint: names.length ? `earlier stages: ${names.join(', ')}` : 'name a stage with FROM IMAGE AS NAME before it',
            });
          }
        }
        continue;
      }
      if (fromFlag || instr.heredocs.length) continue;
      const words = instr.json ? instr.args : instr.args.join(' ').split(/\s+/).filter(Boolean);
      const sources = words.slice(0, -1);
      if (sources.some((s) => /[$"'\\`]/.test(s))) continue;
      await contextSources(st.ctx, sources, instr.place);
    }
  }
}
