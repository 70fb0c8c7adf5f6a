import type { ShellStatus, StepRecord } from '../types.js';
import { EMPTY, type Line } from './line-editor.js';

/*
 * What the screen shows, kept outside React so the Ink tree can be unmounted and mounted again (a resize, an
 * interactive program) without losing a keystroke of state: the finished entries (steps, warnings), the
 * running step's last lines and progress, the status, and the prompt's line, mode and completions.
 * The session's events change it; a change is drawn at most ~30 times a second (a step printing 100,000
 * lines costs a ring-buffer push per line, not a frame), a keystroke at once.
 */

/** The session, as the screen uses it (shell/session.ts's Session has this shape). */
export interface SessionLike {
  status(): ShellStatus;
  steps(): readonly StepRecord[];
  exec(line: string): Promise<StepRecord>;
  interrupt(): void;
  complete(line: string, cursor: number): Promise<{ start: number; candidates: string[] }>;
  readonly history: { entries(): readonly string[]; add(line: string): void; search(text: string, from?: number): number | undefined };
  hasUncommittedWork(): boolean;
  on(event: string, fn: (...args: any[]) => void): unknown;
  off(event: string, fn: (...args: any[]) => void): unknown;
}

/** One finished thing above the prompt: a step, or a line of the shell's own (a warning, a note). */
export interface Entry {
  key: string;
  step?: StepRecord;
  text?: string;
  tone?: 'warn' | 'note' | 'fail';
}

/** The running step as the live region shows it. */
export interface Running {
  rec: StepRecord;
  /** Its last lines (at most TAIL_MAX), raw. */
  tail: string[];
  /** Lines seen so far. */
  lines: number;
  progress?: { done: number; total?: number; unit?: string };
}

/** The prompt's modes: editing, Ctrl-R search, or a yes/no question. */
export type Mode = 'edit' | 'search' | 'confirm';

/** The most lines of the running step the live region keeps. */
export const TAIL_MAX = 10;

/** Frames at most per second for output-driven changes. */
const FRAME_MS = 33;

/** The screen's state and its subscribers (React's useSyncExternalStore). */
export class ScreenModel {
  entries: Entry[] = [];
  /** The first entry the mounted <Static> prints (entries before it were printed by an earlier mount). */
  staticFrom = 0;
  running?: Running;
  status: ShellStatus;
  line: Line = EMPTY;
  mode: Mode = 'edit';
  search = { text: '', match: undefined as number | undefined, failed: false, saved: EMPTY };
  question = '';
  completions: string[] = [];
  /** Lines entered while a step ran, run in order after it. */
  queued: string[] = [];
  spin = 0;
  /** Lines sent to session.exec whose promise has not settled. */
  pending = 0;
  /** The live region is hidden (the Ink tree is about to be unmounted). */
  hidden = false;
  cols: number;
  rows: number;
  /** Bumped on every change: the snapshot React compares. */
  version = 0;
  private subs = new Set<() => void>();
  private timer?: NodeJS.Timeout;
  private spinner?: NodeJS.Timeout;
  private shown = new Set<number>();

  constructor(readonly session: SessionLike, readonly color: boolean, size: { cols: number; rows: number }) {
    this.status = session.status();
    this.cols = size.cols;
    this.rows = size.rows;
    for (const s of session.steps()) if (s.status !== 'running') this.addStep(s);
  }

  /** Subscribes to changes (returns the unsubscribe). */
  subscribe = (fn: () => void): (() => void) => {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  };

  /** The snapshot React compares. */
  snapshot = (): number => this.version;

  /** Draws now (a keystroke: its echo must not wait). */
  changed(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.version++;
    for (const fn of this.subs) fn();
  }

  /** Draws within a frame's time (output, progress): many changes, one frame. */
  soon(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.changed();
    }, FRAME_MS);
  }

  /** The lines of running output the live region shows: fewer on a short terminal, so it never fills it. */
  tailRows(): number {
    return Math.max(1, Math.min(TAIL_MAX, this.rows - 10));
  }

  /** Adds a finished step (once: step-end and exec's promise both bring it). */
  addStep(rec: StepRecord): void {
    if (this.shown.has(rec.n)) return;
    this.shown.add(rec.n);
    this.entries.push({ key: `s${rec.n}`, step: rec });
  }

  /** Adds a line of the shell's own above the prompt. */
  note(text: string, tone: Entry['tone'] = 'note'): void {
    this.entries.push({ key: `n${this.entries.length}-${Date.now()}`, text, tone });
    this.changed();
  }

  /** Listens to the session; returns the function that stops listening. */
  attach(): () => void {
    const s = this.session;
    const onStart = (rec: StepRecord) => {
      this.running = { rec, tail: [], lines: 0 };
      this.startSpinner();
      this.changed();
    };
    const onOutput = (rec: StepRecord, line: string) => {
      const r = this.running;
      if (!r || r.rec.n !== rec.n) return;
      r.tail.push(line);
      if (r.tail.length > TAIL_MAX) r.tail.shift();
      r.lines++;
      this.soon();
    };
    const onProgress = (rec: StepRecord, p: Running['progress']) => {
      if (!this.running || this.running.rec.n !== rec.n) return;
      this.running.progress = p;
      this.soon();
    };
    const onEnd = (rec: StepRecord) => {
      if (this.running?.rec.n === rec.n) this.running = undefined;
      this.addStep(rec);
      this.changed();
    };
    const onStatus = (st: ShellStatus) => {
      this.status = st;
      if (!st.busy) this.stopSpinner();
      this.soon();
    };
    const onWarn = (text: string) => this.note(`warning: ${text}`, 'warn');
    const handlers: [string, (...args: any[]) => void][] = [
      ['step-start', onStart], ['output', onOutput], ['progress', onProgress], ['step-end', onEnd], ['status', onStatus], ['warn', onWarn],
    ];
    for (const [event, fn] of handlers) s.on(event, fn);
    return () => {
      for (const [event, fn] of handlers) s.off(event, fn);
      this.stopSpinner();
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
    };
  }

  /** True while a step runs (by the session's word or ours: a line sent and not yet answered). */
  busy(): boolean {
    return this.status.busy || !!this.running || this.pending > 0;
  }

  private startSpinner(): void {
    this.spinner ??= setInterval(() => {
      this.spin = (this.spin + 1) % 1000;
      if (!this.busy()) this.stopSpinner();
      this.soon();
    }, 100);
  }

  /** Stops the spinner's ticks. */
  stopSpinner(): void {
    if (this.spinner) clearInterval(this.spinner);
    this.spinner = undefined;
  }
}
