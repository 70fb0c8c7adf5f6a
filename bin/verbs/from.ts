import { type FromOptions, from } from '../../dsl/index.js';
import { str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { REGISTRY_FLAGS, registryOptions } from '../registry-flags.js';

/** `cairn from`: create a working container. */
export const spec: VerbSpec = {
  name: 'from',
  usage: 'from [--name NAME] [--pull missing|always|never] [--signature-policy FILE] [--creds USER:PASS] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR] [--platform OS/ARCH] [--registries.d DIR] IMAGE',
  summary: 'Create a working container from an image (scratch, a stored name or ID, oci:DIR, oci-archive:FILE, docker-archive:FILE, tarball:FILE, docker://HOST/REPO:TAG) and print its name.',
  example: 'c=$(cairn from --name web oci:./debian:bookworm)',
  flags: {
    name: { kind: 'string', help: 'name of the container', arg: 'NAME' },
    pull: { kind: 'string', help: 'when to fetch the image: missing (default), always, never', arg: 'POLICY' },
    'signature-policy': { kind: 'string', alias: ['--policy'], help: 'judge the source by this signature policy file (containers-policy.json(5) format)', arg: 'FILE' },
    ...REGISTRY_FLAGS,
  },
  min: 1,
  max: 1,
};

/** Creates the container and prints its name. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const c = await from(p.args[0], { root: ctx.root, name: str(p, 'name'), pull: str(p, 'pull') as FromOptions['pull'], signaturePolicy: str(p, 'signature-policy'), ...registryOptions(p) });
  ctx.out(c.name);
}
