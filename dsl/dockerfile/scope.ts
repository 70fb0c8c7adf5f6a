/*
 * Which variables an instruction sees, by Docker's rules:
 *
 * - Global ARGs (before the first FROM) and the platform args (TARGETPLATFORM/OS/ARCH/VARIANT, BUILDPLATFORM/OS/
 *   ARCH/VARIANT) are seen by FROM lines only. Inside a stage nothing of them is seen until an ARG declares it;
 *   `ARG NAME` (no default) then takes the --build-arg value, else the global ARG's value, else the platform
 *   value.
 * - A stage's `ARG NAME=default` takes the --build-arg value when one is given, else its default (expanded with
 *   what the stage sees at that point). An undeclared --build-arg is seen by nothing (and is reported unused).
 * - ENV (the base image's and the stage's own) wins over an ARG of the same name.
 * - The proxy args (HTTP_PROXY, HTTPS_PROXY, FTP_PROXY, NO_PROXY, ALL_PROXY and their lower-case forms) given
 *   with --build-arg reach RUN's environment without an ARG, are never reported unused, and, as in Docker, do
 *   not count for the step cache (they are left out of the history too) unless an ARG declares them.
 * - ARG values reach RUN's environment but are never written into the image config.
 */
import { argDefs, expandWord, type Lookup } from './expand.js';
import type { Dockerfile, Instruction } from './model.js';

/** The build args Docker predefines for proxies: usable with --build-arg without an ARG. */
export const PROXY_ARGS: readonly string[] = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((n) => [n, n.toLowerCase()]);

/** A platform as build args see it. */
export interface PlatformSpec {
  os: string;
  arch: string;
  variant?: string;
}

/** The platform cairn runs on, in OCI terms (node's arch names mapped to GOARCH). */
export function hostPlatform(): PlatformSpec {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', ppc64: 'ppc64le', mips64el: 'mips64le', mipsel: 'mipsle' };
  const a = arch[process.arch] ?? process.arch;
  if (a === 'arm') {
    const v = (process.config.variables as { arm_version?: string }).arm_version;
    return { os: 'linux', arch: a, variant: `v${v ?? '7'}` };
  }
  return { os: 'linux', arch: a };
}

/** TARGET* and BUILD* for a target and a build platform. */
export function platformArgs(target: PlatformSpec, build: PlatformSpec): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [prefix, p] of [['TARGET', target], ['BUILD', build]] as const) {
    out[`${prefix}PLATFORM`] = [p.os, p.arch, p.variant].filter(Boolean).join('/');
    out[`${prefix}OS`] = p.os;
    out[`${prefix}ARCH`] = p.arch;
    out[`${prefix}VARIANT`] = p.variant ?? '';
  }
  return out;
}

/** The variables of one build: global ARGs, --build-arg values, platform args; it makes each stage's scope. */
export class BuildScope {
  /** Build-arg names some ARG declared (global or in a stage made by this scope). */
  private readonly consumed = new Set<string>();
  /** The global ARGs: name → value (undefined when declared without value or build arg). */
  private readonly globals = new Map<string, string | undefined>();

  private constructor(
    /** The Dockerfile (for its escape character). */
    readonly df: Dockerfile,
    /** The --build-arg values. */
    readonly buildArgs: Readonly<Record<string, string>>,
    /** TARGET* and BUILD*. */
    readonly platform: Readonly<Record<string, string>>,
  ) {}

  /** The scope of a build of df for the target platform (the build platform defaults to the host's). */
  static create(df: Dockerfile, buildArgs: Record<string, string>, platform: PlatformSpec, buildPlatform: PlatformSpec = hostPlatform()): BuildScope {
    const scope = new BuildScope(df, { ...buildArgs }, platformArgs(platform, buildPlatform));
    const lookup = scope.fromLookup();
    for (const ins of df.globalArgs) {
      for (const def of argDefs(ins.args[0] ?? '', df.escape, ins.place)) {
        scope.consumed.add(def.name);
        const value = Object.hasOwn(scope.buildArgs, def.name)
          ? scope.buildArgs[def.name]
          : def.value === undefined
            ? undefined
            : expandWord(def.value, lookup, df.escape, ins.place);
        scope.globals.set(def.name, value);
      }
    }
    return scope;
  }

  /** What FROM lines see: the global ARGs, then the platform args. */
  fromLookup(): Lookup {
    return (name) => (this.globals.has(name) ? this.globals.get(name) : this.platform[name]);
  }

  /** A new stage's scope; imageEnv is the base image's `K=V` environment. */
  stage(imageEnv: string[]): StageScope {
    return new StageScope(this, imageEnv, (name) => this.consumed.add(name));
  }

  /** The --build-arg names no ARG declared so far (sorted; the proxy args are never unused), for a warning. */
  unusedBuildArgs(): string[] {
    return Object.keys(this.buildArgs)
      .filter((k) => !this.consumed.has(k) && !PROXY_ARGS.includes(k))
      .sort();
  }

  /** The value an `ARG name` without default takes from the global scope (global ARG, else platform arg). */
  inherited(name: string): string | undefined {
    return this.fromLookup()(name);
  }
}

/** The variables of one stage, as its instructions run one after another. */
export class StageScope {
  private readonly env = new Map<string, string>();
  private readonly args = new Map<string, string | undefined>();

  /** Made by BuildScope.stage. */
  constructor(
    private readonly build: BuildScope,
    imageEnv: string[],
    private readonly consume: (name: string) => void,
  ) {
    for (const kv of imageEnv) {
      const eq = kv.indexOf('=');
      if (eq > 0) this.env.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
  }

  /** Declares the names of an ARG instruction of this stage, with their values by Docker's rules. */
  declareArg(instr: Instruction): void {
    const { df, buildArgs } = this.build;
    for (const def of argDefs(instr.args[0] ?? '', df.escape, instr.place)) {
      this.consume(def.name);
      let value: string | undefined;
      if (Object.hasOwn(buildArgs, def.name)) value = buildArgs[def.name];
      else if (def.value !== undefined) value = expandWord(def.value, (n) => this.lookup(n), df.escape, instr.place);
      else value = this.build.inherited(def.name);
      this.args.set(def.name, value);
    }
  }

  /** Sets an ENV variable (already expanded). */
  setEnv(key: string, value: string): void {
    this.env.set(key, value);
  }

  /** A variable's value for expansion: ENV first, then the declared ARGs; undefined when unset. */
  lookup(name: string): string | undefined {
    return this.env.get(name) ?? this.args.get(name);
  }

  /** `K=V` for RUN: the ENV, the declared ARGs ENV does not shadow, and the proxy build args. */
  runEnv(): string[] {
    const out = new Map(this.env);
    for (const [k, v] of this.args) if (v !== undefined && !out.has(k)) out.set(k, v);
    for (const k of PROXY_ARGS) if (Object.hasOwn(this.build.buildArgs, k) && !out.has(k)) out.set(k, this.build.buildArgs[k]);
    return [...out].map(([k, v]) => `${k}=${v}`);
  }

  /** The declared ARGs that have a value (what a step's cache key must include), sorted by name. */
  usedArgs(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of [...this.args.keys()].sort()) {
      const v = this.args.get(k);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }

  /** The ENV of the stage so far as `K=V` (the image config's Env). */
  envList(): string[] {
    return [...this.env].map(([k, v]) => `${k}=${v}`);
  }
}
