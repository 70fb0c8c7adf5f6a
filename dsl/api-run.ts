import { PassThrough } from 'node:stream';
import { BadInputError, CairnError } from './core/errors.js';
import { checkOptions, keyValues, type OptionKind } from './core/options.js';
import { shq } from './core/shquote.js';
import type { RunOptions } from './container/run.js';

/*
 * A script's run step as zx's `$` shapes one: a value that is started on the next turn of the event loop (or
 * when awaited), so that .nothrow(), .quiet() and .pipe() chained on the call apply to it, and that resolves to
 * the command's output or rejects with a RunError on a non-zero status.
 */

/** What a template run may interpolate: text, numbers, booleans, a run's output (its stdout) or an array of them (each quoted, space-separated). */
export type Interpolation = string | number | bigint | boolean | RunOutput | { readonly stdout: string } | readonly (string | number | bigint | boolean)[];

/** Options of Container.run. */
export interface RunCallOptions {
  /** Environment for this step: `K=V` strings or an object (added to the image config's). */
  env?: readonly string[] | Readonly<Record<string, string>>;
  /** The working directory in the container (default: the image config's, else /). */
  workdir?: string;
  /** The same as workdir, under the name `cairn run --workingdir` gives it. */
  workingdir?: string;
  /** The user (and group) to run as: a name or a number, `U[:G]`. */
  user?: string;
  /** Host paths bound in: `HOST:CTR[:ro]`. */
  volumes?: readonly string[];
  /** Paths in the container that get a fresh tmpfs for this step. */
  tmpfs?: readonly string[];
  /** Files seen at /run/secrets/ID during this step only, never in a layer: `{ ID: hostFile }` or `id=ID,src=FILE` strings. */
  secrets?: readonly string[] | Readonly<Record<string, string>>;
  /** 'host' (default) or 'none' (a network namespace with only loopback). */
  network?: 'host' | 'none';
  /** 'private' (default: no process outlives the step) or 'host'. */
  pid?: 'private' | 'host';
  /** The command's standard input: text, bytes or a stream (default: empty). */
  stdin?: string | Buffer | NodeJS.ReadableStream;
  /** Resolve with the output even when the status is not 0 (else a RunError). */
  nothrow?: boolean;
  /** Do not print the command's output (it is still in the result). */
  quiet?: boolean;
  /** 'pipe' (default) collects the output and prints it through the event stream; 'inherit' passes the terminal through. */
  stdio?: 'inherit' | 'pipe';
}

const isStream = (v: unknown): string | undefined =>
  typeof v === 'string' || Buffer.isBuffer(v) || (typeof v === 'object' && v !== null && typeof (v as { pipe?: unknown }).pipe === 'function')
    ? undefined
    : 'must be a string, a Buffer or a readable stream';

/** The kinds of RunCallOptions, checked at run time for scripts that are not type-checked. */
export const RUN_OPTIONS: Readonly<Record<keyof RunCallOptions, OptionKind>> = {
  env: 'strings-or-map', workdir: 'string', workingdir: 'string', user: 'string', volumes: 'strings', tmpfs: 'strings',
  secrets: 'strings-or-map', network: ['host', 'none'], pid: ['private', 'host'], stdin: isStream, nothrow: 'boolean', quiet: 'boolean',
  stdio: ['inherit', 'pipe'],
};

/** RunCallOptions as the engine takes them (lists of `K=V` and `id=ID,src=FILE` strings). */
export type RunSettings = Pick<RunOptions, 'env' | 'workingdir' | 'user' | 'volumes' | 'tmpfs' | 'secrets' | 'network' | 'pid' | 'stdio' | 'input'>;

/** Checks a run's options and turns them into the engine's settings. */
export function runSettings(opts: RunCallOptions | undefined): RunSettings {
  checkOptions('run', opts, RUN_OPTIONS);
  const o = opts ?? {};
  const secrets = o.secrets === undefined || Array.isArray(o.secrets) ? (o.secrets as string[] | undefined) : Object.entries(o.secrets).map(([id, src]) => `id=${id},src=${src}`);
  return {
    env: keyValues(o.env), workingdir: o.workdir ?? o.workingdir, user: o.user, volumes: o.volumes as string[] | undefined, tmpfs: o.tmpfs as string[] | undefined,
    secrets, network: o.network, pid: o.pid, stdio: o.stdio, input: o.stdin,
  };
}

