import type { Key } from 'ink';
import type { StepRecord } from '../types.js';
import * as ed from './line-editor.js';
import type { ScreenModel } from './model.js';

/*
 * What a key does at the prompt: readline editing, history (↑/↓, Ctrl-R), Tab completion, Enter (run, or
 * queue while a step runs), Ctrl-C (interrupt the step, or clear the line), Ctrl-D / `exit` (leave, asking
 * first when the container has uncommitted work). Every key changes the model and draws at once.
 */

const NO_KEY: Key = {
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false,
};

/** A key as Ink would name it, for one control character or a run of printable ones. */
export function charKey(s: string): [string, Key] {
  if (s === '\r' || s === '\n') return ['', { ...NO_KEY, return: true }];
  if (s === '\t') return ['', { ...NO_KEY, tab: true }];
  if (s === '\x7f' || s === '\b') return ['', { ...NO_KEY, backspace: true }];
  if (s.length === 1 && s < ' ') return [String.fromCharCode(s.charCodeAt(0) + 96), { ...NO_KEY, ctrl: true }];
  return [s, NO_KEY];
}

/** The keys' handler of one screen; `leave` ends the shell with a status. */
export class Keys {
  /** Position in the history while ↑/↓ browse it (entries.length: the line being typed). */
  private hist = -1;
  private draft: ed.Line = ed.EMPTY;
  /** Bumped by every key: a completion answered after another key is dropped. */
  private keyCount = 0;
  /** The status to leave with once the question is answered (`exit N`). */
  private status = 0;

  constructor(private readonly m: ScreenModel, private readonly leave: (status: number) => void) {}

  /** Handles one input event of Ink's (a key, or several characters pasted at once). */
  onInput = (input: string, key: Key): void => {
    // Keys typed faster than they are read (a paste, tmux send-keys) come as one string: one key at a time.
    // eslint-disable-next-line no-control-regex
    if (input.length > 1 && !input.startsWith('\x1b') && /[\x00-\x1f\x7f]/.test(input)) {
      for (const part of input.match(/[\x00-\x1f\x7f]|[^\x00-\x1f\x7f]+/g) ?? []) this.onInput(...charKey(part));
      return;
    }
    this.keyCount++;
    const m = this.m;
    if (m.hidden) return;
    if (m.mode === 'confirm') return this.confirm(input, key);
    if (m.mode === 'search') return this.searchKey(input, key);
    if (m.completions.length) m.completions = [];
    if (key.ctrl && input === 'c') return this.ctrlC();
    if (key.ctrl && input === 'd') {
      if (m.line.text === '') return m.busy() ? undefined : this.askLeave();
      return this.set(ed.del(m.line));
    }
    if (key.return) return this.enter();
    if (key.tab) return void this.complete();
    if (key.upArrow) return this.historyMove(-1);
    if (key.downArrow) return this.historyMove(1);
    if (key.leftArrow) return this.set(ed.move(m.line, -1));
    if (key.rightArrow) return this.set(ed.move(m.line, 1));
    if (key.home) return this.set(ed.home(m.line));
    if (key.end) return this.set(ed.end(m.line));
    // Ink names the Backspace key's byte (DEL) "delete" and Ctrl-H "backspace": both erase backwards.
    if (key.backspace || key.delete) return this.set(ed.backspace(m.line));
    if (key.ctrl) {
      switch (input) {
        case 'a': return this.set(ed.home(m.line));
        case 'e': return this.set(ed.end(m.line));
        case 'b': return this.set(ed.move(m.line, -1));
        case 'f': return this.set(ed.move(m.line, 1));
        case 'u': return this.set(ed.killBefore(m.line));
        case 'k': return this.set(ed.killAfter(m.line));
        case 'w': return this.set(ed.killWord(m.line));
        case 'r': return this.startSearch();
        case 'l': return m.changed();
        default: return;
      }
    }
    if (key.escape || key.meta || !input) return;
    this.typed(input);
  };

  /** Printable input; a paste with line breaks runs each full line in turn. */
  private typed(input: string): void {
    const parts = input.split(/\r\n|\r|\n/);
    parts.forEach((part, i) => {
      if (part) this.m.line = ed.insert(this.m.line, part);
      if (i < parts.length - 1) this.enter();
    });
    this.m.changed();
  }

  private set(l: ed.Line): void {
    this.m.line = l;
    this.m.changed();
  }

  private ctrlC(): void {
    const m = this.m;
    if (m.busy()) {
      m.queued = [];
      m.session.interrupt();
      m.changed();
      return;
    }
    this.hist = -1;
    this.set(ed.EMPTY);
  }

