import { image } from '../../dsl/index.js';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn tag`: add names to an image. */
export const spec: VerbSpec = {
  name: 'tag',
  usage: 'tag IMAGE NAME…',
  summary: 'Add names to a stored image (a name held by another image moves to this one).',
  example: 'cairn tag web localhost/web:1.0 localhost/web:latest',
  flags: {},
  min: 2,
  max: Infinity,
};

/** Tags. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const [name, ...names] = p.args;
  await (await image(name, { root: ctx.root })).tag(...names);
}
