import { BadInputError } from '../dsl/index.js';
import { planLine } from './commands.js';
import { parseLine, quoteWord } from './line.js';
import type { ParsedLike, StepRecord, VerbTable } from './types.js';

/*
 * `save FILE.cairn | FILE.build.mjs`: the steps of the current container that are still in effect — from its
 * `from` on, those that succeeded and that no later rollback undid — written as shell lines or as a build
 * script of the public API. Only what makes the image is kept: from, run (and bare commands), copy, config,
 * checkpoint and commit; looking (diff, layers, inspect…) and interactive steps (`enter`, `run -t`) are not.
 */

/** The two formats. */
export type SaveFormat = 'cairn' | 'build.mjs';

/** The verbs that make the image, in the order they ran. */
const KEPT = new Set(['from', 'run', 'copy', 'add', 'config', 'checkpoint', 'commit']);

/** The format a file name asks for. */
export function saveFormat(file: string): SaveFormat | undefined {
  if (file.endsWith('.cairn')) return 'cairn';
  if (/\.(m?js)$/.test(file)) return 'build.mjs';
  return undefined;
}

/** What save wrote. */
export interface SavedText {
  text: string;
  /** Steps written. */
  steps: number;
  /** Lines of steps left out that change the tree (interactive ones), for a warning. */
  skipped: string[];
}

/** Options of saveText. */
export interface SaveOptions {
  /** The container's base image, for a container continued from an earlier session (no `from` among the steps). */
  base?: string;
}

/** A kept step: its line, and the CLI argv it ran with the container argument taken out. */
interface Kept {
  rec: StepRecord;
  verb: string;
  p: ParsedLike;
}

const CTR = '\u0000ctr';

/** Writes the steps still in effect as the text of a FILE.cairn or FILE.build.mjs. */
export async function saveText(records: readonly StepRecord[], format: SaveFormat, verbs: VerbTable, opts: SaveOptions = {}): Promise<SavedText> {
  let first = -1;
  records.forEach((r, i) => {
    if (r.verb === 'from' && r.status === 'ok' && !r.undone) first = i;
  });
  const skipped: string[] = [];
  const kept: Kept[] = [];
  for (const rec of first >= 0 ? records.slice(first) : records) {
    if (rec.status !== 'ok' || rec.undone) continue;
    if (rec.verb === 'enter') {
      skipped.push(rec.line);
      continue;
    }
    if (!KEPT.has(rec.verb)) continue;
    const parsed = parseLine(rec.line);
    const plan = await planLine(parsed, { container: CTR, verbNames: Object.keys(verbs.verbs), spec: async (v) => (await verbs.verbs[v]()).spec });
    if (plan.kind !== 'verb') continue;
    if (plan.terminal) {
      skipped.push(rec.line);
      continue;
    }
    const mod = await verbs.verbs[plan.verb]();
    const p = verbs.parse(mod.spec, plan.argv);
    if (p.flags.help) continue;
    p.args = p.args.filter((a) => a !== CTR);
    kept.push({ rec, verb: plan.verb, p });
  }
  let base: string | undefined;
  if (kept[0]?.verb !== 'from') {
    if (!opts.base) throw new BadInputError('nothing to save: no `from` among the steps', { hint: 'start with `from IMAGE`' });
    base = opts.base;
  }
  const text = format === 'cairn' ? cairnText(kept, base) : scriptText(kept, base);
  return { text, steps: kept.length, skipped };
}

function cairnText(kept: Kept[], base: string | undefined): string {
  const lines = ['#!/usr/bin/env -S cairn shell', '# Saved by `cairn shell`: replay with `cairn shell FILE.cairn`.'];
  if (base !== undefined) lines.push(`# The container was made before the session: its earlier steps are not here.`, `from ${quoteWord(base)}`);
  for (const k of kept) {
    // A container's name belongs to the session it was made in: a replay makes its own.
    if (k.verb === 'from') lines.push(['from', ...fromFlags(k.p), quoteWord(k.p.args[0])].join(' '));
    else lines.push(k.rec.line.trim());
  }
  return lines.join('\n') + '\n';
}

