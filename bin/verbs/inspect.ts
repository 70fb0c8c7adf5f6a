import { inspect } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn inspect`: describe a container, image or transport reference as JSON. */
export const spec: VerbSpec = {
  name: 'inspect',
  usage: 'inspect [--type container|image] CTR|IMAGE|TRANSPORT:REF',
  summary: 'Print JSON describing a working container (config, layers, checkpoints, pending history), a stored image, or an image at a transport (config, layers, history).',
  example: 'cairn inspect oci:./out:latest',
  flags: {
    json: { kind: 'bool', help: 'print JSON (the default)' },
    type: { kind: 'string', alias: ['-t'], help: 'what to look for: container or image', arg: 'TYPE' },
  },
  min: 1,
  max: 1,
};

/** Prints the JSON. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const info = await inspect(p.args[0], { root: ctx.root, type: str(p, 'type') });
  ctx.out(JSON.stringify(info, null, 2));
}
