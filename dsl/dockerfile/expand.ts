/*
 * Variable substitution and word splitting as Docker's builder does it (BuildKit's shell lexer), for the
 * instructions that expand: FROM, ADD, COPY, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ONBUILD's
 * siblings, and the flags of those. It is not a shell: no command substitution, no arithmetic, no globbing.
 *
 * - `$name` and `${name}`; an unset name expands to nothing (never an error, as in Docker).
 * - `${name:-word}` / `${name-word}`: word when name is unset or empty / unset. `${name:+word}` / `${name+word}`:
 *   word when name is set and non-empty / set, else nothing. `${name:?word}` / `${name?word}`: an error.
 * - `${name#pat}`, `##`, `%`, `%%` (strip the shortest/longest prefix/suffix matching a shell pattern) and
 *   `${name/pat/repl}`, `//` (replace the first/every match): the forms of Dockerfile syntax 1.7+.
 * - `'…'` is literal; in `"…"` only `$` expands and the escape character escapes `"`, `$` and itself; outside
 *   quotes the escape character takes the next character literally (`\$foo` is `$foo`). Quotes are removed.
 * - A `$` not followed by a name or `{` stays a `$`.
 */
import type { Place } from './model.js';
import { dockerfileError } from './errors.js';

/** The value of a variable, or undefined when it is not set. */
export type Lookup = (name: string) => string | undefined;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Walks one string, expanding as it goes; `split` makes unquoted blanks end words (ProcessWords). */
class Lexer {
  private i = 0;
  constructor(
    private readonly s: string,
    private readonly lookup: Lookup,
    private readonly escape: '\\' | '`',
    private readonly place: Place,
  ) {}

  private fail(what: string): never {
    throw dockerfileError(this.place, what, 'check the quoting and the ${…} forms of this instruction (Docker\'s variable substitution rules)');
  }

  /** The words of the whole string (split=true) or the whole string as one word (split=false). */
  words(split: boolean): string[] {
    const out: string[] = [];
    let word = '';
    let inWord = false;
    while (this.i < this.s.length) {
      const ch = this.s[this.i];
      if (split && /[ \t\r\n]/.test(ch)) {
        this.i++;
        if (inWord) out.push(word);
        word = '';
        inWord = false;
        continue;
      }
      inWord = true;
      word += this.piece();
    }
    if (inWord || (!split && out.length === 0)) out.push(word);
    return out;
  }

  /** One unit at the cursor: a quoted string, an escaped character, an expansion, or a plain character. */
  private piece(): string {
    const ch = this.s[this.i];
    if (ch === "'") return this.singleQuoted();
    if (ch === '"') return this.doubleQuoted();
    if (ch === '$') return this.dollar();
    if (ch === this.escape) {
      this.i += 2;
      // A lone escape at the end is dropped, as Docker does.
      return this.s[this.i - 1] ?? '';
    }
    this.i++;
    return ch;
  }

  private singleQuoted(): string {
    const end = this.s.indexOf("'", this.i + 1);
    if (end < 0) this.fail('unexpected end of statement while looking for matching single-quote');
    const out = this.s.slice(this.i + 1, end);
    this.i = end + 1;
    return out;
  }

  private doubleQuoted(): string {
    this.i++;
    let out = '';
    for (;;) {
      if (this.i >= this.s.length) this.fail('unexpected end of statement while looking for matching double-quote');
      const ch = this.s[this.i];
      if (ch === '"') {
        this.i++;
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
      } else if (ch === this.escape && this.i + 1 < this.s.length && ['"', '$', this.escape].includes(this.s[this.i + 1])) {
        out += this.s[this.i + 1];
        this.i += 2;
      } else {
        out += ch;
        this.i++;
      }
    }
  }

  /** Reads up to (and consumes) the closing `}` or, with slash, a `/`; quotes and escapes as elsewhere. */
  private until(closers: string): { text: string; closer: string } {
    let out = '';
    while (this.i < this.s.length) {
      const ch = this.s[this.i];
      if (closers.includes(ch)) {
        this.i++;
        return { text: out, closer: ch };
      }
      out += this.piece();
    }
    return this.fail("syntax error: missing '}'");
  }

  private name(): string {
    const start = this.i;
    if (/[0-9]/.test(this.s[this.i] ?? '')) {
      while (/[0-9]/.test(this.s[this.i] ?? '')) this.i++;
    } else {
      while (NAME_CHAR.test(this.s[this.i] ?? '')) this.i++;
    }
    return this.s.slice(start, this.i);
  }

  private dollar(): string {
    this.i++;
    const next = this.s[this.i];
    if (next === undefined) return '$';
    if (next !== '{') {
      if (!NAME_START.test(next) && !/[0-9]/.test(next)) return '$';
      return this.lookup(this.name()) ?? '';
    }
    this.i++;
    const name = this.name();
    if (name === '') this.fail('bad substitution: ${ must be followed by a variable name');
    const value = this.lookup(name);
    let op = this.s[this.i];
    if (op === '}') {
      this.i++;
      return value ?? '';
    }
    if (op === undefined) this.fail("syntax error: missing '}'");
    this.i++;
    let colon = false;
    if (op === ':') {
      colon = true;
      op = this.s[this.i++];
      if (op === undefined || !'-+?'.includes(op)) this.fail(`unsupported modifier (:${op ?? ''}) in substitution of ${name}`);
    }
    const unset = colon ? value === undefined || value === '' : value === undefined;
    switch (op) {
      case '-':
        return unset ? this.until('}').text : (this.until('}'), value!);
      case '+':
        return unset ? (this.until('}'), '') : this.until('}').text;
      case '?': {
        const msg = this.until('}').text;
        if (unset) this.fail(`${name}: ${msg || 'is not allowed to be unset'}`);
        return value!;
      }
      case '#':
      case '%': {
        const longest = this.s[this.i] === op;
        if (longest) this.i++;
        const pat = this.until('}').text;
        return trim(value ?? '', pat, op === '#', longest);
      }
      case '/': {
        const all = this.s[this.i] === '/';
        if (all) this.i++;
        const { text: pat, closer } = this.until('/}');
        const repl = closer === '/' ? this.until('}').text : '';
        return replace(value ?? '', pat, repl, all);
      }
      default:
        return this.fail(`unsupported modifier (${op}) in substitution of ${name}`);
    }
  }
}

