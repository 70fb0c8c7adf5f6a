import type { ParsedLine } from './line.js';
import { NotFoundError, didYouMean } from '../dsl/index.js';
import type { VerbSpecLike, VerbTable } from './types.js';

/*
 * What a line of the shell means: a CLI verb with the current container inserted as its container argument,
 * a shell-only verb (use, layers, help, save, enter, exit), or a command to run in the container. Pure: the
 * session (session.ts) runs the plan.
 */

/** The shell's own verbs, with their usage and summary (for `help`). */
export const SHELL_VERBS: Record<string, { usage: string; summary: string }> = {
  use: { usage: 'use CTR', summary: 'Make a working container the current one.' },
  layers: { usage: 'layers', summary: 'Show the layers of the current container, the dive way: base, checkpoints and pending changes, with what each adds, changes, deletes and wastes.' },
  help: { usage: 'help [VERB]', summary: 'List the verbs, or show one verb\'s flags.' },
  save: { usage: 'save FILE.cairn|FILE.build.mjs', summary: 'Write the successful steps still in effect as shell lines (.cairn) or as a build script (.build.mjs).' },
  enter: { usage: 'enter', summary: 'Run an interactive sh in the container (= run -t sh).' },
  exit: { usage: 'exit [N]', summary: 'Leave the shell (a script: stop, with status N).' },
};

/** CLI verbs the shell does not run: they replace the process, are the shell, or would rename the container it works on. */
export const NOT_IN_SHELL = new Set(['shell', 'exec', 'unshare', 'build', 'rename']);

/** CLI verbs that a line runs as a command in the container instead: `rm FILE` means the file (containers go by `cairn rm`). */
export const COMMAND_WORDS = new Set(['rm']);

/**
 * The verbs whose container argument the current container fills, and when: Infinity means always (as the first
 * positional); N means when fewer than N positionals were given (`export FILE` but also `export IMAGE FILE`).
 */
export const CONTAINER_ARG: Record<string, number> = {
  run: Infinity,
  copy: Infinity,
  add: Infinity,
  config: Infinity,
  checkpoint: Infinity,
  rollback: Infinity,
  diff: Infinity,
  commit: Infinity,
  export: 2,
  inspect: 1,
  mount: 1,
  umount: 1,
  unmount: 1,
};

/** What a line does. */
export type Plan =
  | { kind: 'none' }
  | { kind: 'shell'; verb: string; args: string[] }
  | { kind: 'verb'; verb: string; argv: string[]; terminal: boolean; bare: boolean }
  | { kind: 'error'; verb: string; message: string; hint?: string };

/** The state a plan depends on. */
export interface PlanContext {
  /** The current container's name. */
  container?: string;
  /** The last image committed in this session (what `push DEST` pushes). */
  image?: string;
  /** The CLI's verb names (aliases included). */
  verbNames: string[];
  /** Loads a CLI verb's spec. */
  spec(verb: string): Promise<VerbSpecLike>;
}

const NO_CONTAINER = 'no container yet: start with `from IMAGE`';

/** Every verb a line may start with: the CLI's (less those the shell does not run) and the shell's. */
export function shellVerbNames(cliVerbs: string[]): string[] {
  return [...cliVerbs.filter((v) => !NOT_IN_SHELL.has(v) && !COMMAND_WORDS.has(v)), ...Object.keys(SHELL_VERBS)];
}

/** The flag of spec named by an argv token (`--env`, `-e`, `--env=…`), with whether it takes a value. */
export function flagOf(spec: VerbSpecLike, tok: string): { name: string; takesValue: boolean; inline: boolean } | undefined {
  const eq = tok.indexOf('=');
  const key = tok.startsWith('--') && eq > 0 ? tok.slice(0, eq) : tok;
  if (key === '--root') return { name: 'root', takesValue: true, inline: eq > 0 };
  if (key === '--help' || key === '-h') return { name: 'help', takesValue: false, inline: eq > 0 };
  if (key === '--quiet' || key === '-q') return { name: 'quiet', takesValue: false, inline: eq > 0 };
  for (const [name, f] of Object.entries(spec.flags)) {
    if (key === `--${name}` || f.alias?.includes(key)) return { name, takesValue: f.kind !== 'bool', inline: eq > 0 };
  }
  return undefined;
}

/** Indices in argv of the positionals (stopping at the command of a verb with stopAfter), and of `--` if it ends the flags. */
export function positionals(spec: VerbSpecLike, argv: string[]): { at: number[]; dashdash?: number } {
  const at: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (spec.stopAfter !== undefined && at.length >= spec.stopAfter) break;
    if (tok === '--') return { at: [...at, ...(spec.stopAfter === undefined ? argv.slice(i + 1).map((_, k) => i + 1 + k) : [])], dashdash: i };
    if (!tok.startsWith('-') || tok === '-') {
      at.push(i);
      continue;
    }
    const f = flagOf(spec, tok);
    if (f?.takesValue && !f.inline) i++;
  }
  return { at };
}

