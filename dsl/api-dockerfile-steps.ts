import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Container } from './api-container.js';
import { from } from './api.js';
import type { RunCallOptions } from './api-run.js';
import { BadInputError, CairnError } from './core/errors.js';
import { emit, warn } from './core/events.js';
import { makeDirs } from './core/fsutil.js';
import { InRoot, resolveInRoot } from './layer/inroot.js';
import type { ContainerRecord } from './store/containers.js';
import { nullSink } from './store/hash.js';
import type { Driver } from './container/drivers/driver.js';
import type { DockerfileBuildOptions } from './api-dockerfile.js';
import type { BuildContext } from './dockerfile/context-sources.js';
import type { Dockerfile, Flag, Instruction, Stage } from './dockerfile/model.js';
import type { StageScope } from './dockerfile/scope.js';
import * as stepCache from './api-dockerfile-cache.js';
import { copyStep } from './api-dockerfile-copy.js';
import { liveStage } from './api-dockerfile-from.js';
import { contextRelative } from './dockerfile/context-sources.js';
import * as ex from './dockerfile/expand.js';
import { healthcheckTimes } from './dockerfile/healthcheck.js';
import { parseMount } from './dockerfile/mounts.js';
import { stepIdentity, stepInputs } from './dockerfile/step-identity.js';

/*
 * One Dockerfile instruction as the calls a script makes on its stage's container (run, copy, add, config,
 * checkpoint). After each, the instruction's text stands for what it did in the history; with `layers`, an
 * instruction that changed files is sealed into a layer of its own.
 */

/** What the whole build shares: the parsed file, the context, the options, the stages built so far. */
export interface BuildState {
  df: Dockerfile;
  ctx: BuildContext;
  opts: DockerfileBuildOptions;
  /** The store root (caches live under it). */
  root: string;
  timestamp: number | undefined;
  stageRef(ref: string, before: number): Stage | undefined;
  /** The stages built so far, by index. */
  stages: Map<number, StageState>;
  /** Every container the build made (removed when it ends). */
  made: Container[];
  steps: { n: number; total: number };
  /** A fresh scratch directory under the store's tmp dir (removed when the build ends). */
  tmpDir(): Promise<string>;
  /** The step cache records this build made or took (what --cache-to exports). */
  cacheUsed: import('./dockerfile/cache-records.js').StepCacheRecord[];
}

/** One stage being built: its container, variables, shell, working directory, and whether it set CMD. */
export interface StageState {
  stage: Stage;
  c: Container;
  scope: StageScope;
  shell: string[];
  workdir: string;
  cmdSet: boolean;
  /** The identity of the last step (dockerfile/step-identity.ts): the step cache's key for its result. */
  identity: string;
  /** With layers: the cache record of the last step when it was a hit (the container is then behind it). */
  hit?: import('./dockerfile/cache-records.js').StepCacheRecord;
  /** With layers: the image of the layers sealed so far (undefined: scratch). */
  layerImage?: string;
  /** With layers: the image of the state after the last step. */
  lastImage?: string;
  /** Set while the stage's container is not made yet (api-dockerfile-from.ts): the base image, and the Env to add. */
  lazy?: { image: string; env: string[]; clearOnBuild?: boolean };
}