/** A shell pattern (`*`, `?`, `[…]`, `\x`) as a regular-expression source. */
function patternSource(pat: string, greedy: boolean): string {
  let out = '';
  for (let i = 0; i < pat.length; i++) {
    const ch = pat[i];
    if (ch === '*') out += greedy ? '.*' : '.*?';
    else if (ch === '?') out += '.';
    else if (ch === '[') {
      const end = pat.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        let set = pat.slice(i + 1, end);
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        out += `[${set.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (ch === '\\' && i + 1 < pat.length) out += `\\${pat[++i]}`.replace(/^\\([A-Za-z0-9])$/, '$1');
    else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return out;
}

/** One character matched as itself in a regular expression. */
function literal(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Strips the shortest or longest prefix (or suffix) of value that the pattern matches. */
function trim(value: string, pat: string, prefix: boolean, longest: boolean): string {
  const re = new RegExp(`^${patternSource(pat, true)}$`, 's');
  const cuts = Array.from({ length: value.length + 1 }, (_, k) => k);
  if (longest === prefix) cuts.reverse();
  // prefix: try cut points from the shortest (longest=false) or the longest; suffix the other way round.
  for (const k of cuts) {
    const part = prefix ? value.slice(0, k) : value.slice(k);
    if (re.test(part)) return prefix ? value.slice(k) : value.slice(0, k);
  }
  return value;
}

/** Replaces the first (or every) longest match of the pattern in value. */
function replace(value: string, pat: string, repl: string, all: boolean): string {
  if (pat === '') return value;
  const re = new RegExp(patternSource(pat, true), all ? 'gs' : 's');
  return value.replace(re, () => repl);
}

/** Expands one word (Docker's ProcessWord): quotes removed, variables substituted, blanks kept. */
export function expandWord(text: string, lookup: Lookup, escape: '\\' | '`', place: Place): string {
  return new Lexer(text, lookup, escape, place).words(false)[0];
}

/** Expands and splits into words at unquoted blanks (Docker's ProcessWords): `a "b c"` is [a, b c]. */
export function expandWords(text: string, lookup: Lookup, escape: '\\' | '`', place: Place): string[] {
  return new Lexer(text, lookup, escape, place).words(true);
}

/**
 * Splits at unquoted blanks without expanding anything, quotes and escapes kept (the builder's parseWords, which
 * ENV, LABEL and ARG use before expanding each part).
 */
export function rawWords(text: string, escape: '\\' | '`'): string[] {
  const out: string[] = [];
  let word = '';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote === '' && /[ \t\r\n]/.test(ch)) {
      if (word !== '') out.push(word);
      word = '';
      continue;
    }
    if (ch === escape && quote !== "'" && i + 1 < text.length) {
      word += ch + text[++i];
      continue;
    }
    if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === quote) quote = '';
    word += ch;
  }
  if (word !== '') out.push(word);
  return out;
}

/**
 * The pairs of ENV and LABEL, expanded: `k=v k2="v 2"`, or the legacy `ENV k value with spaces` (when the first
 * word has no `=`, the rest of the line is the one value). Keys and values both expand.
 */
export function keyValues(text: string, lookup: Lookup, escape: '\\' | '`', place: Place): [string, string][] {
  const words = rawWords(text, escape);
  if (words.length === 0) throw dockerfileError(place, 'missing NAME=VALUE', 'give at least one NAME=VALUE pair');
  if (!words[0].includes('=')) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(text.trim());
    if (!m || m[2].trim() === '') {
      throw dockerfileError(place, `${words[0]} has no value`, `write ${words[0]}=VALUE (the form NAME VALUE needs a value)`);
    }
    return [[expandWord(m[1], lookup, escape, place), expandWord(m[2].trim(), lookup, escape, place)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw dockerfileError(place, `cannot find = in ${JSON.stringify(w)}`, 'every part must be NAME=VALUE (quote values holding blanks)');
    if (eq === 0) throw dockerfileError(place, `a name cannot be blank (${JSON.stringify(w)})`, 'every part must be NAME=VALUE');
    return [expandWord(w.slice(0, eq), lookup, escape, place), expandWord(w.slice(eq + 1), lookup, escape, place)];
  });
}

/** One declaration of an ARG instruction: its name, and its default as written (unexpanded), if any. */
export interface ArgDef {
  name: string;
  value: string | undefined;
}

/** The declarations of an ARG instruction (`ARG a b=1 c="x y"`), defaults unexpanded (they expand when declared). */
export function argDefs(text: string, escape: '\\' | '`', place: Place): ArgDef[] {
  const words = rawWords(text, escape);
  if (words.length === 0) throw dockerfileError(place, 'ARG needs a name', 'write ARG NAME or ARG NAME=DEFAULT');
  return words.map((w) => {
    const eq = w.indexOf('=');
    const name = eq < 0 ? w : w.slice(0, eq);
    if (name === '') throw dockerfileError(place, `an ARG name cannot be blank (${JSON.stringify(w)})`, 'write ARG NAME or ARG NAME=DEFAULT');
    return { name, value: eq < 0 ? undefined : w.slice(eq + 1) };
  });
}