/** Whether a parsed flag is set in argv (by any of its spellings). */
function hasFlag(spec: VerbSpecLike, argv: string[], name: string): boolean {
  const stop = positionals(spec, argv);
  const end = spec.stopAfter !== undefined && stop.at.length >= spec.stopAfter ? stop.at[spec.stopAfter - 1] : (stop.dashdash ?? argv.length);
  return argv.slice(0, end).some((t) => flagOf(spec, t)?.name === name);
}

/** Works out what a parsed line does. */
export async function planLine(parsed: ParsedLine, ctx: PlanContext): Promise<Plan> {
  const { words, tokens } = parsed;
  if (tokens.length === 0) return { kind: 'none' };
  const verb = words[0];
  if (verb !== undefined && verb in SHELL_VERBS) {
    if (parsed.hasOps) return { kind: 'error', verb, message: `${verb} takes no shell operators` };
    if (verb === 'enter') {
      if (!ctx.container) return { kind: 'error', verb, message: NO_CONTAINER };
      return { kind: 'verb', verb: 'enter', argv: ['-t', ctx.container, '--', '/bin/sh'], terminal: true, bare: false };
    }
    if ((verb === 'layers') && !ctx.container) return { kind: 'error', verb, message: NO_CONTAINER };
    return { kind: 'shell', verb, args: words.slice(1) };
  }
  if (verb !== undefined && NOT_IN_SHELL.has(verb) && ctx.verbNames.includes(verb)) {
    return { kind: 'error', verb, message: `${verb} is not run inside the shell`, hint: `run \`cairn ${verb} …\` from a terminal` };
  }
  if (verb !== undefined && ctx.verbNames.includes(verb) && !COMMAND_WORDS.has(verb)) return planVerb(parsed, verb, await ctx.spec(verb), ctx);
  // A command to run in the container.
  if (!ctx.container) {
    const near = verb !== undefined ? didYouMean(verb, shellVerbNames(ctx.verbNames)) : undefined;
    if (near) return { kind: 'error', verb: verb!, message: `unknown verb ${verb}: did you mean \`${near}\`?`, hint: 'a line that is not a verb runs as a command in the container: start with `from IMAGE`' };
    return { kind: 'error', verb: 'run', message: NO_CONTAINER };
  }
  const start = tokens[0].start;
  const argv = parsed.hasOps || parsed.hasShellSyntax ? ['/bin/sh', '-c', commandText(parsed, start)] : words;
  return { kind: 'verb', verb: 'run', argv: [ctx.container, '--', ...argv], terminal: false, bare: true };
}

/** The line from offset start to its comment, as typed. */
function commandText(parsed: ParsedLine, start: number): string {
  return parsed.line.slice(start, parsed.commentStart ?? parsed.line.length).trim();
}

async function planVerb(parsed: ParsedLine, verb: string, spec: VerbSpecLike, ctx: PlanContext): Promise<Plan> {
  let argv = parsed.words.slice(1);
  // --help among the verb's flags (not among a command's: `run ls --help`, `run -- x --help`).
  const { at, dashdash } = positionals(spec, argv);
  const flagsEnd = Math.min(spec.stopAfter !== undefined && at.length >= spec.stopAfter ? at[spec.stopAfter - 1] : argv.length, dashdash ?? argv.length);
  const help = argv.slice(0, flagsEnd).some((t) => t === '--help' || t === '-h');
  if (help) return { kind: 'verb', verb, argv, terminal: false, bare: false };
  if (verb === 'run') return planRun(parsed, spec, ctx);
  if (parsed.hasOps) {
    return { kind: 'error', verb, message: `${verb} takes no shell operators (${parsed.tokens.find((t) => t.kind === 'op')!.text})`, hint: 'operators belong to a command run in the container: `run sh -c \'…\'`' };
  }
  const pos = positionals(spec, argv).at;
  if (verb === 'checkpoint' && pos.length > 0 && !hasFlag(spec, argv, 'message')) {
    // `checkpoint nginx installed`: the words are the message.
    argv = [...argv.filter((_, i) => !pos.includes(i)), '-m', pos.map((i) => argv[i]).join(' ')];
  } else if (verb === 'rollback' && pos.length === 1 && !hasFlag(spec, argv, 'to')) {
    argv = argv.filter((_, i) => i !== pos[0]).concat(['--to', argv[pos[0]]]);
  } else if (verb === 'push' && pos.length === 1) {
    if (!ctx.image) return { kind: 'error', verb, message: 'nothing committed yet in this session', hint: '`commit NAME` first, or give both: push IMAGE DEST' };
    argv = [ctx.image, ...argv];
  }
  const need = CONTAINER_ARG[verb];
  const insert = need !== undefined && positionals(spec, argv).at.length < need && !((verb === 'umount' || verb === 'unmount') && hasFlag(spec, argv, 'all'));
  if (insert) {
    if (!ctx.container) return { kind: 'error', verb, message: NO_CONTAINER };
    argv = [ctx.container, ...argv];
  }
  return { kind: 'verb', verb, argv, terminal: false, bare: false };
}

