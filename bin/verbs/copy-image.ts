import { copyImage } from '../../dsl/index.js';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { REGISTRY_FLAGS, SIDE_REGISTRY_FLAGS, registryOptions, sideRegistryOptions } from '../registry-flags.js';
import { SIGN_FLAGS, signOptions } from '../sign-flags.js';

/** `cairn copy-image`: copy an image between transports, like skopeo copy. */
export const spec: VerbSpec = {
  name: 'copy-image',
  usage:
    'copy-image [--creds USER:PASS] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR] [--src-creds USER:PASS] [--dest-creds USER:PASS] ' +
    '[--src-authfile FILE] [--dest-authfile FILE] [--src-tls-verify=false] [--dest-tls-verify=false] [--src-cert-dir DIR] [--dest-cert-dir DIR] [--platform OS/ARCH] ' +
    '[--sign] [--sign-key FILE] [--sign-by FINGERPRINT] [--sign-passphrase-file FILE] [--registries.d DIR] SRC DEST',
  summary:
    'Copy an image from any transport to any other (stored images by name or ID; docker:// registries as source or destination, blobs mounted within one registry), verifying every blob. ' +
    'The plain registry flags apply to both sides; the --src-* and --dest-* ones to one side, over them.',
  example: 'cairn copy-image --src-creds ci:$PULL --dest-creds ci:$PUSH docker://a.example.com/app:1 docker://b.example.com/app:1',
  flags: { ...REGISTRY_FLAGS, ...SIDE_REGISTRY_FLAGS, ...SIGN_FLAGS },
  min: 2,
  max: 2,
};

/** Copies. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  await copyImage(p.args[0], p.args[1], { root: ctx.root, ...registryOptions(p), ...signOptions(p), src: sideRegistryOptions(p, 'src'), dest: sideRegistryOptions(p, 'dest') });
}
