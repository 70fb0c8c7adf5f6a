import { container, containers } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn umount`: end a mount made by `cairn mount`. */
export const spec: VerbSpec = {
  name: 'umount',
  usage: 'umount [--all] CTR…',
  summary: 'Unmount the root filesystem of containers mounted with `cairn mount`, printing each name.',
  example: 'cairn umount web',
  flags: { all: { kind: 'bool', alias: ['-a'], help: 'unmount every container' } },
  min: 0,
  max: Infinity,
};

/** Unmounts the containers. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const list = bool(p, 'all') ? await containers({ root: ctx.root }) : await Promise.all(p.args.map((n) => container(n, { root: ctx.root })));
  for (const c of list) {
    await c.unmount();
    ctx.out(c.name);
  }
}
