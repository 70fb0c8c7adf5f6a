import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { runScript } from './script.js';
import { Session, startLine } from './session.js';
import type { VerbTable } from './types.js';

/*
 * `cairn shell`: the interactive shell on a terminal (the Ink UI, loaded only then), else the plain runner over
 * a FILE.cairn or the lines piped in. bin/verbs/shell.ts calls startShell with the CLI's verb table.
 */

/** Options of startShell. */
export interface ShellOptions {
  verbs: VerbTable;
  root?: string;
  /** A container to use, an image to start from, or a FILE.cairn to run. */
  arg?: string;
}

/** Whether arg names a script to run: a FILE.cairn, or a file starting with `#!` (a shebang script). */
export function isScript(arg: string): boolean {
  if (arg.endsWith('.cairn')) return true;
  try {
    if (!statSync(arg).isFile()) return false;
    const fd = openSync(arg, 'r');
    try {
      const head = Buffer.alloc(2);
      return readSync(fd, head, 0, 2, 0) === 2 && head.toString() === '#!';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Runs the shell; resolves with its exit status. */
export async function startShell(opts: ShellOptions): Promise<number> {
  if (opts.arg !== undefined && isScript(opts.arg)) return runScript({ verbs: opts.verbs, root: opts.root, file: opts.arg });
  if (!process.stdin.isTTY || !process.stdout.isTTY) return runScript({ verbs: opts.verbs, root: opts.root, start: opts.arg });
  // The screen loads while the session opens.
  const screen = import('./ui/run.js');
  const session = await Session.open({ verbs: opts.verbs, root: opts.root, handoff: async (fn) => (await screen).uiHandoff(fn) });
  const { runInteractive } = await screen;
  try {
    const ui = runInteractive(session);
    // The prompt comes first; the start (a `from` may take a while) is the first step on the screen.
    if (opts.arg !== undefined) void session.exec(await startLine(opts.arg, opts.root));
    return await ui;
  } finally {
    await session.close();
  }
}
