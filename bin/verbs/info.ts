import { info } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn info`: what a bug report needs. */
export const spec: VerbSpec = {
  name: 'info',
  usage: 'info [--json]',
  summary: 'Print the store path, storage driver, rootless mode and id ranges, and the versions of cairn, Node.js, the kernel and the host tools cairn runs: what a bug report needs.',
  example: 'cairn info --json',
  flags: { json: { kind: 'bool', help: 'print JSON' } },
  min: 0,
  max: 0,
};

/** Prints the facts, one `key: value` per line (nested keys indented), or JSON. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const facts = await info({ root: ctx.root });
  if (bool(p, 'json')) return ctx.out(JSON.stringify(facts, null, 2));
  const lines: string[] = [];
  const walk = (o: Record<string, unknown>, indent: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        lines.push(`${indent}${k}:`);
        walk(v as Record<string, unknown>, indent + '  ');
      } else lines.push(`${indent}${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
    }
  };
  walk(facts as unknown as Record<string, unknown>, '');
  ctx.out(lines.join('\n'));
}