/** The flags each instruction takes (others are refused). */
const FLAGS: Partial<Record<Instruction['keyword'], string[]>> = {
  RUN: ['mount', 'network', 'security'],
  COPY: ['from', 'chown', 'chmod', 'link'],
  ADD: ['chown', 'chmod', 'link', 'checksum'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

const at = (i: Instruction) => `${i.place.file}:${i.place.line}:${i.place.column}`;

/** The instruction's flags, checked against what it takes (also before any step runs: api-dockerfile.ts precheck). */
export function flagsOf(instr: Instruction): Flag[] {
  const allowed = FLAGS[instr.keyword] ?? [];
  for (const f of instr.flags) {
    if (!allowed.includes(f.name)) {
      throw new BadInputError(`${at(instr)}: ${instr.keyword} takes no --${f.name}`, { hint: allowed.length ? `${instr.keyword} takes ${allowed.map((a) => '--' + a).join(', ')}` : `${instr.keyword} takes no flags` });
    }
  }
  return instr.flags;
}

/** The value of the single flag name (expanded), if given. */
function flagValue(st: BuildState, s: StageState, instr: Instruction, name: string): string | undefined {
  const f = instr.flags.find((x) => x.name === name);
  if (!f) return undefined;
  return ex.expandWord(f.value ?? '', (n) => s.scope.lookup(n), st.df.escape, f.place);
}

/** Runs fn on the container's record under its lock (what Container's methods do, for the builder's own edits). */
async function withRecord<T>(c: Container, fn: (rec: ContainerRecord, d: Driver) => Promise<T>): Promise<T> {
  const { withContainer } = await import('./container/engine.js');
  return withContainer(c.store, c.id, fn);
}

/** Makes the instruction's text (alone) stand for what it did since the pending history had `before` entries. */
function note(c: Container, before: number, text: string): Promise<void> {
  return withRecord(c, async (rec) => {
    rec.pending.splice(before);
    rec.pending.push(text);
    rec.historyPerStep = true;
    await c.store.containers.save(rec);
  });
}

/** True when the container has changes since its last checkpoint. */
function dirty(c: Container): Promise<boolean> {
  return withRecord(c, (rec, d) => d.dirty(c.store, rec));
}

/** Makes directory dir (and its parents) in the container's tree when it is missing, as WORKDIR does. */
function ensureDir(c: Container, dir: string): Promise<void> {
  return withRecord(c, async (rec, d) => {
    const r = InRoot.open(await d.mount(c.store, rec));
    try {
      r.mkdirp(dir);
    } finally {
      r.close();
    }
  });
}

/** Runs one instruction of stage s (stepId: the step's ID, for its output events). */
export async function runInstruction(st: BuildState, s: StageState, instr: Instruction, stepId: string): Promise<void> {
  flagsOf(instr);
  const cache = st.opts.layers ? stepCache : undefined;
  const content = cache ? await cache.contentInputs(st, s, instr) : [];
  s.identity = stepIdentity(s.identity, instr.text, stepInputs({ env: instr.keyword === 'RUN' ? s.scope.runEnv() : [], args: argsSeen(s, instr), heredocs: instr.heredocs.map((h) => h.content), workdir: s.workdir, shell: s.shell, content }));
  if (cache && (await cache.cachedStep(st, s, instr, stepId))) return;
  await liveStage(st, s);
  const before = (await s.c.record()).pending.length;
  const changesFiles = await apply(st, s, instr, stepId);
  if (instr.keyword !== 'CHECKPOINT') {
    await note(s.c, before, instr.text);
    if (st.opts.layers && changesFiles && (await dirty(s.c))) await s.c.checkpoint('', { timestamp: st.timestamp });
  }
  if (cache) await cache.recordStep(st, s, instr);
}

/**
 * The build args a step's result depends on: for RUN every declared one (they are in its environment), for the
 * others those its text or heredocs name (as Docker's cache, a changed ARG misses first where it is used).
 */
function argsSeen(s: StageState, instr: Instruction): Record<string, string> {
  const all = s.scope.usedArgs();
  if (instr.keyword === 'RUN') return all;
  const text = [instr.text, ...instr.heredocs.map((h) => h.content)].join('\n');
  return Object.fromEntries(Object.entries(all).filter(([k]) => new RegExp(`\\$\\{?${k}\\b`).test(text)));
}

/** Applies instr; true when it may have changed files. */
async function apply(st: BuildState, s: StageState, instr: Instruction, stepId: string): Promise<boolean> {
  const lookup = (n: string) => s.scope.lookup(n);
  const word = (text: string) => ex.expandWord(text, lookup, st.df.escape, instr.place);
  const words = (text: string) => ex.expandWords(text, lookup, st.df.escape, instr.place);
  const arg = instr.args.join(' ');
  const command = (): string[] => (instr.json ? [...instr.args] : [...s.shell, arg]);
  switch (instr.keyword) {
    case 'RUN':
      await runStep(st, s, instr, stepId);
      return true;
    case 'COPY':
    case 'ADD':
      await copyStep(st, s, instr);
      return true;
    case 'WORKDIR': {
      const dir = path.posix.resolve(s.workdir, word(arg));
      await ensureDir(s.c, dir);
      await s.c.config({ workingdir: dir });
      s.workdir = dir;
      return true;
    }
    case 'ENV': {
      const pairs = ex.keyValues(arg, lookup, st.df.escape, instr.place);
      for (const [k, v] of pairs) s.scope.setEnv(k, v);
      await s.c.config({ env: pairs.map(([k, v]) => `${k}=${v}`) });
      return false;
    }
    case 'ARG':
      s.scope.declareArg(instr);
      return false;
    case 'LABEL':
      await s.c.config({ labels: Object.fromEntries(ex.keyValues(arg, lookup, st.df.escape, instr.place)) });
      return false;
    case 'USER':
      await s.c.config({ user: word(arg) });
      return false;
    case 'EXPOSE':
      await s.c.config({ ports: words(arg).map((p) => p.toLowerCase()) });
      return false;
    case 'VOLUME':
      await s.c.config({ volumes: instr.json ? instr.args.map(word) : words(arg) });
      return false;
    case 'STOPSIGNAL':
      await s.c.config({ stopSignal: word(arg) });
      return false;
    case 'CMD':
      await s.c.config({ cmd: command() });
      s.cmdSet = true;
      return false;
    case 'ENTRYPOINT':
      // As docker: an ENTRYPOINT clears the CMD the base image gave (one this stage set stays).
      await s.c.config(s.cmdSet ? { entrypoint: command() } : { entrypoint: command(), cmd: '' });
      return false;
    case 'SHELL':
      if (!instr.json || instr.args.length === 0) throw new BadInputError(`${at(instr)}: SHELL takes a JSON array`, { hint: 'SHELL ["/bin/bash", "-c"]' });
      s.shell = [...instr.args];
      await s.c.config({ shell: JSON.stringify(instr.args) });
      return false;
    case 'HEALTHCHECK': {
      const times = healthcheckTimes(instr);
      await s.c.config({ healthcheck: instr.json ? `CMD ${JSON.stringify(instr.args)}` : arg });
      if (Object.keys(times).length) {
        await withRecord(s.c, async (rec) => {
          const h = rec.config.config?.Healthcheck;
          if (h) Object.assign(h, times);
          await s.c.store.containers.save(rec);
        });
      }
      return false;
    }
    case 'ONBUILD':
      await s.c.config({ onbuild: [arg] });
      return false;
    case 'MAINTAINER':
      await s.c.config({ author: arg });
      return false;
    case 'CHECKPOINT':
      await s.c.checkpoint(instr.args[0] ?? '', { timestamp: st.timestamp });
      return false;
    case 'FROM':
      throw new BadInputError(`${at(instr)}: FROM inside a stage`);
  }
}

/** A writable stream that passes what it gets to the event stream as the step's output on stderr (stdout carries only the image ID). */
function outputSink(stepId: string): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      emit({ type: 'output', id: stepId, stream: 'stderr', data: chunk });
      done();
    },
  });
}

