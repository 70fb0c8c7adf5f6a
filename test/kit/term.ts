// A terminal for screen tests: an @xterm/headless Terminal of fixed size, fed by the stdout stream the app
// (convertEol: a terminal's tty driver turns the app's \n into \r\n; xterm alone would not.)
// draws on, and a stdin stream that types keys into the app (a TTY to Ink: raw mode, isTTY). Tests read the
// screen's rows from the terminal's cells and wait for a frame by predicate (checked after every write the
// terminal has parsed), never by a fixed sleep.
import { PassThrough, Writable } from 'node:stream';
import xterm from '@xterm/headless';

const { Terminal } = xterm;

/** Keys by name, as a terminal sends them. */
export const KEYS = {
  enter: '\r',
  tab: '\t',
  backspace: '\x7f',
  up: '\x1b[A',
  down: '\x1b[B',
  right: '\x1b[C',
  left: '\x1b[D',
  home: '\x1b[H',
  end: '\x1b[F',
  escape: '\x1b',
} as const;

/** Ctrl and a letter: ctrl('c') is '\x03'. */
export function ctrl(letter: string): string {
  return String.fromCharCode(letter.toLowerCase().charCodeAt(0) - 96);
}

/** The terminal and the streams to hand the app. */
export interface TermKit {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** The visible rows, trailing spaces trimmed. */
  screen(): string[];
  /** The visible rows joined by newlines (for messages and `toContain`). */
  text(): string;
  /** Every byte the app wrote to stdout, as text (kept up to 8 MB). */
  raw(): string;
  /** Frames (writes to stdout the terminal has parsed) so far. */
  frames(): number;
  /** Resolves once predicate(screen) holds (checked now and after every frame); rejects with the screen after timeoutMs. */
  waitFor(predicate: (rows: string[]) => boolean, timeoutMs?: number, what?: string): Promise<string[]>;
  /** Types text (keys included: `type('ls' + KEYS.enter)`). */
  type(text: string): void;
  /** Resizes the terminal and the stdout stream, which emits 'resize' as a TTY's does. */
  resize(cols: number, rows: number): void;
  /** Whether raw mode is on (as the app last set it). */
  rawMode(): boolean;
  dispose(): void;
}

/** Makes a terminal of cols × rows. */
export function makeTerm(cols = 80, rows = 24): TermKit {
  const term = new Terminal({ cols, rows, scrollback: 1000, allowProposedApi: true, convertEol: true });
  let raw = '';
  let frames = 0;
  const waiters = new Set<() => void>();
  const check = () => {
    frames++;
    for (const w of [...waiters]) w();
  };
  const stdout = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      const s = chunk.toString();
      if (raw.length < 8 << 20) raw += s;
      term.write(s, check);
      cb();
    },
  }) as unknown as NodeJS.WriteStream & { columns: number; rows: number; isTTY: boolean };
  stdout.isTTY = true;
  stdout.columns = cols;
  stdout.rows = rows;
  const stderr = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      term.write(chunk.toString(), check);
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  let rawMode = false;
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream & { isTTY: boolean; setRawMode(b: boolean): unknown };
  stdin.isTTY = true;
  stdin.setRawMode = (b: boolean) => {
    rawMode = b;
    return stdin;
  };
  Object.assign(stdin, { ref: () => stdin, unref: () => stdin });

  const screen = (): string[] => {
    const b = term.buffer.active;
    const out: string[] = [];
    for (let y = 0; y < term.rows; y++) out.push((b.getLine(b.viewportY + y)?.translateToString(true) ?? '').trimEnd());
    return out;
  };
  return {
    stdin,
    stdout,
    stderr,
    screen,
    text: () => screen().join('\n'),
    raw: () => raw,
    frames: () => frames,
    waitFor(predicate, timeoutMs = 10_000, what = 'the screen') {
      return new Promise((resolve, reject) => {
        const test = () => {
          let rows: string[];
          try {
            rows = screen();
            if (!predicate(rows)) return false;
          } catch {
            return false;
          }
          waiters.delete(test);
          clearTimeout(timer);
          resolve(rows);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(test);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen:\n${screen().map((r) => `|${r}`).join('\n')}`));
        }, timeoutMs);
        waiters.add(test);
        // The terminal parses writes asynchronously: check what it holds now after what is queued.
        term.write('', () => test());
      });
    },
    type(text) {
      stdin.write(text);
    },
    resize(c, r) {
      term.resize(c, r);
      stdout.columns = c;
      stdout.rows = r;
      stdout.emit('resize');
    },
    rawMode: () => rawMode,
    dispose() {
      waiters.clear();
      term.dispose();
    },
  };
}

/** The row holding text, or -1. */
export function rowOf(rows: readonly string[], text: string): number {
  return rows.findIndex((r) => r.includes(text));
}

/** The status line: the last row that is not blank. */
export const statusRow = (rows: readonly string[]): string => rows.filter((r) => r.trim()).at(-1) ?? '';

/** The prompt's row: the row above the status line. */
export const promptRow = (rows: readonly string[]): string => rows[rows.map((r) => r.trim() !== '').lastIndexOf(true) - 1] ?? '';
