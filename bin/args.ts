import { UsageError } from '../dsl/index.js';

/** How one flag is parsed. */
export interface FlagSpec {
  /** 'bool' takes no value; 'string' one; 'list' may repeat. */
  kind: 'bool' | 'string' | 'list';
  /** Other spellings, e.g. ['-m']. */
  alias?: string[];
  /** One line of help. */
  help: string;
  /** The value's placeholder in help. */
  arg?: string;
}

/** A verb's command-line shape. */
export interface VerbSpec {
  name: string;
  /** The usage line after `cairn `. */
  usage: string;
  /** One line on what the verb does. */
  summary: string;
  /** One example invocation. */
  example: string;
  flags: Record<string, FlagSpec>;
  /** Positional count bounds. */
  min: number;
  max: number;
  /** Stop parsing flags after this many positionals (run: the rest is the command). */
  stopAfter?: number;
}

/** Parsed flags and positionals. */
export interface Parsed {
  flags: Record<string, string | boolean | string[] | undefined>;
  args: string[];
  rest: string[];
}

/** Flags every verb takes. */
export const GLOBAL: Record<string, FlagSpec> = {
  root: { kind: 'string', help: 'storage root directory', arg: 'DIR' },
  help: { kind: 'bool', alias: ['-h'], help: 'show this help' },
  quiet: { kind: 'bool', alias: ['-q'], help: 'print less on stderr' },
};

/** Parses argv for a verb (buildah style: `--flag value`, `--flag=value`, flags before the container name). */
export function parseArgs(spec: VerbSpec, argv: string[]): Parsed {
  const flags: Parsed['flags'] = {};
  const args: string[] = [];
  const all = { ...GLOBAL, ...spec.flags };
  const byName = new Map<string, [string, FlagSpec]>();
  for (const [name, f] of Object.entries(all)) {
    byName.set('--' + name, [name, f]);
    for (const a of f.alias ?? []) byName.set(a, [name, f]);
  }
  let i = 0;
  for (; i < argv.length; i++) {
    const tok = argv[i];
    // After the last positional the rest is a command; with none expected, cairn's own flags may lead.
    if (spec.stopAfter !== undefined && args.length >= spec.stopAfter && (spec.stopAfter > 0 || !tok.startsWith('-'))) break;
    if (tok === '--') {
      i++;
      break;
    }
    if (!tok.startsWith('-') || tok === '-') {
      args.push(tok);
      continue;
    }
    const eq = tok.indexOf('=');
    const key = eq > 0 ? tok.slice(0, eq) : tok;
    const hit = byName.get(key);
    if (!hit) throw new UsageError(`unknown flag ${key}`);
    const [name, f] = hit;
    if (f.kind === 'bool') {
      if (eq > 0) {
        const v = tok.slice(eq + 1);
        if (v !== 'true' && v !== 'false') throw new UsageError(`${key} takes true or false, not ${v}`);
        flags[name] = v === 'true';
      } else flags[name] = true;
      continue;
    }
    let value: string;
    if (eq > 0) value = tok.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`${key} needs a value`);
      value = argv[++i];
    }
    if (f.kind === 'list') flags[name] = [...((flags[name] as string[]) ?? []), value];
    else flags[name] = value;
  }
  const rest = argv.slice(i);
  if (flags.help) return { flags, args, rest };
  if (spec.stopAfter === undefined) args.push(...rest.splice(0));
  if (args.length < spec.min || args.length > spec.max) {
    throw new UsageError(args.length < spec.min ? 'too few arguments' : 'too many arguments');
  }
  return { flags, args, rest };
}

/** The help text of a verb. */
export function helpText(spec: VerbSpec): string {
  const lines = [`Usage: cairn ${spec.usage}`, '', spec.summary, '', 'Options:'];
  // The verb's flags first; a global flag the verb gives a meaning of its own (images -q) is shown once, as the verb's.
  const all = { ...spec.flags, ...Object.fromEntries(Object.entries(GLOBAL).filter(([n]) => !(n in spec.flags))) };
  for (const [name, f] of Object.entries(all)) {
    const names = [...(f.alias ?? []), `--${name}`].join(', ') + (f.kind === 'bool' ? '' : ` ${f.arg ?? 'VALUE'}`);
    lines.push(`  ${names.padEnd(30)} ${f.help}${f.kind === 'list' ? ' (repeatable)' : ''}`);
  }
  lines.push('', 'Example:', `  ${spec.example}`);
  return lines.join('\n') + '\n';
}

/** A string flag's value. */
export function str(p: Parsed, name: string): string | undefined {
  return p.flags[name] as string | undefined;
}

/** A list flag's values. */
export function list(p: Parsed, name: string): string[] {
  return (p.flags[name] as string[] | undefined) ?? [];
}

/** A bool flag's value. */
export function bool(p: Parsed, name: string): boolean {
  return p.flags[name] === true;
}
