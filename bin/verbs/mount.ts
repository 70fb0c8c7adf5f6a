import { container } from '../../dsl/index.js';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn mount`: mount a container's root filesystem for host tools. */
export const spec: VerbSpec = {
  name: 'mount',
  usage: 'mount CTR…',
  summary: 'Mount the root filesystem of containers where host tools can write into it, and print its path.',
  example: 'make install DESTDIR=$(cairn mount web)',
  flags: {},
  min: 1,
  max: Infinity,
};

/** Mounts each container and prints the path (with the name first when several). */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  for (const name of p.args) {
    const path = await (await container(name, { root: ctx.root })).mount();
    ctx.out(p.args.length > 1 ? `${name} ${path}` : path);
  }
}
