import { parse as shellParse } from 'shell-quote';
import { BadInputError } from '../dsl/index.js';

/*
 * One line of the shell, split the POSIX shell's way: words (quotes and backslashes removed by shell-quote),
 * operators (`|`, `&&`, `>`…) and a `#` comment. The scanner here finds where each word starts and ends (for
 * completion, and to hand a command with operators to /bin/sh -c as typed) and refuses unbalanced quotes;
 * shell-quote unquotes each word. `$NAME` is kept as typed: variables belong to the container's shell.
 */

/** A word or an operator of a line, with its place in the line. */
export interface Token {
  kind: 'word' | 'op';
  /** The word unquoted, or the operator. */
  text: string;
  /** The text as typed. */
  raw: string;
  start: number;
  end: number;
  /** A word the container's shell would expand: a `$` outside single quotes, or an unquoted glob or `~`. */
  expands?: boolean;
}

/** A line split into tokens. */
export interface ParsedLine {
  tokens: Token[];
  /** The words (unquoted) before the first operator: the verb and its arguments. */
  words: string[];
  /** Whether the line holds a shell operator (it then runs as `/bin/sh -c LINE`). */
  hasOps: boolean;
  /** Whether a word holds a glob or a `$` expansion the container's shell would expand. */
  hasShellSyntax: boolean;
  /** The text of a trailing `# comment`, without the `#`. */
  comment?: string;
  /** The line without its comment, trimmed. */
  text: string;
  /** The line as given. */
  line: string;
  /** Where the comment starts, if any. */
  commentStart?: number;
}

const OPS = ['||', '&&', ';;', '|&', '>>', '>&', '<(', '&', ';', '(', ')', '|', '<', '>'];

/** Where an unclosed quote starts, if any (a lenient scan: completion works on unfinished lines). */
interface Scan {
  tokens: Token[];
  comment?: { start: number; text: string };
  /** The quote character left open and where it opened. */
  open?: { quote: string; at: number };
  /** A backslash ends the line. */
  danglingEscape?: boolean;
}

function scan(line: string): Scan {
  const tokens: Token[] = [];
  let i = 0;
  let start = -1;
  const endWord = (end: number) => {
    if (start >= 0) tokens.push({ kind: 'word', text: '', raw: line.slice(start, end), start, end });
    start = -1;
  };
  while (i < line.length) {
    const ch = line[i];
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      endWord(i);
      i++;
      continue;
    }
    if (ch === '#' && start < 0) return { tokens, comment: { start: i, text: line.slice(i + 1) } };
    const op = OPS.find((o) => line.startsWith(o, i));
    if (op) {
      endWord(i);
      tokens.push({ kind: 'op', text: op, raw: op, start: i, end: i + op.length });
      i += op.length;
      continue;
    }
    if (start < 0) start = i;
    if (ch === '\\') {
      if (i + 1 >= line.length) return { tokens: [...tokens, { kind: 'word', text: '', raw: line.slice(start), start, end: line.length }], danglingEscape: true };
      i += 2;
      continue;
    }
    if (ch === "'" || ch === '"') {
      const at = i;
      i++;
      while (i < line.length && line[i] !== ch) i += ch === '"' && line[i] === '\\' ? 2 : 1;
      if (i >= line.length) {
        tokens.push({ kind: 'word', text: '', raw: line.slice(start), start, end: line.length });
        return { tokens, open: { quote: ch, at } };
      }
      i++;
      continue;
    }
    i++;
  }
  endWord(line.length);
  return { tokens };
}

/** A word as typed, unquoted by shell-quote (`$NAME` kept, a glob kept as its pattern). */
export function unquote(raw: string): string {
  const parts = shellParse(raw, (key: string) => `$${key}`);
  // A `#` inside a word is no comment (the scanner took comments off already): shell-quote's is put back.
  return parts.map((p) => (typeof p === 'string' ? p : 'pattern' in p ? p.pattern : 'op' in p ? p.op : 'comment' in p ? `#${p.comment}` : '')).join('');
}

/** Splits a line; throws BadInputError for an unbalanced quote or a trailing backslash. */
export function parseLine(line: string): ParsedLine {
  const s = scan(line);
  if (s.open) {
    const name = s.open.quote === "'" ? 'single' : 'double';
    throw new BadInputError(`unbalanced quotes: the ${name} quote at column ${s.open.at + 1} is never closed`, { hint: `close it with ${s.open.quote}, or escape it as \\${s.open.quote}` });
  }
  if (s.danglingEscape) throw new BadInputError('the line ends with a backslash', { hint: 'a line is one command: join it with the next' });
  const tokens = s.tokens.map((t) => (t.kind === 'word' ? { ...t, text: unquote(t.raw), expands: hasExpansion(t.raw) } : t));
  const firstOp = tokens.findIndex((t) => t.kind === 'op');
  const words = (firstOp < 0 ? tokens : tokens.slice(0, firstOp)).map((t) => t.text);
  const hasShellSyntax = tokens.some((t) => t.expands);
  const text = (s.comment ? line.slice(0, s.comment.start) : line).trim();
  return { tokens, words, hasOps: firstOp >= 0, hasShellSyntax, comment: s.comment?.text, text, line, commentStart: s.comment?.start };
}

/** Whether a word as typed holds, outside single quotes, a `$` or (unquoted) a glob character. */
function hasExpansion(raw: string): boolean {
  let q = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '\\' && q !== "'") {
      i++;
      continue;
    }
    if (q) {
      if (ch === q) q = '';
      else if (q === '"' && (ch === '$' || ch === '`')) return true;
      continue;
    }
    if (ch === "'" || ch === '"') q = ch;
    else if (ch === '$' || ch === '`' || ch === '*' || ch === '?' || ch === '[' || ch === '~') return true;
  }
  return false;
}

/** The word the cursor is in (or would start) and the words before it: what completion needs of a line. */
export interface LineAt {
  /** Words before the cursor's word (unquoted; a word left open by a quote is taken as typed). */
  before: string[];
  /** The cursor's word so far, unquoted. */
  prefix: string;
  /** Where that word starts in the line. */
  start: number;
  /** An operator comes before the cursor: the words belong to a shell command. */
  afterOp: boolean;
}

/** What completion needs at cursor: never throws, unfinished quotes included. */
export function lineAt(line: string, cursor: number): LineAt {
  const head = line.slice(0, cursor);
  const s = scan(head);
  if (s.comment) return { before: [], prefix: '', start: cursor, afterOp: true };
  const tokens = s.tokens;
  const last = tokens[tokens.length - 1];
  const inWord = last && last.kind === 'word' && last.end === head.length && !/\s$/.test(head);
  const words = tokens.filter((t) => t.kind === 'word');
  const loose = (raw: string) => {
    try {
      return unquote(raw + (s.open && raw === last?.raw ? s.open.quote : '') + (s.danglingEscape && raw === last?.raw ? ' ' : '')).trimEnd();
    } catch {
      return raw;
    }
  };
  const beforeTokens = inWord ? tokens.slice(0, -1) : tokens;
  return {
    before: beforeTokens.filter((t) => t.kind === 'word').map((t) => loose(t.raw)),
    prefix: inWord ? loose(last.raw) : '',
    start: inWord ? last.start : cursor,
    afterOp: beforeTokens.some((t) => t.kind === 'op') || (words.length === 0 && tokens.length > 0),
  };
}

/** Quotes a word for a shell line when it needs it (POSIX single quotes). */
export function quoteWord(w: string): string {
  if (w !== '' && /^[\w@%+=:,./-]+$/.test(w)) return w;
  return `'${w.replace(/'/g, `'\\''`)}'`;
}
