import { store } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { table } from '../table.js';

/** `cairn images`: list stored images. */
export const spec: VerbSpec = {
  name: 'images',
  usage: 'images [--json]',
  summary: 'List the images in the store.',
  example: 'cairn images --json',
  flags: { json: { kind: 'bool', help: 'print JSON' }, noheading: { kind: 'bool', alias: ['-n'], help: 'no heading' } },
  min: 0,
  max: 0,
};

/** Prints the images. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const s = await store({ root: ctx.root });
  const recs = await s.images.list();
  if (bool(p, 'json')) return ctx.out(JSON.stringify(recs.map((r) => ({ id: r.id, names: r.names, digest: r.manifest, created: r.created })), null, 2));
  const rows: string[][] = [];
  for (const r of recs) {
    const names = r.names.length ? r.names : ['<none>:<none>'];
    for (const n of names) {
      const i = n.lastIndexOf(':');
      rows.push([n.slice(0, i), n.slice(i + 1), r.id.slice(0, 12), r.created.slice(0, 19).replace('T', ' ')]);
    }
  }
  ctx.out(table(bool(p, 'noheading') ? null : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED'], rows));
}
