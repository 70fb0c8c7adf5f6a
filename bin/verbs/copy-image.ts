import { copyImage } from '../../dsl/index.js';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn copy-image`: copy an image between transports, like skopeo copy. */
export const spec: VerbSpec = {
  name: 'copy-image',
  usage: 'copy-image SRC DEST',
  summary: 'Copy an image from any transport to any other (stored images by name or ID), verifying every blob.',
  example: 'cairn copy-image docker-archive:app.tar oci:./layout:app',
  flags: {},
  min: 2,
  max: 2,
};

/** Copies. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  await copyImage(p.args[0], p.args[1], { root: ctx.root });
}