/** The text of one interpolated value, quoted for POSIX sh; a value that has no text is a BadInputError saying where it is. */
function quoted(v: unknown, at: string): string {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return shq(String(v));
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { stdout?: unknown }).stdout === 'string') {
    // A run's output stands for its text, as in zx: without the final newline.
    return shq((v as { stdout: string }).stdout.replace(/\r?\n$/, ''));
  }
  const what = v === null ? 'null' : Array.isArray(v) ? 'an array inside an array' : typeof v === 'object' ? 'an object' : typeof v;
  throw new BadInputError(`run: the value interpolated ${at} is ${what}`, { hint: 'interpolate a string, a number or an array of them (String(x) or JSON.stringify(x) if you mean its text)' });
}

/** The sh text of a template run: each interpolation quoted (an array element by element, space-separated). */
export function templateText(pieces: TemplateStringsArray, values: readonly unknown[]): string {
  let text = pieces[0];
  values.forEach((v, i) => {
    const at = `after \`${(pieces[0] + values.slice(0, i).map(() => '${…}').join('') + pieces.slice(1, i + 1).join('')).slice(-40)}\``;
    text += (Array.isArray(v) ? v.map((x) => quoted(x, at)).join(' ') : quoted(v, at)) + pieces[i + 1];
  });
  return text;
}

/** The output of a run step, as zx's ProcessOutput: stdout, stderr, exitCode and helpers over stdout. */
export class RunOutput {
  constructor(
    /** The command's exit status. */
    readonly exitCode: number,
    /** Everything the command wrote on standard output. */
    readonly stdout: string,
    /** Everything the command wrote on standard error. */
    readonly stderr: string,
    /** Set when the command never started: not in the container (status 127), or not executable (126). */
    readonly notFound?: 'missing' | 'not-executable',
  ) {}

  /** The exit status, under the name `cairn run` and RunError use. */
  get status(): number {
    return this.exitCode;
  }

  /** True when the status is 0. */
  get ok(): boolean {
    return this.exitCode === 0;
  }

  /** Standard output as text. */
  text(): string {
    return this.stdout;
  }

  /** Standard output split into lines (without the empty one after a final newline). */
  lines(): string[] {
    const lines = this.stdout.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    return lines;
  }

  /** Standard output parsed as JSON (a BadInputError when it is not JSON). */
  json<T = unknown>(): T {
    try {
      return JSON.parse(this.stdout) as T;
    } catch (err) {
      throw new BadInputError(`the command's output is not JSON: ${(err as Error).message}`, { hint: `it begins ${JSON.stringify(this.stdout.slice(0, 40))}` });
    }
  }

  /** Standard output (so that a result reads as its text in a template string). */
  toString(): string {
    return this.stdout;
  }
}

/** The outcome of a run step that exited non-zero (or never started), with the command's output. */
export class RunError extends CairnError {
  constructor(
    /** The command's exit status (126: not executable, 127: not found). */
    readonly status: number,
    /** What the command wrote on standard output. */
    readonly stdout: string,
    /** What the command wrote on standard error. */
    readonly stderr: string,
    command: string,
    why?: { message: string; hint: string },
  ) {
    super(why?.message ?? `command exited ${status}: ${command}`, { hint: why?.hint ?? 'its output is above; the stderr property holds it too' });
  }

  /** The exit status, as RunOutput names it. */
  get exitCode(): number {
    return this.status;
  }
}

/** Why a command never started, in words (undefined when it ran). */
function notStarted(r: RunOutput, argv0: string, template: boolean): { message: string; hint: string } | undefined {
  if (r.notFound === 'missing' && template) {
    return { message: `the container has no /bin/sh, which a template run needs (exit ${r.exitCode})`, hint: "give the command as an array instead: c.run(['/path/to/cmd', 'arg'])" };
  }
  if (r.notFound === 'missing') return { message: `command not found in the container: ${argv0} (exit ${r.exitCode})`, hint: "check the command's path, or the PATH of the image's config" };
  if (r.notFound === 'not-executable') return { message: `${argv0} is not an executable file in the container (exit ${r.exitCode})`, hint: 'make it executable (copy --chmod 0755), or run it with its interpreter' };
  return undefined;
}

/** What a started step is given beyond its settings: whether to print, where its stdout also goes, its input. */
export interface StepControl {
  quiet: boolean;
  onStdout?: (d: Buffer) => void;
  onStderr?: (d: Buffer) => void;
  input?: string | Buffer | NodeJS.ReadableStream;
}

/** Something a step's stdout can be piped into: a writable stream, another run step, or zx's ProcessPromise (its stdin). */
export type PipeTarget = NodeJS.WritableStream | RunPromise | (PromiseLike<unknown> & { readonly stdin: NodeJS.WritableStream });

/** The frames of the place a step was called from (appended to its errors, so a failure names the script's line). */
function callSite(): string {
  return (new Error().stack ?? '').split('\n').slice(2).join('\n');
}

