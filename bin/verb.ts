import type { VerbContextLike } from '../shell/types.js';
import type { Parsed, VerbSpec } from './args.js';

/** What every verb module exports. */
export interface VerbModule {
  spec: VerbSpec;
  /** Runs the verb; a number is the exit status (run and exec pass the command's through). */
  main(p: Parsed, ctx: VerbContext): Promise<number | void>;
}

/**
 * What the dispatcher (or `cairn shell`, for each line) hands every verb: the storage root, --quiet and --json,
 * where result lines go, how a run step's I/O is done, and whether it runs inside the shell (shell/types.ts).
 */
export type VerbContext = VerbContextLike;

/** Writes the verb's result to stdout (stdout carries only results). */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}
