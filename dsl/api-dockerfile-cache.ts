import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { from, image, pull } from './api.js';
import { emit } from './core/events.js';
import type { ImageConfig } from './oci/types.js';
import type { BuildState, StageState } from './api-dockerfile-steps.js';
import type { Instruction } from './dockerfile/model.js';
import { cacheLocation, exportedRecords, readStepRecord, stepCacheDir, writeStepRecord, type StepCacheRecord } from './dockerfile/cache-records.js';
import { sourcesDigest } from './dockerfile/cache-sources.js';
import * as ex from './dockerfile/expand.js';
import { parseMount } from './dockerfile/mounts.js';

/*
 * The step cache of a Dockerfile build with layers (dockerfile/cache-records.ts holds the records). A step whose
 * key has a record is not run: the stage's variables follow it, and the stage's container is left behind until
 * a step misses, when a container is made from the record's base image with its config and pending history put
 * back, so what follows is built exactly as if every step had run. A stage that ends on hits is the record's image.
 */

/** The step's inputs beyond its text and variables: the content COPY/ADD read, what RUN mounts bind. */
export async function contentInputs(st: BuildState, s: StageState, instr: Instruction): Promise<string[]> {
  const lookup = (n: string) => s.scope.lookup(n);
  const expand = (v: string, place = instr.place) => ex.expandWord(v, lookup, st.df.escape, place);
  const refInput = async (ref: string): Promise<string> => {
    const stage = st.stageRef(ref, s.stage.index);
    if (stage) return `stage ${st.stages.get(stage.index)?.identity ?? ref}`;
    return `image ${await image(ref, { root: st.root }).then((i) => i.id, () => ref)}`;
  };
  const out: string[] = [];
  if (instr.keyword === 'COPY' || instr.keyword === 'ADD') {
    const f = instr.flags.find((x) => x.name === 'from');
    if (f) return [await refInput(expand(f.value ?? '', f.place))];
    if (instr.heredocs.length) return out;
    const words = instr.json ? instr.args.map((a) => expand(a)) : ex.expandWords(instr.args.join(' '), lookup, st.df.escape, instr.place);
    out.push(`content ${await sourcesDigest(st.ctx, words.slice(0, -1), instr.place)}`);
  } else if (instr.keyword === 'RUN') {
    for (const f of instr.flags.filter((x) => x.name === 'mount')) {
      const m = parseMount(expand(f.value ?? '', f.place), f.place);
      // A secret counts by its ID and whether the build has it, never by content; a cache mount by its ID alone.
      if (m.type === 'secret') out.push(`secret ${m.id} ${st.opts.secrets?.[m.id] !== undefined}`);
      else if (m.type === 'cache') out.push(`cache ${m.id}`);
      else if (m.type === 'bind') {
        if (m.from !== undefined) out.push(`bind ${await refInput(m.from)} ${m.source}`);
        else out.push(`bind ${(await sourcesDigest(st.ctx, [m.source], f.place))}`);
      }
    }
  }
  return out;
}

/** True when both images of a record are in the store. */
async function present(st: BuildState, r: StepCacheRecord): Promise<boolean> {
  const have = (id: string) => image(id, { root: st.root }).then((i) => i.id === id, () => false);
  return (await have(r.image)) && (r.base === undefined || (await have(r.base)));
}

/** The record of key: in the store, else in a --cache-from export (its images pulled into the store). */
async function lookup(st: BuildState, key: string): Promise<StepCacheRecord | undefined> {
  const local = await readStepRecord(stepCacheDir(st.root), key);
  if (local && (await present(st, local))) return local;
  for (const from of st.opts.cacheFrom ?? []) {
    const { dir, repo } = cacheLocation(from);
    if (repo !== undefined) {
      const hit = await (await import('./api-dockerfile-cache-registry.js')).registryLookup(st, repo, key);
      if (!hit) continue;
      await writeStepRecord(stepCacheDir(st.root), hit);
      return hit;
    }
    const r = await readStepRecord(exportedRecords(dir), key);
    if (!r) continue;
    const got = await pull(`oci:${path.resolve(dir)}:${key}`, { root: st.root }).catch(() => undefined);
    if (got?.id !== r.image) continue;
    if (r.base !== undefined && r.base !== r.image && !(await present(st, { ...r, image: r.base }))) {
      const b = await pull(`oci:${path.resolve(dir)}:base-${key}`, { root: st.root }).catch(() => undefined);
      if (b?.id !== r.base) continue;
    }
    await writeStepRecord(stepCacheDir(st.root), r);
    return r;
  }
  return undefined;
}

