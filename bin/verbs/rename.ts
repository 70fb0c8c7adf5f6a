import { container } from '../../dsl/index.js';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn rename`: give a working container another name. */
export const spec: VerbSpec = {
  name: 'rename',
  usage: 'rename CTR NEWNAME',
  summary: 'Give a working container another name (its ID, changes and checkpoints stay).',
  example: 'cairn rename debian-working-container web',
  flags: {},
  min: 2,
  max: 2,
};

/** Renames the container. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  await (await container(p.args[0], { root: ctx.root })).rename(p.args[1]);
}
