import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
