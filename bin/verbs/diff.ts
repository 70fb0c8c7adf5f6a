import { container } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn diff`: list pending changes. */
export const spec: VerbSpec = {
  name: 'diff',
  usage: 'diff [--json] CTR',
  summary: 'List the changes made since the last checkpoint: A (added), C (changed) or D (deleted) and the path.',
  example: 'cairn diff web',
  flags: { json: { kind: 'bool', help: 'print JSON' } },
  min: 1,
  max: 1,
};

/** Prints the changes. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const changes = await (await container(p.args[0], { root: ctx.root })).diff();
  if (bool(p, 'json')) ctx.out(JSON.stringify(changes, null, 2));
  else if (changes.length) ctx.out(changes.map((c) => `${c.kind} ${c.path}`).join('\n'));
}
