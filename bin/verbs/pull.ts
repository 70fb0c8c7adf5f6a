import { pull } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn pull`: copy an image into the store. */
export const spec: VerbSpec = {
  name: 'pull',
  usage: 'pull [--signature-policy FILE] SRC',
  summary: 'Copy an image from a transport (oci:, oci-archive:, docker-archive:, tarball:) into the store and print its ID.',
  example: 'cairn pull oci-archive:debian.tar',
  flags: {
    'signature-policy': { kind: 'string', help: 'judge the source by this signature policy file (containers-policy.json(5) format)', arg: 'FILE' },
  },
  min: 1,
  max: 1,
};

/** Pulls and prints the ID. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  ctx.out((await pull(p.args[0], { root: ctx.root, signaturePolicy: str(p, 'signature-policy') })).id);
}
