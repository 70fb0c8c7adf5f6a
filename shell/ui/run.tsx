import { render, type Instance } from 'ink';
import type { ReactElement } from 'react';
import type { TerminalHandoff } from '../types.js';
import { App } from './app.js';
import { Keys } from './keys.js';
import { ScreenModel, type SessionLike } from './model.js';

/*
 * `cairn shell` on a terminal: the Ink tree mounted over the screen model. The tree is mounted again, over
 * the same model, whenever the screen must be redrawn whole: after a resize (the terminal reflowed what was
 * drawn at the old width: the screen is cleared and the last steps printed again at the new one) and after
 * an interactive program had the terminal (`run -t sh`, `enter`).
 */

/** Streams the screen uses (the process's by default). */
export interface ScreenStreams {
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

/** How many finished steps a full redraw (after a resize) prints again. */
const REPLAY = 50;

/** Erases the screen and its scrollback, cursor home (what was drawn at another width cannot be erased line by line). */
const CLEAR = '\x1b[2J\x1b[3J\x1b[H';

/** True when NO_COLOR is set to anything (no-color.org). */
function noColor(): boolean {
  return !!process.env.NO_COLOR;
}

class Screen {
  private ink?: Instance;
  private app?: (hidden: boolean) => ReactElement;
  private mounts = 0;
  private resizeTimer?: NodeJS.Timeout;
  private handingOff = false;
  private done?: (status: number) => void;
  readonly m: ScreenModel;
  private readonly keys: Keys;

  constructor(session: SessionLike, private readonly io: Required<ScreenStreams>) {
    this.m = new ScreenModel(session, !noColor(), this.size());
    this.keys = new Keys(this.m, (status) => this.done?.(status));
  }

  private size(): { cols: number; rows: number } {
    return { cols: this.io.stdout.columns || 80, rows: this.io.stdout.rows || 24 };
  }

  /** Runs until the user leaves; resolves with the status. */
  async run(): Promise<number> {
    const detach = this.m.attach();
    const onResize = () => this.resized();
    this.io.stdout.on('resize', onResize);
    try {
      const status = await new Promise<number>((resolve) => {
        this.done = resolve;
        this.mount(true);
      });
      await this.unmount();
      return status;
    } finally {
      this.io.stdout.off('resize', onResize);
      if (this.resizeTimer) clearTimeout(this.resizeTimer);
      detach();
    }
  }

  /** Mounts the tree; `replay` prints the last finished steps again, else only the ones finished from now on. */
  private mount(replay: boolean): void {
    const m = this.m;
    Object.assign(m, this.size());
    m.hidden = false;
    m.staticFrom = replay ? Math.max(0, m.entries.length - REPLAY) : m.entries.length;
    const key = ++this.mounts;
    this.app = (hidden) => <App key={key} m={m} keys={this.keys} hidden={hidden} />;
    this.ink = render(this.app(false), {
      stdin: this.io.stdin,
      stdout: this.io.stdout,
      stderr: this.io.stderr,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 30,
    });
  }

  /** Erases the live region and unmounts the tree (what <Static> printed stays). */
  private async unmount(): Promise<void> {
    const ink = this.ink;
    if (!ink) return;
    this.ink = undefined;
    // Drawn now, through Ink's own render of a new element (a store change alone may wait for React's
    // scheduler): the unmount then flushes this empty frame, and leaves what <Static> printed.
    this.m.hidden = true;
    ink.rerender(this.app!(true));
    ink.unmount();
    await ink.waitUntilExit().catch(() => undefined);
  }

  /** A resize redraws everything, once the terminal has settled (a drag sends many). */
  private resized(): void {
    if (this.handingOff) return;
    if (this.resizeTimer) clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      this.resizeTimer = undefined;
      if (this.handingOff || !this.ink) return;
      void this.unmount().then(() => {
        if (this.handingOff || !this.done) return;
        this.io.stdout.write(CLEAR);
        this.mount(true);
      });
    }, 40);
  }

  /** Lends the terminal to fn: no drawing, no raw mode, no reading of stdin while it runs. */
  readonly handoff: TerminalHandoff = async (fn) => {
    this.handingOff = true;
    await this.unmount();
    const stdin = this.io.stdin;
    if (stdin.isTTY) stdin.setRawMode(false);
    stdin.pause();
    // A paused tty stream still reads (to fill its buffer) and would take the program's keystrokes: its handle
    // stops reading, and reads again after (the stream believes a read is still under way and would not start one).
    const h = (stdin as unknown as { _handle?: { reading?: boolean; readStop?: () => number; readStart?: () => number } })._handle;
    const stopped = !!(h?.reading && h.readStop && h.readStart);
    if (stopped) {
      h!.readStop!();
      h!.reading = false;
    }
    try {
      return await fn();
    } finally {
      if (stopped && !h!.reading) {
        h!.readStart!();
        h!.reading = true;
      }
      this.handingOff = false;
      this.mount(false);
    }
  };
}

let current: Screen | undefined;

/**
 * The TerminalHandoff to give Session.open: while runInteractive runs, it lends the terminal to the program
 * (the screen stops drawing and leaves raw mode, then redraws); otherwise it just runs fn.
 */
export const uiHandoff: TerminalHandoff = (fn) => (current ? current.handoff(fn) : fn());

/**
 * Runs the interactive shell over a session on a terminal until the user leaves (Ctrl-D or `exit`, answering
 * the question about uncommitted work); resolves with the exit status. It does not close the session.
 */
export async function runInteractive(session: SessionLike, opts: ScreenStreams = {}): Promise<number> {
  const screen = new Screen(session, {
    stdin: opts.stdin ?? process.stdin,
    stdout: opts.stdout ?? process.stdout,
    stderr: opts.stderr ?? process.stderr,
  });
  const previous = current;
  current = screen;
  try {
    return await screen.run();
  } finally {
    current = previous;
  }
}
