import { readFileSync } from 'node:fs';
import { UsageError, buildDockerfile, events, type CairnEvent, type DockerfileBuildOptions } from '../dsl/index.js';
import { bool, list, parseArgs, str, type FlagSpec, type Parsed, type VerbSpec } from './args.js';
import { REGISTRY_FLAGS, registryOptions } from './registry-flags.js';
import type { VerbContext } from './verb.js';

/*
 * `cairn build` of a Dockerfile: buildah build's flags, turned into buildDockerfile's options; the steps printed
 * on stderr as they start, the image ID on stdout.
 */

/** The flags of a Dockerfile build, as buildah build spells them. */
export const DOCKERFILE_FLAGS: Record<string, FlagSpec> = {
  file: { kind: 'string', alias: ['-f'], help: 'the Dockerfile (default CONTEXT/Dockerfile, else CONTEXT/Containerfile; - reads standard input)', arg: 'FILE' },
  tag: { kind: 'list', alias: ['-t'], help: 'name the image', arg: 'NAME' },
  'build-arg': { kind: 'list', help: 'value of an ARG (K alone takes it from the environment)', arg: 'K=V' },
  secret: { kind: 'list', help: 'a secret file RUN --mount=type=secret,id=ID sees, never stored in the image', arg: 'id=ID,src=PATH' },
  target: { kind: 'string', help: 'build up to this stage and commit it', arg: 'STAGE' },
  layers: { kind: 'bool', help: 'one layer per instruction that changes files (default: one layer over the base)' },
  squash: { kind: 'bool', help: 'one layer holding the whole tree, base included' },
  label: { kind: 'list', help: 'add a label to the image', arg: 'K=V' },
  timestamp: { kind: 'string', help: 'clamp file and history times to EPOCH seconds (default $SOURCE_DATE_EPOCH)', arg: 'EPOCH' },
  format: { kind: 'string', help: 'image format: oci (default) or docker', arg: 'FORMAT' },
  'no-cache': { kind: 'bool', help: 'with --layers: run every step, taking no step from the cache (what they make is still cached)' },
  'cache-from': { kind: 'list', help: 'with --layers: take cached steps also from DIR (an OCI layout --cache-to wrote) or a registry repository HOST/REPO (docker://HOST/REPO)', arg: 'DIR|REPO' },
  'cache-to': { kind: 'string', help: 'with --layers: write the cached steps of this build, with their layers, into DIR as an OCI layout, or push them to a registry repository HOST/REPO tagged by their keys', arg: 'DIR|REPO' },
  pull: { kind: 'string', help: 'when FROM fetches its image: missing (default), always, never (--pull=POLICY)', arg: 'POLICY' },
  ...REGISTRY_FLAGS,
};

const POLICIES = ['missing', 'always', 'never', 'true', 'false', 'ifmissing'];

/** --build-arg values as a map (`K` alone: the environment's value, left out when unset, as buildah does). */
function buildArgs(p: Parsed): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list(p, 'build-arg')) {
    const eq = a.indexOf('=');
    if (eq === 0) throw new UsageError(`invalid --build-arg ${a}: use K=V or K`);
    if (eq > 0) out[a.slice(0, eq)] = a.slice(eq + 1);
    else if (process.env[a] !== undefined) out[a] = process.env[a]!;
  }
  return out;
}

/** --secret values as `{ ID: file }`. */
function secrets(p: Parsed): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of list(p, 'secret')) {
    const f = Object.fromEntries(s.split(',').map((kv) => [kv.slice(0, kv.indexOf('=') < 0 ? kv.length : kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const src = f.src ?? f.source;
    if (!f.id || !src || (f.type && f.type !== 'file')) throw new UsageError(`invalid --secret ${s}: use id=ID,src=PATH`);
    out[f.id] = src;
  }
  return out;
}

/**
 * The Dockerfile build's arguments, flags after CONTEXT included (the script form stops parsing at its file);
 * a bare `--pull` (buildah's "pull if missing") that took CONTEXT as its value gives it back.
 */
export function dockerfileArgs(spec: VerbSpec, p: Parsed): Parsed {
  const more = p.rest.length ? parseArgs({ ...spec, min: 0, max: Infinity, stopAfter: undefined }, p.rest) : { flags: {}, args: [], rest: [] };
  const flags: Parsed['flags'] = { ...p.flags };
  for (const [k, v] of Object.entries(more.flags)) flags[k] = Array.isArray(v) ? [...((flags[k] as string[] | undefined) ?? []), ...v] : v;
  const args = [...p.args, ...more.args];
  const pull = flags.pull;
  if (typeof pull === 'string' && !POLICIES.includes(pull)) {
    if (pull.startsWith('-')) throw new UsageError(`--pull ${pull}: write --pull=POLICY (missing, always or never)`);
    args.unshift(pull);
    flags.pull = 'missing';
  }
  if (args.length > 1) throw new UsageError('too many arguments: a Dockerfile build takes one CONTEXT directory');
  return { flags, args, rest: [] };
}

/** A --cache-from/--cache-to value: a directory, oci:DIR, or a registry repository (docker://HOST/REPO or HOST/REPO). */
function cacheDir(v: string): string {
  if (/^[a-z-]+:\/\//.test(v) && !v.startsWith('docker://')) throw new UsageError(`--cache-from/--cache-to ${v}: give a directory or a registry repository (HOST/REPO, docker://HOST/REPO)`);
  return v;
}

/** f(v) when v is given. */
function mapOpt<T>(v: string | undefined, f: (x: string) => T): T | undefined {
  return v === undefined ? undefined : f(v);
}

/** Reads all of standard input as text (the Dockerfile of `-f -`). */
function stdinText(): string {
  return readFileSync(0, 'utf8');
}

/** Builds the Dockerfile the flags name, printing each step on stderr and the image ID on stdout. */
export async function buildFromFlags(p: Parsed, ctx: VerbContext): Promise<void> {
  const file = str(p, 'file');
  const format = str(p, 'format') ?? (process.env.BUILDAH_FORMAT || undefined);
  if (format !== undefined && format !== 'oci' && format !== 'docker') throw new UsageError(`--format ${format}: use oci or docker`);
  const opts: DockerfileBuildOptions = {
    root: ctx.root, context: p.args[0] ?? '.', file, text: file === '-' ? stdinText() : undefined, tags: list(p, 'tag'), buildArgs: buildArgs(p),
    secrets: secrets(p), target: str(p, 'target'), layers: bool(p, 'layers'), squash: bool(p, 'squash'), labels: list(p, 'label'),
    timestamp: str(p, 'timestamp'), format: format as DockerfileBuildOptions['format'], iidfile: str(p, 'iidfile'),
    pull: str(p, 'pull') as DockerfileBuildOptions['pull'], noCache: bool(p, 'no-cache'), cacheFrom: list(p, 'cache-from').map(cacheDir), cacheTo: mapOpt(str(p, 'cache-to'), cacheDir),
    quiet: ctx.quiet,
    ...registryOptions(p),
  };
  const show = (ev: CairnEvent) => {
    if (ev.type === 'step-start' && ev.verb === 'dockerfile') process.stderr.write(`${ev.text}\n`);
  };
  if (!ctx.quiet) events.on('event', show);
  try {
    const { id } = await buildDockerfile(opts);
    ctx.out(id);
  } finally {
    events.off('event', show);
  }
}
