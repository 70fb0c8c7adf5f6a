import { readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, type FlagSpec, type Parsed, type VerbSpec } from '../../../bin/args.js';
import { UsageError } from '../../../dsl/core/errors.js';
import { fuzz, fuzzTimeout } from '../../kit/fuzz.js';

/**
 * The argv parser under every verb's spec: random argv arrays give a parse or a UsageError, never another
 * exception, and a parse keeps to the spec (known flags only, values of the flag's kind, positional counts
 * within bounds, the rest a suffix of argv); argv written from a parse in any spelling (--flag value,
 * --flag=value, aliases, '--', flags between positionals) parses back to it.
 */

/** The flags every verb takes (as bin/args.ts declares them). */
const GLOBAL: Record<string, FlagSpec> = {
  root: { kind: 'string', help: '' },
  help: { kind: 'bool', alias: ['-h'], help: '' },
  quiet: { kind: 'bool', alias: ['-q'], help: '' },
};

let specs: VerbSpec[] = [];
beforeAll(async () => {
  const dir = path.join(import.meta.dirname, '../../../bin/verbs');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts')).sort()) {
    const mod = (await import(path.join(dir, f))) as { spec?: VerbSpec };
    if (mod.spec) specs.push(mod.spec);
  }
  specs = specs.filter((s, i) => specs.findIndex((t) => t.name === s.name) === i);
});

const allFlags = (spec: VerbSpec): Record<string, FlagSpec> => ({ ...GLOBAL, ...spec.flags });

/** Throws unless p keeps to the spec for argv. */
function checkParsed(spec: VerbSpec, argv: string[], p: Parsed): void {
  const flags = allFlags(spec);
  for (const [k, v] of Object.entries(p.flags)) {
    const f = flags[k];
    if (!f) throw new Error(`${spec.name}: parsed an unknown flag ${k}`);
    const ok = f.kind === 'bool' ? typeof v === 'boolean' : f.kind === 'string' ? typeof v === 'string' : Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (!ok) throw new Error(`${spec.name}: flag ${k} (${f.kind}) parsed as ${JSON.stringify(v)}`);
  }
  if (!p.flags.help && (p.args.length < spec.min || p.args.length > spec.max)) throw new Error(`${spec.name}: ${p.args.length} positionals, outside ${spec.min}..${spec.max}`);
  expect(argv.slice(argv.length - p.rest.length), `${spec.name}: the rest is a suffix of argv`).toEqual(p.rest);
  if (spec.stopAfter === undefined && !p.flags.help) expect(p.rest).toEqual([]);
}

/** Tokens argv is made of: the spec's own spellings, their near misses and arbitrary strings. */
function token(spec: VerbSpec): fc.Arbitrary<string> {
  const names = Object.entries(allFlags(spec)).flatMap(([n, f]) => ['--' + n, ...(f.alias ?? [])]);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...names) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...names), fc.constantFrom('', 'true', 'false', 'x', '=', '-v', 'a=b')).map(([n, v]) => `${n}=${v}`) },
    { weight: 3, arbitrary: fc.constantFrom('--', '-', '---', '-=', '--=', '=', '', 'ctr', 'img', '-x', '--nope', '--root', 'a=b', '-e', '--help=maybe', '--HELP', '--constructor', '--__proto__', '--toString') },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  );
}

/** A parse to write out: flag occurrences in order, positionals, rest. */
interface Plan {
  occurrences: { name: string; value: string | boolean; spelling: number }[];
  positionals: string[];
  /** Where the positionals go among the occurrences (indices into the merged sequence). */
  order: number[];
  dashdash: boolean;
  rest: string[];
}

const positional = fc.oneof(fc.constantFrom('ctr', 'img:1', 'oci:./x', '/a/b', 'x=y', '', '0'), fc.string({ maxLength: 5 })).filter((s) => !s.startsWith('-'));
const anyValue = fc.oneof(fc.constantFrom('', '-', '--', '-x', '--root', 'a=b', '=', 'true'), fc.string({ maxLength: 6 }));

