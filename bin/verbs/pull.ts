import { pull } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { REGISTRY_FLAGS, registryOptions } from '../registry-flags.js';

/** `cairn pull`: copy an image into the store. */
export const spec: VerbSpec = {
  name: 'pull',
  usage: 'pull [--signature-policy FILE] [--creds USER:PASS] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR] [--platform OS/ARCH] [--registries.d DIR] SRC',
  summary: 'Copy an image from a transport (oci:, oci-archive:, docker-archive:, tarball:, docker://) into the store and print its ID.',
  example: 'cairn pull docker://registry.example.com/team/app:1.4',
  flags: {
    'signature-policy': { kind: 'string', alias: ['--policy'], help: 'judge the source by this signature policy file (containers-policy.json(5) format)', arg: 'FILE' },
    ...REGISTRY_FLAGS,
  },
  min: 1,
  max: 1,
};

/** Pulls and prints the ID. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  ctx.out((await pull(p.args[0], { root: ctx.root, signaturePolicy: str(p, 'signature-policy'), ...registryOptions(p) })).id);
}
