/** A path a step changed, and the dive view of a layer: the engine's (Container.pending, Container.layers). */
export type { ChangedPath, LayerView } from '../dsl/index.js';
import type { ChangedPath, LayerView } from '../dsl/index.js';

/*
 * The contract between the shell's session (what a line does: shell/session.ts) and its screens (the Ink UI in
 * shell/ui/, and the plain runner of `cairn shell FILE.cairn`): the session knows nothing of React, the UI
 * nothing of the engine. Both read the same records and events.
 */

/** The CLI's verbs, handed to the shell by `cairn shell` (bin/ sits above shell/: the shell never imports it). */
export interface VerbTable {
  /** The verbs' names (aliases included) and how to load each. */
  verbs: Record<string, () => Promise<VerbModuleLike>>;
  /** Parses a verb's argv by its spec, as the CLI does (throws UsageError). */
  parse(spec: VerbSpecLike, argv: string[]): ParsedLike;
  /** A verb's --help text. */
  help(spec: VerbSpecLike): string;
}

/** A CLI verb's module, as bin/verb.ts defines it (structurally). */
export interface VerbModuleLike {
  spec: VerbSpecLike;
  main(p: ParsedLike, ctx: VerbContextLike): Promise<number | void>;
}

/** A verb's command-line shape (bin/args.ts VerbSpec). */
export interface VerbSpecLike {
  name: string;
  usage: string;
  summary: string;
  example: string;
  flags: Record<string, { kind: 'bool' | 'string' | 'list'; alias?: string[]; help: string; arg?: string }>;
  min: number;
  max: number;
  stopAfter?: number;
}

/** Parsed flags and positionals (bin/args.ts Parsed). */
export interface ParsedLike {
  flags: Record<string, string | boolean | string[] | undefined>;
  args: string[];
  rest: string[];
}

/** What a verb is handed (bin/verb.ts VerbContext): where its result lines go, and how a run step's I/O is done. */
export interface VerbContextLike {
  root?: string;
  quiet: boolean;
  json: boolean;
  /** Writes a result line (the CLI: stdout). */
  out(text: string): void;
  /** 'inherit' passes the terminal through (the CLI, `run -t` in the shell); 'pipe' streams output as events. */
  stdio: 'inherit' | 'pipe';
  /** True inside the shell: an interrupted step ends the step, never the process. */
  embedded: boolean;
}

/** Lines of a step's output kept from its start (StepRecord.output holds them, then the last lines). */
export const HEAD_LINES = 200;

/** One line the user entered and what it did. */
export interface StepRecord {
  /** 1-based, in the order the lines were entered. */
  n: number;
  /** The line as typed. */
  line: string;
  /** The verb it ran: a CLI verb, a shell verb (use, layers, help, save, enter, exit), or 'run' for a bare command. */
  verb: string;
  status: 'running' | 'ok' | 'failed' | 'interrupted';
  /** A run step's exit status. */
  exitCode?: number;
  /** cairn's one-line message (and hint) when the step failed. */
  error?: string;
  /** Output lines, stdout and stderr in the order they came (kept bounded: the first and the last lines). */
  output: string[];
  /** Lines of output left out of `output` (a step that printed 100,000 lines). */
  omitted: number;
  /** The paths this step changed, biggest first (verbs that change the tree). */
  changes?: ChangedPath[];
  /** What the layers verb shows, when this step was `layers`. */
  layers?: LayerView[];
  ms?: number;
  /** True once a later rollback undid it: save leaves it out. */
  undone?: boolean;
}

/** The status line. */
export interface ShellStatus {
  container?: string;
  /** The reference the container was made from. */
  image?: string;
  checkpoints: number;
  /** Paths and bytes of the pending changes (since the last checkpoint). */
  pendingPaths: number;
  pendingBytes: number;
  mounted: boolean;
  /** A step is running. */
  busy: boolean;
}

/** The events a session emits to its screen (besides the engine's own, which it forwards as 'output'/'progress'). */
export interface SessionEvents {
  'step-start': [StepRecord];
  /** A line of output of the running step. */
  output: [StepRecord, string];
  /** Progress of the running step (bytes or items). */
  progress: [StepRecord, { done: number; total?: number; unit?: string }];
  'step-end': [StepRecord];
  status: [ShellStatus];
  /** A warning of the engine's, outside any step's output. */
  warn: [string];
}

/**
 * How the UI lends the terminal to an interactive program (`run -t sh`, `enter`): it stops drawing and leaves
 * raw mode, awaits fn, then restores the screen. The plain runner just awaits fn.
 */
export type TerminalHandoff = <T>(fn: () => Promise<T>) => Promise<T>;