function fromFlags(p: ParsedLike): string[] {
  const out: string[] = [];
  if (typeof p.flags.pull === 'string') out.push('--pull', quoteWord(p.flags.pull));
  if (typeof p.flags['signature-policy'] === 'string') out.push('--signature-policy', quoteWord(p.flags['signature-policy']));
  return out;
}

/** A JavaScript literal: strings, arrays and plain objects (undefined members left out). */
function js(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(js).join(', ')}]`;
  if (v && typeof v === 'object') {
    const parts = Object.entries(v).filter(([, x]) => x !== undefined && !(Array.isArray(x) && x.length === 0));
    return parts.length ? `{ ${parts.map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${js(x)}`).join(', ')} }` : '{}';
  }
  return JSON.stringify(v);
}

/** `, OPTS` when opts has any member. */
function optsArg(o: Record<string, unknown>): string {
  const t = js(o);
  return t === '{}' ? '' : `, ${t}`;
}

function str(p: ParsedLike, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === 'string' ? v : undefined;
}

function list(p: ParsedLike, name: string): string[] | undefined {
  const v = p.flags[name];
  return Array.isArray(v) ? v : undefined;
}

function bool(p: ParsedLike, name: string): boolean | undefined {
  return p.flags[name] === true ? true : undefined;
}

function scriptText(kept: Kept[], base: string | undefined): string {
  const lines = [
    '// Saved by `cairn shell`: replay with `cairn build FILE.build.mjs`.',
    "import { from } from 'cairn';",
    '',
  ];
  if (base !== undefined) lines.push('// The container was made before the session: its earlier steps are not here.', `const c = await from(${js(base)});`);
  for (const { verb, p, rec } of kept) {
    lines.push(`// ${rec.line.trim().replace(/\n/g, ' ')}`);
    switch (verb) {
      case 'from':
        // The only one: the steps start at it. A container's name belongs to its session: a replay makes its own.
        lines.push(`const c = await from(${js(p.args[0])}${optsArg({ pull: str(p, 'pull'), signaturePolicy: str(p, 'signature-policy') })});`);
        break;
      case 'run': {
        const argv = p.rest[0] === '--' ? p.rest.slice(1) : p.rest;
        const o = {
          env: list(p, 'env'), workdir: str(p, 'workingdir'), user: str(p, 'user'), volumes: list(p, 'volume'), tmpfs: list(p, 'tmpfs'),
          secrets: list(p, 'secret'), network: str(p, 'network'), pid: str(p, 'pid'),
        };
        lines.push(`await c.run(${js(argv)}${optsArg(o)});`);
        break;
      }
      case 'copy':
      case 'add': {
        const srcs = p.args.slice(0, -1);
        const o = { chown: str(p, 'chown'), chmod: str(p, 'chmod'), from: str(p, 'from'), withDeps: bool(p, 'with-deps'), extraLibs: list(p, 'extra-lib') };
        lines.push(`await c.${verb}(${js(srcs)}, ${js(p.args[p.args.length - 1])}${optsArg(o)});`);
        break;
      }
      case 'config': {
        const o = {
          env: list(p, 'env'), entrypoint: str(p, 'entrypoint'), cmd: str(p, 'cmd'), workingdir: str(p, 'workingdir'), user: str(p, 'user'),
          labels: list(p, 'label'), ports: list(p, 'port'), volumes: list(p, 'volume'), author: str(p, 'author'), stopSignal: str(p, 'stop-signal'),
        };
        lines.push(`await c.config(${js(o)});`);
        break;
      }
      case 'checkpoint': {
        const m = str(p, 'message');
        lines.push(`await c.checkpoint(${m === undefined ? '' : js(m)});`);
        break;
      }
      case 'commit': {
        const o = { squash: bool(p, 'squash'), timestamp: str(p, 'timestamp') };
        const name = p.args[0];
        const call = name === undefined ? `c.commit(${js(o) === '{}' ? '' : js(o)})` : `c.commit(${js(name)}${optsArg(o)})`;
        lines.push(`console.log((await ${call}).id);`);
        if (bool(p, 'rm')) lines.push('await c.remove();');
        break;
      }
      default:
        break;
    }
  }
  return lines.join('\n') + '\n';
}