function plan(spec: VerbSpec): fc.Arbitrary<Plan> {
  const names = Object.keys(allFlags(spec)).filter((n) => n !== 'help');
  const occ = fc.record({ name: fc.constantFrom(...names), value: anyValue, spelling: fc.nat(5), bool: fc.boolean() }).map(({ name, value, spelling, bool }) => ({
    name, spelling, value: allFlags(spec)[name].kind === 'bool' ? bool : value,
  }));
  const max = Math.min(spec.max, spec.min + 2);
  const stop = spec.stopAfter;
  const npos = stop === undefined ? fc.integer({ min: spec.min, max }) : fc.constant(stop);
  return fc.record({
    occurrences: fc.array(occ, { maxLength: 5 }),
    positionals: npos.chain((n) => fc.array(positional, { minLength: n, maxLength: n })),
    order: fc.array(fc.nat(), { maxLength: 6 }),
    dashdash: fc.boolean(),
    rest: stop === undefined ? fc.constant([]) : fc.array(anyValue, { maxLength: 4 }),
  });
}

/** Writes a plan as argv, and the parse it must give. */
function writeOut(spec: VerbSpec, p: Plan): { argv: string[]; want: Parsed } {
  const flags = allFlags(spec);
  const want: Parsed = { flags: {}, args: [...p.positionals], rest: [...p.rest] };
  const flagTokens = p.occurrences.map((o) => {
    const f = flags[o.name];
    const spellings = ['--' + o.name, ...(f.alias ?? [])];
    const key = spellings[o.spelling % spellings.length];
    if (f.kind === 'bool') {
      want.flags[o.name] = o.value as boolean;
      return o.value === true && o.spelling % 2 === 0 ? [key] : [`${key}=${o.value}`];
    }
    const v = o.value as string;
    if (f.kind === 'list') want.flags[o.name] = [...((want.flags[o.name] as string[] | undefined) ?? []), v];
    else want.flags[o.name] = v;
    return o.spelling % 2 === 0 ? [key, v] : [`${key}=${v}`];
  });
  const argv: string[] = [];
  const stop = spec.stopAfter;
  if (stop !== undefined) {
    // Flags lead; after the last positional the rest is taken as it is (unshare: after '--' or the first non-flag).
    for (const t of flagTokens) argv.push(...t);
    argv.push(...p.positionals);
    if (stop === 0) {
      if (p.dashdash || (p.rest.length && p.rest[0].startsWith('-'))) argv.push('--');
    }
    argv.push(...p.rest);
    return { argv, want };
  }
  // Positionals among the flags, as buildah allows; with dashdash the last ones follow '--'.
  const seq: string[][] = [...flagTokens];
  const tail = p.dashdash ? p.positionals.slice(-1) : [];
  const head = p.dashdash ? p.positionals.slice(0, -1) : p.positionals;
  let at = 0;
  head.forEach((a, i) => {
    at = Math.min(seq.length, Math.max(at, (p.order[i] ?? seq.length) % (seq.length + 1)));
    seq.splice(at, 0, [a]);
    at++;
  });
  for (const t of seq) argv.push(...t);
  if (p.dashdash) argv.push('--', ...tail.map((t) => '-' + t));
  if (p.dashdash) want.args = [...head, ...tail.map((t) => '-' + t)];
  return { argv, want };
}

/** A verb's spec and something generated for it (shrinks within that verb). */
function perVerb<T>(gen: (spec: VerbSpec) => fc.Arbitrary<T>): fc.Arbitrary<[VerbSpec, T]> {
  return fc.integer({ min: 0, max: specs.length - 1 }).chain((i) => fc.tuple(fc.constant(specs[i]), gen(specs[i])));
}

describe('fuzz: the argv parser', () => {
  it('random argv gives a parse within the spec or a UsageError', async () => {
    const prop = fc.property(perVerb((spec) => fc.array(token(spec), { maxLength: 8 })), ([spec, argv]) => {
      let p: Parsed;
      try {
        p = parseArgs(spec, argv);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        return;
      }
      checkParsed(spec, argv, p);
    });
    await fuzz('argv parser (random argv)', prop, { runs: 1000 });
  }, fuzzTimeout(1000));

  it('argv written from a parse parses back to it', async () => {
    const prop = fc.property(perVerb(plan), ([spec, p]) => {
      const { argv, want } = writeOut(spec, p);
      expect(parseArgs(spec, argv), `${spec.name} ${JSON.stringify(argv)}`).toEqual(want);
    });
    await fuzz('argv parser (round trip)', prop, { runs: 1000 });
  }, fuzzTimeout(1000));
});
