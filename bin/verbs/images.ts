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
  if (bool(p, 'json')) return ctx.out(JSON.stringify(recs.map((r) => ({ id: r.id, names: r.names, digest: r.manifest, created: r.imageCreated ?? r.created })), null, 2));
  const rows: string[][] = [];
  for (const r of recs) {
    const names = r.names.length ? r.names : ['<none>:<none>'];
    for (const n of names) {
      const i = n.lastIndexOf(':');
      rows.push([n.slice(0, i), n.slice(i + 1), r.id.slice(0, 12), shownDate(r.imageCreated ?? r.created)]);
    }
  }
  ctx.out(table(bool(p, 'noheading') ? null : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED'], rows));
}

/** A date as `YYYY-MM-DD HH:MM:SS` (UTC), whatever precision and zone the config wrote it in. */
function shownDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(0, 19).replace('T', ' ');
}
