import { HEAD_LINES } from '../types.js';
import type { ChangedPath, StepRecord } from '../types.js';

/*
 * The screen's words and numbers, as plain strings (no React): sizes, durations, a step's result line, its
 * changed paths folded, progress. Kept pure so the screen's text is the same at any width and in tests.
 */

/** How many changed paths a finished step lists before folding the rest into one line. */
export const CHANGES_SHOWN = 8;

/** Bytes the human way, 1000-based like dive and docker: `512 B`, `3.4 kB`, `12.3 MB`. */
export function fmtBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '?';
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 999.95 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** A duration: `340 ms`, `2.1 s`, `3 min 4 s`. */
export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Plural: `1 line`, `3 lines`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// CSI … final, OSC … BEL/ST, and two-byte escapes: a program's colours and cursor moves would garble the screen.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x1b/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * A line of a program's output as plain text the screen can hold: escapes removed, what a carriage return
 * overwrote dropped (a progress bar's last state), tabs expanded, other control characters removed.
 */
export function sanitize(line: string): string {
  let s = line.includes('\x1b') ? line.replace(ESCAPES, '') : line;
  if (s.includes('\r')) {
    const parts = s.split('\r').filter((p) => p.length > 0);
    s = parts.at(-1) ?? '';
  }
  if (s.includes('\t')) s = s.replace(/\t/g, '    ');
  return s.replace(CONTROLS, '');
}

/** The kind of a step's ending, which picks its colour. */
export type ResultKind = 'ok' | 'failed' | 'interrupted';

/** A finished step's result line: `ok in 34 ms`, `exit status 3 (40 ms)`, `failed: message`, `interrupted after 2.1 s`. */
export function resultLine(r: StepRecord): { kind: ResultKind; text: string } {
  const took = r.ms === undefined ? '' : fmtMs(r.ms);
  if (r.status === 'ok') return { kind: 'ok', text: took ? `ok in ${took}` : 'ok' };
  if (r.status === 'interrupted') return { kind: 'interrupted', text: took ? `interrupted after ${took}` : 'interrupted' };
  if (r.status === 'running') return { kind: 'ok', text: 'running' };
  if (r.error) return { kind: 'failed', text: `failed: ${r.error}` };
  if (r.exitCode !== undefined) return { kind: 'failed', text: `exit status ${r.exitCode}${took ? ` (${took})` : ''}` };
  return { kind: 'failed', text: 'failed' };
}

/** The sign of a change: + added, ~ changed, - deleted. */
export function changeSign(kind: ChangedPath['kind']): string {
  return kind === 'A' ? '+' : kind === 'C' ? '~' : '-';
}

/** One changed path as a row: sign, size in a fixed column, path (a deletion shows no size). */
export function changeRow(c: ChangedPath): string {
  const size = c.kind === 'D' ? '' : fmtBytes(c.size);
  return `${changeSign(c.kind)} ${size.padStart(9)}  ${c.path}`;
}

/** A step's changes as shown: the biggest `max` (the rest folded) and counts per kind. */
export function foldChanges(changes: readonly ChangedPath[], max = CHANGES_SHOWN): { shown: ChangedPath[]; more: number; moreBytes: number; summary: string } {
  const sorted = [...changes].sort((a, b) => b.size - a.size || a.path.localeCompare(b.path));
  // Folding one path into "… and 1 more" saves nothing: show it.
  const cut = sorted.length > max + 1 ? max : sorted.length;
  const rest = sorted.slice(cut);
  const count = (k: ChangedPath['kind']) => changes.filter((c) => c.kind === k).length;
  const total = changes.reduce((s, c) => s + c.size, 0);
  return {
    shown: sorted.slice(0, cut),
    more: rest.length,
    moreBytes: rest.reduce((s, c) => s + c.size, 0),
    summary: `${plural(changes.length, 'path')} changed (+${count('A')} ~${count('C')} -${count('D')}, ${fmtBytes(total)})`,
  };
}

/** Where StepRecord.output's kept lines break for the omitted ones: after the first lines the session keeps. */
export function omittedAt(r: StepRecord): number {
  return Math.min(HEAD_LINES, r.output.length);
}

/** Progress as text: a bar of `width` cells when the total is known, else the count so far. */
export function progressText(p: { done: number; total?: number; unit?: string }, width: number): string {
  const bytes = !p.unit || p.unit === 'bytes' || p.unit === 'B';
  const n = (v: number) => (bytes ? fmtBytes(v) : `${v}`);
  const unit = bytes ? '' : ` ${p.unit}`;
  if (p.total === undefined || p.total <= 0) return `${n(p.done)}${unit}`;
  const frac = Math.max(0, Math.min(1, p.done / p.total));
  const label = ` ${Math.floor(frac * 100)}% ${n(p.done)}/${n(p.total)}${unit}`;
  const cells = Math.max(0, Math.min(30, width - label.length - 2));
  if (cells < 5) return label.trim();
  const full = Math.round(frac * cells);
  return `[${'█'.repeat(full)}${'░'.repeat(cells - full)}]${label}`;
}

/** The spinner's frames (one per tick while a step runs). */
export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
