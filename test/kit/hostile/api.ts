// Runs a corpus step in-process, through the public API (dsl/index.ts) as the CLI verb calls it: the same
// engine without a Node.js start-up per call. The process must be in a namespace where the engine works (as
// root the host; a normal user's test/run.sh runs this tier inside `cairn unshare`).
import { container, events, exec, from, isCairnError, verify, type CairnEvent } from '../../../dsl/index.js';
import { withEnv } from '../env.js';
import type { Lane } from './runner.js';
import type { CallResult, Step } from './types.js';

/** What an in-process call gave: a CallResult as the CLI would show it, and the error the API threw. */
export interface ApiResult extends CallResult {
  /** The rejection of the call (a refusal), or undefined when it resolved. */
  error?: unknown;
}

/** The flags of each verb the corpus uses that take a value (lists are repeated flags). */
const VALUE_FLAGS: Record<string, string[]> = {
  from: ['--name'],
  copy: ['--from'],
  run: ['--workingdir', '--volume', '--secret', '--tmpfs'],
  exec: [],
  verify: [],
};

/** A step's verb, flags (each a list of values) and operands; operands after `--` in rest. */
function parse(args: string[]): { verb: string; flags: Map<string, string[]>; operands: string[]; rest: string[] } {
  const [verb, ...a] = args;
  const known = VALUE_FLAGS[verb];
  if (!known) throw new Error(`the in-process corpus runner does not know the verb ${verb}`);
  const flags = new Map<string, string[]>();
  const operands: string[] = [];
  let i = 0;
  for (; i < a.length && a[i] !== '--'; i++) {
    if (!a[i].startsWith('-')) {
      operands.push(a[i]);
      continue;
    }
    if (!known.includes(a[i]) || i + 1 >= a.length) throw new Error(`the in-process corpus runner does not know ${verb} ${a[i]}`);
    flags.set(a[i], [...(flags.get(a[i]) ?? []), a[++i]]);
  }
  return { verb, flags, operands, rest: a.slice(i + 1) };
}

/** Runs fn in dir (a CLI call's working directory), then returns to where this process was. */
async function inDir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(saved);
  }
}

/** Signal listeners runExec adds on each call (it is made to run once per process): removed after the call. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * Runs one step in-process in a lane (one call at a time: it sets the process's environment and directory).
 * A rejection becomes status 125 and the two lines the CLI prints for it; warnings become `cairn: warning:` lines.
 */
export async function apiCall(lane: Lane, step: Step, home: string): Promise<ApiResult> {
  const { verb, flags, operands, rest } = parse(step.args);
  const one = (f: string) => flags.get(f)?.at(-1);
  const root = lane.root;
  const env = {
    HOME: home, XDG_CONFIG_HOME: lane.config, NO_COLOR: '1',
    CAIRN_ROOT: undefined, CAIRN_SIGNATURE_POLICY: undefined, CAIRN_MAX_LAYER_SIZE: undefined, STORAGE_DRIVER: undefined, CAIRN_DEBUG: undefined,
    ...step.env,
  };
  let stdout = '';
  let stderr = '';
  const listen = (e: CairnEvent) => {
    if (e.type === 'warn') stderr += `cairn: warning: ${e.text}\n`;
  };
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  events.on('event', listen);
  try {
    const status = await withEnv(env, () => inDir(home, async (): Promise<number> => {
      switch (verb) {
        case 'from':
          stdout = (await from(operands[0], { root, name: one('--name') })).name + '\n';
          return 0;
        case 'copy': {
          const [name, ...srcs] = operands;
          const dest = srcs.pop()!;
          await (await container(name, { root })).copy(srcs, dest, { from: one('--from') });
          return 0;
        }
        case 'run': {
          const c = await container(operands[0], { root });
          const r = await c.run(rest, { nothrow: true, workingdir: one('--workingdir'), volumes: flags.get('--volume'), tmpfs: flags.get('--tmpfs'), secrets: flags.get('--secret') });
          stdout += r.stdout;
          stderr += r.stderr;
          return r.status;
        }
        case 'exec':
          return exec(operands[0], { root, cmd: rest });
        default: {
          const v = await verify(operands[0]);
          stdout = `OK ${v.signer.id}\n`;
          return 0;
        }
      }
    }));
    return { status, stdout, stderr };
  } catch (error) {
    // What the CLI's dispatcher prints for a failure (bin/dispatch.ts): the message, and the hint if any.
    const e = isCairnError(error) ? error : undefined;
    stderr += `cairn ${verb}: ${(error as Error)?.message ?? String(error)}\n` + (e?.hint ? `  hint: ${e.hint}\n` : '');
    return { status: 125, stdout, stderr, error };
  } finally {
    events.off('event', listen);
    for (const s of SIGNALS) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l as () => void);
  }
}
