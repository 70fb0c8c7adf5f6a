import { store } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { table } from '../table.js';

/** `cairn containers`: list working containers. */
export const spec: VerbSpec = {
  name: 'containers',
  usage: 'containers [--json]',
  summary: 'List the working containers.',
  example: 'cairn containers',
  flags: { json: { kind: 'bool', help: 'print JSON' }, noheading: { kind: 'bool', alias: ['-n'], help: 'no heading' } },
  min: 0,
  max: 0,
};

/** Prints the containers. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const recs = await (await store({ root: ctx.root })).containers.list();
  if (bool(p, 'json')) {
    return ctx.out(JSON.stringify(recs.map((r) => ({ id: r.id, name: r.name, from: r.from, imageId: r.imageId ?? null, driver: r.driver, checkpoints: r.checkpoints.length, mounted: !!r.mounted })), null, 2));
  }
  const rows = recs.map((r) => [r.id.slice(0, 12), '*', (r.imageId ?? '').slice(0, 12), r.from, r.name]);
  ctx.out(table(bool(p, 'noheading') ? null : ['CONTAINER ID', 'BUILDER', 'IMAGE ID', 'IMAGE NAME', 'CONTAINER NAME'], rows));
}
