import { container } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn checkpoint`: seal pending changes into a layer. */
export const spec: VerbSpec = {
  name: 'checkpoint',
  usage: 'checkpoint [-m MSG] CTR',
  summary: 'Seal the pending changes of the container into a layer (an explicit layer boundary) and print its diff ID.',
  example: 'cairn checkpoint -m "nginx installed" web',
  flags: { message: { kind: 'string', alias: ['-m'], help: 'message kept in the history', arg: 'MSG' } },
  min: 1,
  max: 1,
};

/** Seals and prints the diff ID. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  ctx.out(await (await container(p.args[0], { root: ctx.root })).checkpoint(str(p, 'message')));
}
