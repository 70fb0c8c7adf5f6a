import { UsageError } from '../dsl/index.js';
import type { FlagSpec } from './args.js';

/*
 * --format and --filter of the listing verbs (images, containers, inspect), the subset of buildah's that
 * scripts use: `--format json`, or a Go-template-like text where `{{.Field}}` (a path: `{{.Config.Env}}`) and
 * `{{json .Field}}` are replaced and `\t`, `\n` are escapes; and `--filter KEY=VALUE`.
 */

/** A value as Go's text/template prints it: arrays `[a b]`, maps as JSON, nothing for null. */
function show(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The value at a dotted path (`.A.B`), each name matched exactly or, failing that, without regard to case. */
function lookup(obj: unknown, path: string): unknown {
  let v = obj;
  for (const name of path.split('.').filter(Boolean)) {
    if (v === null || typeof v !== 'object') return undefined;
    const o = v as Record<string, unknown>;
    const key = name in o ? name : Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key === undefined) throw new UsageError(`--format: no field ${name} (fields here: ${Object.keys(o).join(', ')})`);
    v = o[key];
  }
  return v;
}

const ACTION = /\{\{\s*(json\s+)?(\.[\w.]*)\s*\}\}/g;

/** Checks a template once, before any output: every action must be `{{.Path}}` or `{{json .Path}}`. */
export function checkTemplate(t: string): void {
  const rest = t.replace(ACTION, '');
  if (rest.includes('{{') || rest.includes('}}')) throw new UsageError(`--format ${t}: only {{.Field}} and {{json .Field}} are understood`);
}

/** Renders a template for one object. */
export function render(t: string, obj: unknown): string {
  return t
    .replace(ACTION, (_, json: string | undefined, path: string) => {
      const v = lookup(obj, path);
      return json ? JSON.stringify(v ?? null) : show(v);
    })
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
}

/** Output of a listing: JSON for `json`, one rendered line per item for a template; undefined when no --format. */
export function formatted(format: string | undefined, items: unknown[], json: () => unknown): string | undefined {
  if (format === undefined) return undefined;
  if (format === 'json') return JSON.stringify(json(), null, 2);
  checkTemplate(format);
  return items.map((i) => render(format, i)).join('\n');
}

/** --filter KEY=VALUE pairs, each KEY one of keys (a filter may repeat). */
export function parseFilters(specs: string[], keys: string[]): { key: string; value: string }[] {
  return specs.map((f) => {
    const i = f.indexOf('=');
    const key = i > 0 ? f.slice(0, i) : f;
    if (i <= 0 || !keys.includes(key)) throw new UsageError(`--filter ${f}: use ${keys.map((k) => `${k}=…`).join(', ')}`);
    return { key, value: f.slice(i + 1) };
  });
}

/** The flags of a listing verb: --json, -n, -q, --no-trunc, --filter and --format, worded for what it lists. */
export function listingFlags(what: string, filterHelp: string, template: string): Record<string, FlagSpec> {
  return {
    json: { kind: 'bool', help: 'print JSON' },
    noheading: { kind: 'bool', alias: ['-n'], help: 'no heading' },
    quiet: { kind: 'bool', alias: ['-q'], help: `print the ${what} IDs only` },
    'no-trunc': { kind: 'bool', help: 'whole IDs' },
    filter: { kind: 'list', alias: ['-f'], help: `only ${what}s that match (${filterHelp})`, arg: 'KEY=VALUE' },
    format: { kind: 'string', help: `json, or a template such as ${template}`, arg: 'FORMAT' },
  };
}