/**
 * The command a RUN runs: exec form as given; shell form through the stage's SHELL, a lone heredoc as the
 * shell's script, or, when it starts with a #! line, its interpreter's, read on stdin (as BuildKit runs it).
 */
function runCommand(s: StageState, instr: Instruction): { argv: string[]; stdin?: string } {
  if (instr.json) return { argv: [...instr.args] };
  const line = instr.args.join(' ');
  const [h] = instr.heredocs;
  if (h && instr.heredocs.length === 1 && /^<<-?\s*(["']?)[^\s"']+\1$/.test(line.trim())) {
    const shebang = /^#!\s*(\S+)(.*)\n/.exec(h.content);
    if (shebang) return { argv: [shebang[1], ...shebang[2].trim().split(/\s+/).filter(Boolean)], stdin: h.content };
    return { argv: [...s.shell, h.content] };
  }
  // Any other heredoc is the shell's to read: the line, then each body and its delimiter.
  const script = [line, ...instr.heredocs.flatMap((d) => [d.content.replace(/\n$/, ''), d.name])].join('\n');
  return { argv: [...s.shell, script] };
}

/** RUN: the command with its mounts, network and the stage's variables in its environment. */
async function runStep(st: BuildState, s: StageState, instr: Instruction, stepId: string): Promise<void> {
  const o: RunCallOptions & { volumes: string[]; tmpfs: string[]; secrets: Record<string, string> } = { env: s.scope.runEnv(), volumes: [], tmpfs: [], secrets: {}, quiet: true, nothrow: true };
  const cleanups: (() => Promise<void>)[] = [];
  const network = flagValue(st, s, instr, 'network');
  if (network !== undefined) {
    if (!['none', 'host', 'default'].includes(network)) throw new BadInputError(`${at(instr)}: --network=${network} is not supported`, { hint: 'use none, host or default' });
    o.network = network === 'none' ? 'none' : 'host';
  }
  if (flagValue(st, s, instr, 'security') === 'insecure') throw new BadInputError(`${at(instr)}: --security=insecure is not supported`, { hint: 'a RUN step runs with the privileges of cairn itself' });
  try {
    for (const f of instr.flags.filter((x) => x.name === 'mount')) {
      const m = parseMount(ex.expandWord(f.value ?? '', (n) => s.scope.lookup(n), st.df.escape, f.place), f.place);
      const target = 'target' in m && m.target ? path.posix.resolve(s.workdir, m.target) : undefined;
      if (m.type === 'secret') {
        const src = st.opts.secrets?.[m.id];
        if (src === undefined) {
          if (m.required) throw new BadInputError(`${at(instr)}: the build was given no secret ${m.id}`, { hint: `give it: --secret id=${m.id},src=FILE` });
          continue;
        }
        if (!target || target === `/run/secrets/${m.id}`) o.secrets[m.id] = src;
        else o.volumes.push(`${path.resolve(src)}:${target}:ro`);
      } else if (m.type === 'cache') {
        // Named by a digest of the id: an id is the Dockerfile's text (`..`, `/`), never a path on the host.
        const { createHash } = await import('node:crypto');
        const dir = path.join(st.root, 'cache', 'dockerfile', createHash('sha256').update(m.id).digest('hex').slice(0, 32));
        if (!(await fsp.stat(dir).catch(() => undefined))) {
          await makeDirs(dir);
          await fsp.chmod(dir, m.mode ?? 0o755);
          if (m.uid !== undefined || m.gid !== undefined) await fsp.chown(dir, m.uid ?? 0, m.gid ?? 0);
        }
        o.volumes.push(`${dir}:${target!}${m.readOnly ? ':ro' : ''}`);
      } else if (m.type === 'tmpfs') o.tmpfs.push(target!);
      else {
        if (m.rw) warn(`${at(instr)}: --mount type=bind,rw is bound read-only (its writes would reach the source)`);
        o.volumes.push(`${await bindSource(st, s, instr, m.from, m.source, cleanups)}:${target!}:ro`);
      }
    }
    const cmd = runCommand(s, instr);
    if (cmd.stdin !== undefined) o.stdin = cmd.stdin;
    // Both streams go to the log as they come (stdout carries only the image ID); quiet, as buildah's, drops stdout.
    const log = outputSink(stepId);
    const out = await s.c.run(cmd.argv, o).onStderr((d) => log.write(d)).pipe(st.opts.quiet ? nullSink() : log);
    if (out.exitCode !== 0) {
      const why = out.notFound === 'missing' ? 'the command was not found in the container' : out.notFound === 'not-executable' ? 'the command is not executable' : `the command exited ${out.exitCode}`;
      throw new CairnError(`${at(instr)}: RUN failed: ${why}`, { hint: 'its output is above' });
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
}

/** The host path a RUN --mount=type=bind binds: in the context, an earlier stage's root, or an image's. */
async function bindSource(st: BuildState, s: StageState, instr: Instruction, fromRef: string | undefined, source: string, cleanups: (() => Promise<void>)[]): Promise<string> {
  if (fromRef === undefined) {
    const rel = contextRelative(source, instr.place);
    const abs = rel ? path.join(st.ctx.dir, rel) : st.ctx.dir;
    const real = await fsp.realpath(abs).catch(() => {
      throw new BadInputError(`${at(instr)}: --mount source ${source} does not exist in the build context`);
    });
    if (real !== st.ctx.dir && !real.startsWith(st.ctx.dir + '/')) throw new BadInputError(`${at(instr)}: --mount source ${source} leads outside the build context`);
    return real;
  }
  const stage = st.stageRef(fromRef, s.stage.index);
  let ctr: Container;
  if (stage) {
    const built = st.stages.get(stage.index);
    if (!built) throw new BadInputError(`${at(instr)}: --mount from=${fromRef}: that stage was not built`);
    ctr = built.c;
  } else {
    ctr = await from(fromRef, { root: st.root, pull: st.opts.pull });
    cleanups.push(() => ctr.remove());
  }
  const root = await ctr.mount();
  cleanups.push(() => ctr.unmount());
  return resolveInRoot(root, source);
}
