import { BadInputError } from './errors.js';
import { didYouMean } from './nearest.js';

/*
 * The check of a script's options objects. A build script is plain JavaScript: a misspelt option or a value of
 * the wrong type would otherwise be ignored or misread far from the line that gave it. TypeScript users get the
 * same rules at compile time from the option types.
 */

/** What one option may hold: a primitive type, a list of strings, a string map, one of fixed words, or a check of its own (the problem in words, or undefined). */
export type OptionKind =
  | 'string'
  | 'boolean'
  | 'number'
  | 'strings'
  | 'strings-or-map'
  | 'string-or-strings'
  | 'number-or-string'
  | readonly string[]
  | ((v: unknown) => string | undefined);

/** How a value is named in an error: its type, or the text of a short string. */
function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`;
}

const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isMap = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

/** The problem with value v for kind k, or undefined when it fits. */
function problem(k: OptionKind, v: unknown): string | undefined {
  if (typeof k === 'function') return k(v);
  if (Array.isArray(k)) return typeof v === 'string' && k.includes(v) ? undefined : `must be ${k.map((w) => `'${w}'`).join(' or ')}, not ${typeof v === 'string' ? `'${v}'` : typeOf(v)}`;
  switch (k) {
    case 'string':
    case 'boolean':
    case 'number':
      return typeof v === k ? undefined : `must be a ${k}, not ${typeOf(v)}`;
    case 'strings':
      return isStrings(v) ? undefined : `must be an array of strings, not ${typeOf(v)}`;
    case 'strings-or-map':
      return isStrings(v) || isMap(v) ? undefined : `must be an array of 'K=V' strings or an object of strings, not ${typeOf(v)}`;
    case 'string-or-strings':
      return typeof v === 'string' || isStrings(v) ? undefined : `must be a string or an array of strings, not ${typeOf(v)}`;
    case 'number-or-string':
      return typeof v === 'number' || typeof v === 'string' ? undefined : `must be a number or a string, not ${typeOf(v)}`;
  }
  return undefined;
}

/**
 * Checks a call's options against their kinds: an options value that is not an object, an unknown name (with the
 * closest known one) or a value of the wrong kind is a BadInputError naming the call and the option. Options
 * set to undefined are taken as not given.
 */
export function checkOptions(call: string, opts: unknown, kinds: Readonly<Record<string, OptionKind>>): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new BadInputError(`${call}: the options must be an object, not ${typeOf(opts)}`, { hint: `${call} takes { ${Object.keys(kinds).join(', ')} }` });
  }
  for (const [name, v] of Object.entries(opts)) {
    const kind = kinds[name];
    if (kind === undefined) {
      const near = didYouMean(name, Object.keys(kinds));
      throw new BadInputError(`${call}: unknown option '${name}'`, { hint: `${near ? `did you mean '${near}'? ` : ''}${call} takes { ${Object.keys(kinds).join(', ')} }` });
    }
    if (v === undefined) continue;
    const p = problem(kind, v);
    if (p) throw new BadInputError(`${call}: option '${name}' ${p}`, { hint: `${call} takes { ${Object.keys(kinds).join(', ')} }` });
  }
}

/** `K=V` entries of an array or an object of strings (as options like env and labels take them). */
export function keyValues(v: readonly string[] | Readonly<Record<string, string>> | undefined): string[] | undefined {
  if (v === undefined || Array.isArray(v)) return v as string[] | undefined;
  return Object.entries(v).map(([k, x]) => `${k}=${x}`);
}