/** run: the container goes before the command; a command with operators or expansions runs as /bin/sh -c TEXT. */
function planRun(parsed: ParsedLine, spec: VerbSpecLike, ctx: PlanContext): Plan {
  if (!ctx.container) return { kind: 'error', verb: 'run', message: NO_CONTAINER };
  const args = parsed.words.slice(1);
  const { at, dashdash } = positionals({ ...spec, stopAfter: 1 }, args);
  const cmdAt = at[0] ?? (dashdash !== undefined ? dashdash + 1 : undefined);
  const flags = args.slice(0, at[0] ?? dashdash ?? args.length);
  const terminal = flags.some((t) => flagOf(spec, t)?.name === 'terminal' && !/=false$/.test(t));
  if (cmdAt === undefined || cmdAt >= args.length) {
    if (parsed.hasOps) return { kind: 'error', verb: 'run', message: 'no command given before the shell operator' };
    return { kind: 'verb', verb: 'run', argv: [...flags, ctx.container], terminal, bare: false };
  }
  // Word i of the line is token i (the words are the tokens before the first operator).
  const cmdTokens = parsed.tokens.slice(1 + cmdAt);
  const shell = parsed.hasOps || cmdTokens.some((t) => t.expands);
  const cmd = shell ? ['/bin/sh', '-c', commandText(parsed, parsed.tokens[1 + cmdAt].start)] : args.slice(cmdAt);
  return { kind: 'verb', verb: 'run', argv: [...flags, ctx.container, '--', ...cmd], terminal, bare: false };
}

/** The hint for a command the container does not have, when its name is close to a verb's. */
export function notFoundHint(command: string, cliVerbs: string[]): string | undefined {
  const near = didYouMean(command, shellVerbNames(cliVerbs));
  return near ? `did you mean \`${near}\`? (a line that is not a verb runs as a command in the container)` : undefined;
}

/** The text of `help` without a verb: the verbs, and how a line is read. */
export function helpIndex(cliVerbs: string[], summaries: Record<string, string>): string {
  const names = shellVerbNames(cliVerbs);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  const line = (n: string) => `  ${n.padEnd(width)}${SHELL_VERBS[n]?.summary ?? summaries[n] ?? ''}`;
  return [
    'A line is a cairn verb, with the current container filled in (`copy ./app /app`, `commit NAME`),',
    'or a command run in the container (`apt-get install -y curl`; with |, && or > it runs as /bin/sh -c LINE).',
    '',
    'Verbs:',
    ...shellVerbNames(cliVerbs).filter((v) => !(v in SHELL_VERBS) && summaries[v] !== undefined).map(line),
    '',
    'Shell verbs:',
    ...Object.keys(SHELL_VERBS).map(line),
    '',
    '`help VERB` shows a verb\'s flags.',
  ].join('\n');
}

/** The text of `help [VERB]`: the index, a shell verb's usage, or a CLI verb's --help (CTR noted as implied). */
export async function helpFor(verbs: VerbTable, args: string[]): Promise<string> {
  const cli = Object.keys(verbs.verbs);
  if (args.length === 0) {
    const summaries: Record<string, string> = {};
    for (const v of cli) {
      const spec = (await verbs.verbs[v]()).spec;
      // Aliases (add, unmount) are left out of the index.
      if (spec.name === v) summaries[v] = spec.summary.split(/(?<=\.) /)[0];
    }
    return helpIndex(cli, summaries);
  }
  const v = args[0];
  if (SHELL_VERBS[v]) return `Usage: ${SHELL_VERBS[v].usage}\n\n${SHELL_VERBS[v].summary}`;
  if (!shellVerbNames(cli).includes(v)) {
    const near = didYouMean(v, shellVerbNames(cli));
    throw new NotFoundError(`no verb ${v}${near ? `: did you mean \`${near}\`?` : ''}`, { hint: '`help` lists the verbs' });
  }
  const note = CONTAINER_ARG[v] !== undefined ? '\nIn the shell, CTR is the current container: leave it out.\n' : '';
  return verbs.help((await verbs.verbs[v]()).spec) + note;
}
