import { container, UsageError } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn rollback`: throw pending changes away. */
export const spec: VerbSpec = {
  name: 'rollback',
  usage: 'rollback [--to N] CTR',
  summary: 'Throw the pending changes away; with --to N also every checkpoint after the N-th (0: back to the base image).',
  example: 'cairn rollback --to 1 web',
  flags: { to: { kind: 'string', help: 'checkpoint to go back to', arg: 'N' } },
  min: 1,
  max: 1,
};

/** Rolls back. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const to = str(p, 'to');
  if (to !== undefined && !/^\d+$/.test(to)) throw new UsageError('--to takes a checkpoint number');
  await (await container(p.args[0], { root: ctx.root })).rollback(to === undefined ? undefined : Number(to));
}
