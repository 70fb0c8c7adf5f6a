import { copyImage } from '../../dsl/index.js';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { REGISTRY_FLAGS, registryOptions } from '../registry-flags.js';

/** `cairn copy-image`: copy an image between transports, like skopeo copy. */
export const spec: VerbSpec = {
  name: 'copy-image',
  usage: 'copy-image [--creds USER:PASS] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR] [--platform OS/ARCH] SRC DEST',
  summary: 'Copy an image from any transport to any other (stored images by name or ID; docker:// registries as source or destination, blobs mounted within one registry), verifying every blob.',
  example: 'cairn copy-image docker-archive:app.tar oci:./layout:app',
  flags: { ...REGISTRY_FLAGS },
  min: 2,
  max: 2,
};

/** Copies. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  await copyImage(p.args[0], p.args[1], { root: ctx.root, ...registryOptions(p) });
}
