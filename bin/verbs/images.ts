import { image, store } from '../../dsl/index.js';
import { bool, list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { table } from '../table.js';
import { formatted, listingFlags, parseFilters } from '../format.js';

/** `cairn images`: list stored images. */
export const spec: VerbSpec = {
  name: 'images',
  usage: 'images [--json] [-q] [--no-trunc] [--filter reference=PATTERN|dangling=BOOL|label=KEY[=VALUE]]… [--format json|TEMPLATE]',
  summary: 'List the images in the store; a template sees .ID, .Name, .Tag, .Digest, .CreatedAt (.Created), .Size (bytes of its layers), .ReadOnly and .Names of each name of each image.',
  example: "cairn images --filter reference='localhost/*' --format '{{.ID}} {{.Name}}:{{.Tag}}'",
  flags: listingFlags('image', 'reference=PATTERN, dangling=true|false, label=KEY[=VALUE]', '{{.ID}}\\t{{.Name}}'),
  min: 0,
  max: 0,
};

type Rec = { id: string; names: string[]; manifest: string; created: string; imageCreated?: string };

/** A date as `YYYY-MM-DD HH:MM:SS` (UTC), whatever precision and zone the config wrote it in. */
function shownDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(0, 19).replace('T', ' ');
}

/** The records the filters keep (labels are read from the image configs only when a label filter asks). */
async function filtered(recs: Rec[], specs: string[], root: string | undefined): Promise<Rec[]> {
  let out = recs;
  for (const f of parseFilters(specs, ['reference', 'dangling', 'label'])) {
    if (f.key === 'dangling') out = out.filter((r) => (r.names.length === 0) === (f.value === 'true'));
    else if (f.key === 'reference') {
      const { default: picomatch } = await import('picomatch');
      const m = picomatch(f.value);
      // A name as stored (localhost/web:1) or as the user may write it (web:1, web), with or without its tag.
      const forms = (n: string) => [n, n.slice(0, n.lastIndexOf(':'))].flatMap((x) => (x.startsWith('localhost/') ? [x, x.slice(10)] : [x]));
      out = out.filter((r) => r.names.some((n) => forms(n).some((x) => m(x))));
    } else {
      const [key, value] = f.value.includes('=') ? [f.value.slice(0, f.value.indexOf('=')), f.value.slice(f.value.indexOf('=') + 1)] : [f.value, undefined];
      const keep: Rec[] = [];
      for (const r of out) {
        const labels = (await (await image(r.id, { root })).inspect()).config.config?.Labels ?? {};
        if (key in labels && (value === undefined || labels[key] === value)) keep.push(r);
      }
      out = keep;
    }
  }
  return out;
}

/** Prints the images. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const s = await store({ root: ctx.root });
  const recs = await filtered(await s.images.list(), list(p, 'filter'), ctx.root);
  const id = (r: Rec) => (bool(p, 'no-trunc') ? r.id : r.id.slice(0, 12));
  if (bool(p, 'quiet')) return void (recs.length && ctx.out(recs.map(id).join('\n')));
  const json = () => recs.map((r) => ({ id: r.id, names: r.names, digest: r.manifest, created: r.imageCreated ?? r.created }));
  if (bool(p, 'json')) return ctx.out(JSON.stringify(json(), null, 2));
  const format = str(p, 'format');
  // A template's .Size reads each image's manifest (the layers' sizes); the table does not show it.
  const sizes = new Map<string, number>();
  if (format && /\.size\b/i.test(format)) {
    for (const r of recs) sizes.set(r.id, (await (await image(r.id, { root: ctx.root })).inspect()).manifest.layers.reduce((n, l) => n + l.size, 0));
  }
  const rows = recs.flatMap((r) =>
    (r.names.length ? r.names : ['<none>:<none>']).map((n) => {
      const i = n.lastIndexOf(':');
      const created = shownDate(r.imageCreated ?? r.created);
      return { ID: id(r), Name: n.slice(0, i), Tag: n.slice(i + 1), Digest: r.manifest, CreatedAt: created, Created: created, Size: sizes.get(r.id), ReadOnly: false, Names: r.names };
    }),
  );
  const text = formatted(format, rows, json);
  if (text !== undefined) return void (text && ctx.out(text));
  ctx.out(table(bool(p, 'noheading') ? null : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED'], rows.map((r) => [r.Name, r.Tag, r.ID, r.CreatedAt])));
}
