import { container, containers, UsageError } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn rm`: remove working containers. */
export const spec: VerbSpec = {
  name: 'rm',
  usage: 'rm [--all] CTR…',
  summary: 'Remove working containers and their pending changes, printing the ID of each.',
  example: 'cairn rm web',
  flags: { all: { kind: 'bool', alias: ['-a'], help: 'remove every container' } },
  min: 0,
  max: Infinity,
};

/** Removes the containers. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  if (!bool(p, 'all') && p.args.length === 0) throw new UsageError('name a container, or give --all');
  const list = bool(p, 'all') ? await containers({ root: ctx.root }) : await Promise.all(p.args.map((n) => container(n, { root: ctx.root })));
  for (const c of list) {
    await c.remove();
    ctx.out(c.id);
  }
}
