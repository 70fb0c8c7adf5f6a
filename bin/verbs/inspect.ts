import { inspect } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { checkTemplate, render } from '../format.js';
import { REGISTRY_FLAGS, registryOptions } from '../registry-flags.js';

/** `cairn inspect`: describe a container, image or transport reference as JSON. */
export const spec: VerbSpec = {
  name: 'inspect',
  usage: 'inspect [--type container|image] [--format json|TEMPLATE] [--creds USER:PASS] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR] [--platform OS/ARCH] CTR|IMAGE|TRANSPORT:REF',
  summary: 'Print JSON describing a working container (config, layers, checkpoints, pending history), a stored image, or an image at a transport (config, layers, history; of a docker:// image only its manifest and config are fetched).',
  example: 'cairn inspect oci:./out:latest',
  flags: {
    json: { kind: 'bool', help: 'print JSON (the default)' },
    type: { kind: 'string', alias: ['-t'], help: 'what to look for: container or image', arg: 'TYPE' },
    format: { kind: 'string', alias: ['-f'], help: 'json, or a template over the JSON\'s fields, such as {{.Config.Config.Env}}', arg: 'FORMAT' },
    ...REGISTRY_FLAGS,
  },
  min: 1,
  max: 1,
};

/** Prints the JSON. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const format = str(p, 'format');
  if (format !== undefined && format !== 'json') checkTemplate(format);
  const info = await inspect(p.args[0], { root: ctx.root, type: str(p, 'type'), ...registryOptions(p) });
  ctx.out(format !== undefined && format !== 'json' ? render(format, info) : JSON.stringify(info, null, 2));
}
