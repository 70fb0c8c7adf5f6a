import { gc } from '../../dsl/api.js';
import type { Parsed, VerbSpec } from '../args.js';
import { out, type VerbContext } from '../verb.js';

/** `cairn gc`: collect unreferenced blobs and layers. */
export const spec: VerbSpec = {
  name: 'gc',
  usage: 'gc',
  summary: 'Remove blobs and extracted layers no image or container references, and files left by interrupted verbs.',
  example: 'cairn gc',
  flags: {},
  min: 0,
  max: 0,
};

/** Collects and prints what went. */
export async function main(_p: Parsed, ctx: VerbContext): Promise<void> {
  const r = await gc({ root: ctx.root });
  out(`removed ${r.blobs} blobs (${r.bytes} bytes) and ${r.layers} layers`);
}