/** A run step that starts on the next turn of the event loop, or when awaited: chain .nothrow(), .quiet() and .pipe() on the call. */
export class RunPromise implements PromiseLike<RunOutput> {
  private started?: Promise<RunOutput>;
  private nothrowSet: boolean;
  private quietSet: boolean;
  private input?: string | Buffer | NodeJS.ReadableStream;
  private sinks: ((d: Buffer) => void)[] = [];
  private errSink?: (d: Buffer) => void;
  private ends: (() => void)[] = [];
  private readonly site = callSite();

  /** @internal Made by Container.run. */
  constructor(
    private readonly exec: (ctl: StepControl) => Promise<RunOutput>,
    private readonly command: { text: string; argv0: string; template: boolean },
    opts: { nothrow?: boolean; quiet?: boolean; input?: string | Buffer | NodeJS.ReadableStream },
  ) {
    this.nothrowSet = opts.nothrow ?? false;
    this.quietSet = opts.quiet ?? false;
    this.input = opts.input;
    // Started even when never awaited, as zx's commands are; a failure nobody awaits is an unhandled rejection.
    setImmediate(() => void this.start());
  }

  private start(): Promise<RunOutput> {
    this.started ??= (async () => {
      try {
        const out = await this.exec({ quiet: this.quietSet, input: this.input, onStdout: this.sinks.length ? (d) => this.sinks.forEach((s) => s(d)) : undefined, onStderr: this.errSink });
        if (out.exitCode !== 0 && !this.nothrowSet) throw new RunError(out.exitCode, out.stdout, out.stderr, this.command.text, notStarted(out, this.command.argv0, this.command.template));
        return out;
      } catch (err) {
        // The call's place first: the script's line is the one that made the step, not the one that awaited it.
        if (err instanceof Error && this.site) {
          const stack = err.stack ?? String(err);
          const at = stack.search(/^\s+at /m);
          err.stack = at < 0 ? `${stack}\n${this.site}` : `${stack.slice(0, at)}${this.site}\n${stack.slice(at)}`;
        }
        throw err;
      } finally {
        for (const end of this.ends) end();
      }
    })();
    return this.started;
  }

  private notStartedYet(what: string): void {
    if (this.started) throw new BadInputError(`${what} must be chained on the run call, before the step starts`, { hint: 'write c.run`…`.' + what + ' (or pass the option in run\'s options)' });
  }

  /** Resolve with the output even when the command exits non-zero. */
  nothrow(on = true): this {
    this.nothrowSet = on;
    return this;
  }

  /** Do not print the command's output (it is still in the result). */
  quiet(on = true): this {
    this.notStartedYet('quiet()');
    this.quietSet = on;
    return this;
  }

  /**
   * Sends the command's standard output, as it comes, into dest: a writable stream (resolves to this step), or
   * another run step or a zx `$` command (its standard input; resolves to that command).
   */
  pipe<T extends PipeTarget>(dest: T): T extends NodeJS.WritableStream ? this : T {
    this.notStartedYet('pipe()');
    let w: NodeJS.WritableStream;
    if (dest instanceof RunPromise) {
      dest.notStartedYet('the target of pipe()');
      const feed = new PassThrough();
      dest.input = feed;
      w = feed;
    } else if (typeof (dest as { stdin?: { write?: unknown } }).stdin?.write === 'function' && typeof (dest as { then?: unknown }).then === 'function') {
      w = (dest as { stdin: NodeJS.WritableStream }).stdin;
    } else if (typeof (dest as { write?: unknown }).write === 'function') {
      w = dest as NodeJS.WritableStream;
    } else {
      throw new BadInputError('pipe() takes a writable stream, a run step or a $ command', { hint: 'for a file: .pipe(fs.createWriteStream(FILE))' });
    }
    this.sinks.push((d) => void w.write(d));
    // The terminal's streams stay open; every other target learns that the output ended.
    if (w !== process.stdout && w !== process.stderr) this.ends.push(() => w.end());
    return (w === dest ? this : dest) as T extends NodeJS.WritableStream ? this : T;
  }

  /** @internal Also passes the command's standard error, as it comes, to fn (a Dockerfile RUN streams its log). */
  onStderr(fn: (d: Buffer) => void): this {
    this.notStartedYet('onStderr()');
    this.errSink = fn;
    return this;
  }

  /** Starts the step (if it has not started) and settles with its output, or its RunError. */
  then<A = RunOutput, B = never>(ok?: ((v: RunOutput) => A | PromiseLike<A>) | null, fail?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.start().then(ok, fail);
  }

  /** As Promise.catch. */
  catch<B = never>(fail?: ((e: unknown) => B | PromiseLike<B>) | null): Promise<RunOutput | B> {
    return this.start().catch(fail);
  }

  /** As Promise.finally. */
  finally(fn?: (() => void) | null): Promise<RunOutput> {
    return this.start().finally(fn);
  }
}
