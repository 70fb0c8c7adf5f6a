import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { didYouMean, isCairnError } from '../dsl/index.js';
import { printFailure } from './dispatch.js';

/** A place in a script: file (as the user named it when it is the script), line and column (1-based). */
export interface ScriptPlace {
  file: string;
  line: number;
  column: number;
}

/** `at … (file:///…:L:C)` or `at file:///…:L:C` frames of a stack. */
const FRAME = /\(?(file:\/\/[^\s()]+):(\d+):(\d+)\)?$/;

/**
 * The first frame of err's stack in the user's code: a file:// module outside cairn's installation (install)
 * and outside node_modules. The script itself is shown as the user named it (shown).
 */
export function userFrame(err: unknown, script: string, shown: string, install: string): ScriptPlace | undefined {
  const stack = (err as Error | undefined)?.stack;
  if (typeof stack !== 'string') return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    let file: string;
    try {
      file = fileURLToPath(m[1]);
    } catch {
      continue;
    }
    if (file.startsWith(install + path.sep) || file.split(path.sep).includes('node_modules')) continue;
    return { file: file === script ? shown : path.relative(process.cwd(), file) || file, line: Number(m[2]), column: Number(m[3]) };
  }
  return undefined;
}

/** The source line of a place and a caret under its column, as node prints an uncaught error ([] when unreadable). */
export function sourceLines(place: ScriptPlace): string[] {
  try {
    const text = readFileSync(place.file, 'utf8').split('\n')[place.line - 1];
    if (text === undefined) return [];
    return [`  ${text}`, `  ${' '.repeat(Math.max(0, place.column - 1))}^`];
  } catch {
    return [];
  }
}

/**
 * Where a script that does not compile is wrong, from `node --check` (ESM import() reports a SyntaxError without
 * its place): `FILE:LINE`, the line and node's carets; undefined when node finds nothing (the error is in a
 * module the script imports).
 */
export function syntaxPlace(script: string, shown: string): { where: string; lines: string[] } | undefined {
  const r = spawnSync(process.execPath, ['--check', script], { encoding: 'utf8' });
  if (r.status === 0 || !r.stderr) return undefined;
  const [head, ...rest] = r.stderr.split('\n');
  const m = /:(\d+)$/.exec(head);
  if (!m) return undefined;
  const lines: string[] = [];
  for (const l of rest) {
    if (l.trim() === '') break;
    lines.push(`  ${l}`);
  }
  return { where: `${shown}:${m[1]}`, lines };
}

/**
 * Where a module that failed to link is wrong (an import of a name a module does not export): node puts the
 * place at the head of the error's stack (`file:///…:LINE`, the line, carets). Undefined when the stack has none.
 */
export function linkPlace(err: Error, script: string, shown: string): { where: string; lines: string[] } | undefined {
  const [head, code, carets] = (err.stack ?? '').split('\n');
  const m = /^(file:\/\/\S+):(\d+)$/.exec(head ?? '');
  if (!m || code === undefined) return undefined;
  let file: string;
  try {
    file = fileURLToPath(m[1]);
  } catch {
    return undefined;
  }
  const lines = [`  ${code}`];
  if (carets !== undefined && /^\s*\^+\s*$/.test(carets)) lines.push(`  ${carets}`);
  return { where: `${file === script ? shown : path.relative(process.cwd(), file) || file}:${m[2]}`, lines };
}

/**
 * Prints a script's failure at its place in the user's code: `cairn build: FILE:LINE: message` (cairn's errors,
 * with their hint: 125), or the line and node's carets (the script's own errors, a syntax error, an import of a
 * name the library does not export, with the closest one: 1). Returns the status.
 */
export function printScriptFailure(err: unknown, o: { file: string; shown: string; install: string; exports: string[]; usage: string }): number {
  const place = userFrame(err, o.file, o.shown, o.install);
  if (isCairnError(err)) {
    if (place) err.message = `${place.file}:${place.line}: ${err.message}`;
    printFailure('build', err, o.usage);
    return 125;
  }
  const e = err as Error | undefined;
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(err);
  const syntax = !place && e instanceof SyntaxError ? (linkPlace(e, o.file, o.shown) ?? syntaxPlace(o.file, o.shown)) : undefined;
  const where = place ? `${place.file}:${place.line}` : syntax?.where;
  process.stderr.write(`cairn build: ${where ? `${where}: ` : `${o.shown} failed: `}${what}\n`);
  const lines = place ? sourceLines(place) : syntax?.lines ?? [];
  if (lines.length) process.stderr.write(lines.join('\n') + '\n');
  const missing = e instanceof SyntaxError ? /module 'cairn' does not provide an export named '([^']+)'/.exec(e.message) : null;
  if (missing) {
    const near = didYouMean(missing[1], o.exports);
    process.stderr.write(`  hint: ${near ? `did you mean \`${near}\`? ` : ''}the library's exports are listed in docs/api\n`);
  }
  if (!where || process.env.CAIRN_DEBUG === '1') process.stderr.write(`${e?.stack ?? ''}\n`);
  return 1;
}
