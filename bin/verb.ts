import type { Parsed, VerbSpec } from './args.js';

/** What every verb module exports. */
export interface VerbModule {
  spec: VerbSpec;
  /** Runs the verb; a number is the exit status (run and exec pass the command's through). */
  main(p: Parsed, ctx: VerbContext): Promise<number | void>;
}

/** What the dispatcher hands every verb. */
export interface VerbContext {
  root?: string;
  quiet: boolean;
  json: boolean;
}

/** Writes the verb's result to stdout (stdout carries only results). */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
