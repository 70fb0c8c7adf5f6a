import { store } from '../../dsl/index.js';
import { bool, list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { table } from '../table.js';
import { formatted, listingFlags, parseFilters } from '../format.js';

/** `cairn containers`: list working containers. */
export const spec: VerbSpec = {
  name: 'containers',
  usage: 'containers [--json] [-q] [--no-trunc] [--filter name=NAME|id=ID|ancestor=IMAGE]… [--format json|TEMPLATE]',
  summary: 'List the working containers; a template sees .ContainerID, .Builder, .ImageID, .ImageName and .ContainerName, as buildah\'s.',
  example: "cairn containers --format '{{.ContainerName}} {{.ImageName}}'",
  flags: listingFlags('container', 'name=, id= or ancestor=, a prefix of the ID or the image\'s name', '{{.ContainerID}}\\t{{.ContainerName}}'),
  min: 0,
  max: 0,
};

/** Prints the containers. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  let recs = await (await store({ root: ctx.root })).containers.list();
  for (const f of parseFilters(list(p, 'filter'), ['name', 'id', 'ancestor'])) {
    if (f.key === 'name') recs = recs.filter((r) => r.name === f.value);
    else if (f.key === 'id') recs = recs.filter((r) => r.id.startsWith(f.value));
    else recs = recs.filter((r) => r.from === f.value || (r.imageId ?? '').startsWith(f.value.replace(/^sha256:/, '')));
  }
  const trunc = (id: string) => (bool(p, 'no-trunc') ? id : id.slice(0, 12));
  if (bool(p, 'quiet')) return void (recs.length && ctx.out(recs.map((r) => trunc(r.id)).join('\n')));
  const json = () => recs.map((r) => ({ id: r.id, name: r.name, from: r.from, imageId: r.imageId ?? null, driver: r.driver, checkpoints: r.checkpoints.length, mounted: !!r.mounted }));
  if (bool(p, 'json')) return ctx.out(JSON.stringify(json(), null, 2));
  const rows = recs.map((r) => ({ ContainerID: trunc(r.id), Builder: '*', ImageID: trunc(r.imageId ?? ''), ImageName: r.from, ContainerName: r.name }));
  const text = formatted(str(p, 'format'), rows, json);
  if (text !== undefined) return void (text && ctx.out(text));
  ctx.out(table(bool(p, 'noheading') ? null : ['CONTAINER ID', 'BUILDER', 'IMAGE ID', 'IMAGE NAME', 'CONTAINER NAME'], rows.map((r) => [r.ContainerID, r.Builder, r.ImageID, r.ImageName, r.ContainerName])));
}
