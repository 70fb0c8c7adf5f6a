import { gc } from '../../dsl/index.js';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn gc`: collect unreferenced blobs and layers, and what interrupted verbs left. */
export const spec: VerbSpec = {
  name: 'gc',
  usage: 'gc',
  summary:
    'Remove blobs and extracted layers no image or container references, files left by interrupted verbs (run steps\' ' +
    'scratch included), and exec cache entries no running service uses. Stops without removing anything when a record cannot be read.',
  example: 'cairn gc',
  flags: {},
  min: 0,
  max: 0,
};

/** Collects and prints what went. */
export async function main(_p: Parsed, ctx: VerbContext): Promise<void> {
  const r = await gc({ root: ctx.root });
  ctx.out(`removed ${r.blobs} blobs (${r.bytes} bytes), ${r.layers} layers, ${r.leftovers} leftovers of interrupted verbs and ${r.execEntries} exec cache entries`);
}
