import { image } from '../../dsl/api.js';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn push`: write a stored image to a transport. */
export const spec: VerbSpec = {
  name: 'push',
  usage: 'push IMAGE DEST',
  summary: 'Write a stored image to DEST: oci:DIR[:REF], oci-archive:FILE[:REF] or docker-archive:FILE[:NAME:TAG].',
  example: 'cairn push web oci-archive:web.tar:latest',
  flags: {
    'tls-verify': { kind: 'string', help: 'for registries: verify TLS (true/false)', arg: 'BOOL' },
  },
  min: 2,
  max: 2,
};

/** Pushes. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  await (await image(p.args[0], { root: ctx.root })).push(p.args[1]);
}