  private enter(): void {
    const m = this.m;
    const text = m.line.text;
    this.hist = -1;
    m.line = ed.EMPTY;
    if (!text.trim()) return m.changed();
    m.session.history.add(text);
    if (m.busy()) m.queued.push(text);
    else void this.run(text);
    m.changed();
  }

  /** Runs a line, then any lines queued while it ran. */
  private async run(text: string): Promise<void> {
    const m = this.m;
    m.pending++;
    m.changed();
    let rec: StepRecord | undefined;
    try {
      rec = await m.session.exec(text);
      // A comment line is no step (n 0): nothing to show.
      if (rec.n > 0) m.addStep(rec);
    } catch (err) {
      // The session never rejects for a failing step: this is a bug of its own, shown rather than crashing.
      m.note(`✗ ${text}: ${(err as Error)?.message ?? String(err)}`, 'fail');
    } finally {
      m.pending--;
      m.status = m.session.status();
      m.changed();
    }
    if (rec?.verb === 'exit' && rec.status === 'ok') {
      m.queued = [];
      return this.askLeave(rec.exitCode ?? 0);
    }
    const next = m.queued.shift();
    if (next !== undefined) await this.run(next);
  }

  /** Leaves with status, asking first when the container has uncommitted work. */
  private askLeave(status = 0): void {
    const m = this.m;
    this.status = status;
    let dirty = false;
    try {
      dirty = m.session.hasUncommittedWork();
    } catch {
      dirty = false;
    }
    if (!dirty) return this.leave(status);
    m.mode = 'confirm';
    m.question = `uncommitted changes in ${m.status.container ?? 'the container'} — leave anyway? [y/N] `;
    m.changed();
  }

  private confirm(input: string, key: Key): void {
    const m = this.m;
    m.mode = 'edit';
    m.question = '';
    if (!key.ctrl && (input === 'y' || input === 'Y')) return this.leave(this.status);
    m.changed();
  }

  private historyMove(dir: -1 | 1): void {
    const m = this.m;
    const entries = m.session.history.entries();
    if (this.hist < 0 || this.hist > entries.length) {
      this.hist = entries.length;
      this.draft = m.line;
    }
    const next = this.hist + dir;
    if (next < 0 || next > entries.length) return;
    if (this.hist === entries.length) this.draft = m.line;
    this.hist = next;
    this.set(next === entries.length ? this.draft : ed.lineOf(entries[next]));
  }

  private startSearch(): void {
    const m = this.m;
    m.mode = 'search';
    m.search = { text: '', match: undefined, failed: false, saved: m.line };
    m.changed();
  }

  private find(text: string, from?: number): void {
    const s = this.m.search;
    const i = text ? this.m.session.history.search(text, from) : undefined;
    s.text = text;
    if (i === undefined) s.failed = !!text;
    else {
      s.match = i;
      s.failed = false;
    }
    if (!text) s.match = undefined;
  }

  private searchKey(input: string, key: Key): void {
    const m = this.m;
    const s = m.search;
    const matched = () => (s.match === undefined ? s.saved : ed.lineOf(m.session.history.entries()[s.match] ?? ''));
    const exit = (line: ed.Line) => {
      m.mode = 'edit';
      m.line = line;
      m.changed();
    };
    if (key.ctrl && (input === 'c' || input === 'g')) return exit(s.saved);
    if (key.ctrl && input === 'r') {
      if (s.match !== undefined && s.match > 0) this.find(s.text, s.match - 1);
      return m.changed();
    }
    if (key.return) {
      exit(matched());
      return this.enter();
    }
    if (key.backspace || key.delete) {
      this.find([...s.text].slice(0, -1).join(''));
      return m.changed();
    }
    if (key.escape || key.leftArrow || key.rightArrow || key.upArrow || key.downArrow || key.home || key.end || key.ctrl || key.tab) {
      return exit(matched());
    }
    if (!input || key.meta) return;
    this.find(s.text + input.replace(/[\r\n\t]/g, ''), s.match);
    m.changed();
  }

  private async complete(): Promise<void> {
    const m = this.m;
    const at = this.keyCount;
    const line = m.line;
    const before = ed.beforeCursor(line);
    let r: { start: number; candidates: string[] };
    try {
      r = await m.session.complete(line.text, before.length);
    } catch {
      return;
    }
    if (at !== this.keyCount || m.mode !== 'edit') return;
    const cands = [...new Set(r.candidates)];
    if (!cands.length) return;
    if (cands.length === 1) return this.set(ed.replaceWord(line, r.start, cands[0], true));
    const prefix = ed.commonPrefix(cands);
    if (prefix.length > before.length - r.start) m.line = ed.replaceWord(line, r.start, prefix, false);
    m.completions = cands;
    m.changed();
  }
}
