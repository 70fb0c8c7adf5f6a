import { check } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn check`: verify the whole store, one line per problem; --repair removes what is broken or left over. */
export const spec: VerbSpec = {
  name: 'check',
  usage: 'check [--repair]',
  summary:
    'Verify the store: every blob against its digest, every image\'s and container\'s references, and what interrupted ' +
    'verbs left (temporary files, unfinished containers, dead names, stale mounts). Prints one line per problem; exit 1 when any.',
  example: 'cairn check --repair',
  flags: { repair: { kind: 'bool', help: 'remove what is broken or left over (never an image record: those are reported)' } },
  min: 0,
  max: 0,
};

/** Checks (and repairs); exit 0 when the store is clean (or was repaired clean), 1 otherwise. */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  const repair = bool(p, 'repair');
  const r = await check({ root: ctx.root, repair, onProblem: (line) => ctx.out(line) });
  const left = repair ? r.problems.length - r.repaired : r.problems.length;
  if (!ctx.quiet) {
    const n = `${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`;
    const summary = r.problems.length === 0 ? 'the store is clean' : repair ? `${n}, ${r.repaired} repaired` : `${n} (\`cairn check --repair\` removes what can be removed)`;
    const garbage = r.unreferenced ? `; ${r.unreferenced} blobs nothing uses (\`cairn gc\` removes them)` : '';
    process.stderr.write(`cairn check: ${summary}${garbage}\n`);
  }
  return left > 0 ? 1 : 0;
}
