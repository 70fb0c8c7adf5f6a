/*
 * Dockerfile text → the model (model.ts), nothing expanded. dockerfile-ast finds the instructions, parser
 * directives, comments and heredoc bodies; this file joins each instruction's continuation lines the way Docker's
 * parser does (the escape character and the line break removed, nothing put in their place; comment and blank
 * lines inside a continuation skipped), splits off the leading `--flags`, tells the exec (JSON) form from the
 * shell form, and cuts the instructions into stages. Every error is thrown here, before any step runs.
 */
import { DockerfileParser } from 'dockerfile-ast';
import { didYouMean } from '../core/nearest.js';
import { dockerfileError } from './errors.js';
import { rawWords } from './expand.js';
import type { Dockerfile, Flag, Heredoc, Instruction, Keyword, Place, Stage } from './model.js';

/** The instruction keywords a Dockerfile may hold (CHECKPOINT comes from a comment, never from a keyword). */
export const KEYWORDS: readonly Keyword[] = [
  'FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'WORKDIR', 'USER', 'ENTRYPOINT', 'CMD', 'LABEL', 'EXPOSE', 'VOLUME',
  'STOPSIGNAL', 'SHELL', 'HEALTHCHECK', 'ONBUILD', 'MAINTAINER',
];

/** Instructions whose arguments may be a JSON array of strings (the exec form). */
const JSON_FORM = new Set<Keyword>(['RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'VOLUME']);
/** Instructions that may carry heredocs. */
const HEREDOC = new Set<Keyword>(['RUN', 'COPY', 'ADD']);
/** Stage names Docker accepts (after lower-casing). */
const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/;
/** A `# checkpoint MESSAGE` comment (its text after `#`). */
const CHECKPOINT = /^checkpoint(?:\s+([\s\S]*))?$/i;

/** One instruction's logical line: the joined text and where each of its characters came from. */
interface Logical {
  text: string;
  at: Place[];
}

/** Joins the continuation lines of the instruction starting at (line, col), both 0-based, as Docker does. */
function logicalLine(lines: string[], line: number, col: number, escape: string, file: string): Logical {
  const cont = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  let text = '';
  const at: Place[] = [];
  let first = true;
  for (let l = line; l < lines.length; l++) {
    let s = first ? lines[l].slice(col) : lines[l];
    const start = first ? col : 0;
    if (!first && (/^\s*#/.test(s) || s.trim() === '')) continue;
    first = false;
    const m = cont.exec(s);
    if (m) s = s.slice(0, m.index);
    for (let k = 0; k < s.length; k++) at.push({ file, line: l + 1, column: start + k + 1 });
    text += s;
    if (!m) break;
  }
  return { text, at };
}

/** The place of character k of a logical line (its end when k is past it). */
function placeAt(lg: Logical, k: number, fallback: Place): Place {
  return lg.at[Math.min(k, lg.at.length - 1)] ?? fallback;
}

/** Reads the leading `--name[=value]` words from position p; the value has its quotes removed. */
function readFlags(lg: Logical, p: number, escape: string, fallback: Place): { flags: Flag[]; end: number } {
  const s = lg.text;
  const flags: Flag[] = [];
  for (;;) {
    while (p < s.length && /[ \t]/.test(s[p])) p++;
    if (!s.startsWith('--', p)) return { flags, end: p };
    const start = p;
    let word = '';
    let quote = '';
    for (; p < s.length; p++) {
      const ch = s[p];
      if (quote === '' && /[ \t]/.test(ch)) break;
      if (ch === escape && quote !== "'" && p + 1 < s.length) word += s[++p];
      else if (quote === '' && (ch === '"' || ch === "'")) quote = ch;
      else if (ch === quote) quote = '';
      else word += ch;
    }
    const eq = word.indexOf('=');
    flags.push({
      name: eq < 0 ? word.slice(2) : word.slice(2, eq),
      value: eq < 0 ? undefined : word.slice(eq + 1),
      place: placeAt(lg, start, fallback),
    });
  }
}

/** The strings of a JSON array of strings, undefined when text is not a JSON array (then it is the shell form). */
function jsonForm(text: string, place: Place, keyword: string, source: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (!v.every((x) => typeof x === 'string')) {
    throw dockerfileError(place, `${keyword}: the exec form must be a JSON array of strings`, 'quote every element, e.g. ["sh", "-c", "echo hi"]', source);
  }
  return v as string[];
}

/** A heredoc of dockerfile-ast, as the model keeps it. */
interface AstHeredoc {
  getName(): string;
  getStartRange(): { start: { line: number; character: number }; end: { line: number; character: number } };
  getContentRange(): { start: { line: number } } | null;
  getDelimiterRange(): { start: { line: number } } | null;
}

/** The heredocs of an instruction: names, bodies (leading tabs stripped for `<<-`), and whether they expand. */
function heredocsOf(astInstr: unknown, lines: string[], place: Place): Heredoc[] {
  const get = (astInstr as { getHeredocs?: () => AstHeredoc[] }).getHeredocs;
  if (typeof get !== 'function') return [];
  return get.call(astInstr).map((h) => {
    const r = h.getStartRange();
    const word = lines[r.start.line].slice(r.start.character, r.end.character);
    const chomp = word.startsWith('<<-');
    const delim = h.getDelimiterRange();
    if (!delim) {
      throw dockerfileError(place, `unterminated heredoc <<${h.getName()}`, `end the heredoc with a line holding only ${h.getName()}`, lines[place.line - 1]);
    }
    const from = h.getContentRange()?.start.line ?? delim.start.line;
    let content = '';
    for (let l = from; l < delim.start.line; l++) content += `${chomp ? lines[l].replace(/^\t+/, '') : lines[l]}\n`;
    return { name: h.getName(), content, expand: !/["']/.test(word) };
  });
}

/** What a keyword-less error says to do: the nearest keyword, or the list. */
function keywordHint(word: string): string {
  const near = didYouMean(word.toUpperCase(), KEYWORDS);
  return near ? `did you mean ${near}?` : `use one of ${KEYWORDS.join(', ')}`;
}

/** Parses a Dockerfile; `file` names it in messages (`-` for stdin). Throws BadInputError `FILE:LINE:COL: …`. */
export function parseDockerfile(text: string, file: string): Dockerfile {
  const ast = DockerfileParser.parse(text);
  const lines = text.split(/\r\n|\r|\n/);
  const src = (p: Place) => lines[p.line - 1] ?? '';
  for (const d of ast.getDirectives()) {
    if (d.getName().toLowerCase() === 'escape' && !['\\', '`'].includes(d.getValue())) {
      const r = d.getValueRange().start;
      const place = { file, line: r.line + 1, column: r.character + 1 };
      throw dockerfileError(place, `invalid escape character ${JSON.stringify(d.getValue())}`, 'the escape directive takes \\ or ` only', src(place));
    }
  }
  const escape = ast.getEscapeCharacter() === '`' ? '`' : '\\';
  const astInstrs = ast.getInstructions();
  const ranges = astInstrs.map((i) => [i.getRange().start.line, i.getRange().end.line]);
  const items: { line: number; make: () => Instruction }[] = astInstrs.map((ai) => ({
    line: ai.getRange().start.line,
    make: () => instruction(ai, lines, escape, file),
  }));
  for (const c of ast.getComments()) {
    const line = c.getRange().start.line;
    const m = CHECKPOINT.exec(c.getContent().trim());
    if (!m || ranges.some(([a, b]) => line > a && line <= b)) continue;
    const place = { file, line: line + 1, column: c.getRange().start.character + 1 };
    const message = (m[1] ?? '').trim();
    items.push({ line, make: () => ({ keyword: 'CHECKPOINT', place, text: `# checkpoint ${message}`.trim(), flags: [], args: [message], json: false, heredocs: [] }) });
  }
  items.sort((a, b) => a.line - b.line);

  const df: Dockerfile = { file, escape, globalArgs: [], stages: [] };
  if (items.length === 0) {
    throw dockerfileError({ file, line: 1, column: 1 }, 'the Dockerfile has no instructions', 'start it with FROM IMAGE');
  }
  let stage: Stage | undefined;
  for (const item of items) {
    const ins = item.make();
    if (ins.keyword === 'FROM') {
      stage = { index: df.stages.length, from: ins, instructions: [], ...stageName(ins, df, lines) };
      df.stages.push(stage);
    } else if (stage) {
      stage.instructions.push(ins);
    } else if (ins.keyword === 'ARG') {
      df.globalArgs.push(ins);
    } else {
      throw dockerfileError(ins.place, `${ins.keyword === 'CHECKPOINT' ? 'a checkpoint' : ins.keyword} before the first FROM`, 'only ARG may come before the first FROM: start the stage with FROM IMAGE', src(ins.place));
    }
  }
  if (!stage) {
    throw dockerfileError({ file, line: lines.length, column: 1 }, 'no FROM instruction', 'a Dockerfile needs at least one FROM IMAGE');
  }
  return df;
}

/** The `AS name` of a FROM (checked, lower-cased, unique); the FROM keeps only its image word as args. */
function stageName(from: Instruction, df: Dockerfile, lines: string[]): { name?: string } {
  const words = rawWords(from.args[0] ?? '', df.escape);
  const source = lines[from.place.line - 1];
  if (words.length !== 1 && !(words.length === 3 && words[1].toLowerCase() === 'as')) {
    throw dockerfileError(from.place, 'FROM takes an image and optionally AS NAME', 'write FROM [--platform=P] IMAGE [AS NAME]', source);
  }
  from.args = [words[0]];
  if (words.length === 1) return {};
  const name = words[2].toLowerCase();
  const col = source.lastIndexOf(words[2]);
  const place = col >= 0 && from.place.line <= lines.length ? { ...from.place, column: col + 1 } : from.place;
  if (!STAGE_NAME.test(name)) {
    throw dockerfileError(place, `invalid stage name ${JSON.stringify(words[2])}`, 'a stage name starts with a letter and holds only letters, digits, -, _ and .', source);
  }
  const dup = df.stages.find((s) => s.name === name);
  if (dup) {
    throw dockerfileError(place, `duplicate stage name ${JSON.stringify(name)}`, `stage ${dup.index} (line ${dup.from.place.line}) is already named so: rename one`, source);
  }
  return { name };
}

/** One ast instruction as the model's Instruction. */
function instruction(ai: ReturnType<ReturnType<typeof DockerfileParser.parse>['getInstructions']>[number], lines: string[], escape: '\\' | '`', file: string): Instruction {
  const start = ai.getRange().start;
  const place: Place = { file, line: start.line + 1, column: start.character + 1 };
  const source = lines[start.line];
  const written = ai.getInstruction();
  const keyword = written.toUpperCase() as Keyword;
  if (!KEYWORDS.includes(keyword)) throw dockerfileError(place, `unknown instruction ${written}`, keywordHint(written), source);
  const lg = logicalLine(lines, start.line, start.character, escape, file);
  const afterKeyword = written.length;
  const { flags, end } = keyword === 'ONBUILD' ? { flags: [], end: afterKeyword } : readFlags(lg, afterKeyword, escape, place);
  const rest = lg.text.slice(end).trim();
  const heredocs = HEREDOC.has(keyword) ? heredocsOf(ai, lines, place) : [];
  const text = `${keyword} ${lg.text.slice(afterKeyword).trim()}`.trim();
  if (rest === '') throw dockerfileError(place, `${keyword} needs arguments`, `see the Dockerfile reference for ${keyword}`, source);
  let args = [rest];
  let json = false;
  if (JSON_FORM.has(keyword)) {
    const arr = jsonForm(rest, place, keyword, source);
    if (arr) [args, json] = [arr, true];
    else if (keyword === 'SHELL') throw dockerfileError(place, 'SHELL needs the JSON form', 'write SHELL ["/bin/sh", "-c"]', source);
  } else if (keyword === 'HEALTHCHECK') {
    const m = /^CMD\s+([\s\S]*)$/i.exec(rest);
    const arr = m ? jsonForm(m[1].trim(), place, keyword, source) : undefined;
    if (arr) [args, json] = [arr, true];
  } else if (keyword === 'ONBUILD') {
    const trigger = rest.split(/\s/, 1)[0].toUpperCase();
    if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(trigger)) {
      throw dockerfileError(place, `ONBUILD ${trigger} is not allowed`, 'ONBUILD takes any other instruction', source);
    }
    if (!KEYWORDS.includes(trigger as Keyword)) throw dockerfileError(place, `unknown instruction ${rest.split(/\s/, 1)[0]} after ONBUILD`, keywordHint(trigger), source);
  }
  return { keyword, place, text, flags, args, json, heredocs };
}
