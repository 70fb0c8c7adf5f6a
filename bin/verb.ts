import type { Parsed, VerbSpec } from './args.js';

/** What every verb module exports. */
export interface VerbModule {
  spec: VerbSpec;
  /** Runs the verb; a number is the exit status (run and exec pass the command's through). */
  main(p: Parsed, ctx: VerbContext): Promise<number | void>;
}

/** What the dispatcher (or `cairn shell`, for each line) hands every verb. */
export interface VerbContext {
  root?: string;
  quiet: boolean;
  json: boolean;
  /** Writes a result line: the CLI's is out() below; the shell's feeds the step's output. */
  out(text: string): void;
  /** 'inherit' passes the terminal through (the CLI, `run -t` in the shell); 'pipe' streams output as engine events. */
  stdio: 'inherit' | 'pipe';
  /** True inside the shell: an interrupted step ends the step, never the process. */
  embedded: boolean;
}

/** Writes the verb's result to stdout (stdout carries only results). */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
