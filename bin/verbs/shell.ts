import { events } from '../../dsl/index.js';
import { helpText, parseArgs, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { VERB_MODULES } from '../verb-modules.js';

/** `cairn shell`: the interactive shell for building images, or a FILE.cairn of its lines. */
export const spec: VerbSpec = {
  name: 'shell',
  usage: 'shell [CTR|IMAGE|FILE.cairn]',
  summary:
    'A shell for building images step by step: a line is a verb with the current container filled in (`copy ./app /app`, ' +
    '`commit NAME`) or a command run in the container; it shows what each step changed, `layers` shows them the dive way, ' +
    'and `save FILE.cairn|FILE.build.mjs` keeps the steps still in effect as a script. Without a terminal (or given a ' +
    'FILE.cairn, or as a `#!/usr/bin/env -S cairn shell` script) it runs the lines plainly and stops at the first failing ' +
    'one with FILE:LINE and that line\'s status.',
  example: 'cairn shell tarball:debian.tar',
  flags: {},
  min: 0,
  max: 1,
};

/** Starts the shell (loaded only now: the other verbs never load it). */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  // The shell shows the engine's events itself (step output, warnings): the CLI's logger would print them twice.
  events.removeAllListeners('event');
  const { startShell } = await import('../../shell/index.js');
  return startShell({ verbs: { verbs: VERB_MODULES, parse: parseArgs, help: helpText }, root: ctx.root, arg: p.args[0] });
}