/**
 * With layers and without --no-cache: when the step's key (s.identity) has a record, takes it instead of running
 * the step (the variables follow the instruction, `--> Using cache ID` is printed); true on a hit.
 */
export async function cachedStep(st: BuildState, s: StageState, instr: Instruction, stepId: string): Promise<boolean> {
  if (st.opts.noCache) return false;
  const r = await lookup(st, s.identity);
  if (!r) return false;
  await follow(st, s, instr);
  s.hit = r;
  s.layerImage = r.base;
  s.lastImage = r.image;
  st.cacheUsed.push(r);
  if (!st.opts.quiet) emit({ type: 'output', id: stepId, stream: 'stderr', data: Buffer.from(`--> Using cache ${r.image.slice(0, 12)} (cached)\n`) });
  return true;
}

/** What a step not run still changes in the build's own state: variables, working directory, shell, CMD. */
async function follow(st: BuildState, s: StageState, instr: Instruction): Promise<void> {
  const lookupVar = (n: string) => s.scope.lookup(n);
  const arg = instr.args.join(' ');
  switch (instr.keyword) {
    case 'ENV':
      for (const [k, v] of ex.keyValues(arg, lookupVar, st.df.escape, instr.place)) s.scope.setEnv(k, v);
      break;
    case 'ARG':
      s.scope.declareArg(instr);
      break;
    case 'WORKDIR':
      s.workdir = path.posix.resolve(s.workdir, ex.expandWord(arg, lookupVar, st.df.escape, instr.place));
      break;
    case 'SHELL':
      s.shell = [...instr.args];
      break;
    case 'CMD':
      s.cmdSet = true;
      break;
    default:
  }
}

/** Makes the stage's container hold what its hits left (after a hit, before a step runs or the stage is used). */
export async function ensureLive(st: BuildState, s: StageState): Promise<void> {
  const hit = s.hit;
  if (!hit) return;
  const c = await from(hit.base ?? 'scratch', { root: st.root });
  st.made.push(c);
  const { withContainer } = await import('./container/engine.js');
  await withContainer(c.store, c.id, async (rec) => {
    rec.config = { ...hit.config, rootfs: rec.config.rootfs, history: rec.config.history } as ImageConfig;
    rec.pending = [...hit.pending];
    await c.store.containers.save(rec);
  });
  const old = s.c;
  s.c = c;
  s.hit = undefined;
  st.made.splice(st.made.indexOf(old), 1);
  await old.remove().catch(() => undefined);
}

/** Records what the step that just ran left, under its key: an image of the state and the base to go on from. */
export async function recordStep(st: BuildState, s: StageState, instr: Instruction): Promise<void> {
  const [{ withContainer }, { commitContainer }] = await Promise.all([import('./container/engine.js'), import('./container/commit.js')]);
  const c = s.c;
  const snap = await withContainer(c.store, c.id, async (rec, d) => {
    const pending = [...rec.pending];
    // An image of the state as commit makes it, the pending history kept on the container for the next layer.
    const img = await commitContainer(c.store, rec, d, { timestamp: st.timestamp });
    if (pending.length && rec.pending.length === 0) {
      rec.pending = pending;
      await c.store.containers.save(rec);
    }
    const { rootfs: _r, history: _h, ...config } = rec.config;
    return { id: img.id, pending, config };
  });
  if (snap.pending.length === 0) s.layerImage = snap.id;
  s.lastImage = snap.id;
  const r: StepCacheRecord = {
    key: s.identity, instruction: instr.text, image: snap.id, base: s.layerImage, pending: snap.pending, config: snap.config, created: new Date().toISOString(),
  };
  await writeStepRecord(stepCacheDir(st.root), r);
  st.cacheUsed.push(r);
}

/** Writes the records this build made or used, with their images, into the OCI layout dir or the registry repository `to` names (--cache-to). */
export async function exportCache(st: BuildState, to: string): Promise<void> {
  const { dir, repo } = cacheLocation(to);
  if (repo !== undefined) return (await import('./api-dockerfile-cache-registry.js')).exportToRegistry(st, repo);
  const layout = path.resolve(dir);
  await fsp.mkdir(layout, { recursive: true });
  for (const r of st.cacheUsed) {
    if (await readStepRecord(exportedRecords(layout), r.key)) continue;
    await (await image(r.image, { root: st.root })).push(`oci:${layout}:${r.key}`);
    if (r.base !== undefined && r.base !== r.image) await (await image(r.base, { root: st.root })).push(`oci:${layout}:base-${r.key}`);
    await writeStepRecord(exportedRecords(layout), r);
  }
}
