import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeDirsSync } from '../dsl/index.js';

/*
 * The shell's history, kept across sessions in the user's data dir (`${XDG_DATA_HOME:-~/.local/share}/cairn/
 * shell_history`, mode 0600: lines may hold secrets), one line per entry, the newest last, at most 1000. Each add
 * rewrites the file whole, atomically (a temporary file renamed over it), after reading it again, so two shells
 * open at once keep each other's lines and a crash never leaves half a file. A file that cannot be written
 * leaves the history in memory only.
 */

/** The most lines kept. */
export const HISTORY_MAX = 1000;

/** Where the history lives: $XDG_DATA_HOME/cairn/shell_history, else ~/.local/share/cairn/shell_history. */
export function defaultHistoryFile(env: NodeJS.ProcessEnv = process.env): string {
  const data = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(env.HOME || os.homedir(), '.local', 'share');
  return path.join(data, 'cairn', 'shell_history');
}

/** The lines of a history file (none when it is missing or unreadable). */
function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

/** The entered lines, oldest first, with Ctrl-R search; file null keeps them in memory only. */
export class History {
  private lines: string[];
  private writable: boolean;

  constructor(readonly file: string | null, readonly max = HISTORY_MAX) {
    this.lines = file ? readLines(file).slice(-max) : [];
    this.writable = file !== null;
  }

  /** The entries, oldest first. */
  entries(): readonly string[] {
    return this.lines;
  }

  /** Adds a line (not a blank one, a repeat of the last, or one of several lines) and saves the file. */
  add(line: string): void {
    if (!line.trim() || line.includes('\n') || line.includes('\r') || this.lines[this.lines.length - 1] === line) return;
    if (this.file && this.writable) {
      // Lines other shells added meanwhile are kept: the file is the truth, this line goes after them.
      const onDisk = readLines(this.file);
      if (onDisk[onDisk.length - 1] !== line) onDisk.push(line);
      this.lines = onDisk.slice(-this.max);
      try {
        writeAtomic(this.file, this.lines.join('\n') + '\n');
      } catch {
        this.writable = false;
      }
    } else this.lines = [...this.lines, line].slice(-this.max);
  }

  /** The index of the newest entry at or before from (default: the newest) that holds text, if any. */
  search(text: string, from = this.lines.length - 1): number | undefined {
    for (let i = Math.min(from, this.lines.length - 1); i >= 0; i--) if (this.lines[i].includes(text)) return i;
    return undefined;
  }
}

/** Writes file whole by a temporary file renamed over it, mode 0600, its directory made 0700 when missing. */
function writeAtomic(file: string, text: string): void {
  makeDirsSync(path.dirname(file), 0o700);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    // The umask may have taken bits away; never more than 0600 either way.
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
