import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultHistoryFile, History, HISTORY_MAX } from '../../../shell/history.js';

/* The shell's history (shell/history.ts): its file, its bound, atomic writes, Ctrl-R search. */

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-history-'));
  file = path.join(dir, 'data', 'cairn', 'shell_history');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('History', () => {
  it('lives in $XDG_DATA_HOME/cairn, else ~/.local/share/cairn', () => {
    expect(defaultHistoryFile({ XDG_DATA_HOME: '/x/data', HOME: '/home/u' })).toBe('/x/data/cairn/shell_history');
    expect(defaultHistoryFile({ HOME: '/home/u' })).toBe('/home/u/.local/share/cairn/shell_history');
    // A relative XDG_DATA_HOME is invalid by the spec: ignored.
    expect(defaultHistoryFile({ XDG_DATA_HOME: 'rel', HOME: '/home/u' })).toBe('/home/u/.local/share/cairn/shell_history');
  });

  it('keeps lines across sessions in a file of mode 0600 (its directory made 0700)', () => {
    const h = new History(file);
    h.add('from tarball:x.tar');
    h.add('run echo hi');
    expect(readFileSync(file, 'utf8')).toBe('from tarball:x.tar\nrun echo hi\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(new History(file).entries()).toEqual(['from tarball:x.tar', 'run echo hi']);
  });

  it('skips blank lines, a repeat of the last line, and lines with a newline', () => {
    const h = new History(file);
    for (const l of ['ls', 'ls', '   ', '', 'a\nb', 'pwd', 'ls']) h.add(l);
    expect(h.entries()).toEqual(['ls', 'pwd', 'ls']);
  });

  it(`is bounded to the last ${HISTORY_MAX} lines, in memory and on disk`, () => {
    const mem = new History(null);
    for (let i = 0; i < HISTORY_MAX + 50; i++) mem.add(`echo ${i}`);
    expect(mem.entries().length).toBe(HISTORY_MAX);
    expect(mem.entries()[0]).toBe('echo 50');
    const h = new History(file, 20);
    for (let i = 0; i < 25; i++) h.add(`echo ${i}`);
    expect(h.entries()).toEqual(Array.from({ length: 20 }, (_, i) => `echo ${i + 5}`));
    expect(readFileSync(file, 'utf8')).toBe(h.entries().join('\n') + '\n');
    // A longer file (written by hand, or by an older cairn) is read bounded too.
    writeFileSync(file, Array.from({ length: 3000 }, (_, i) => `l${i}`).join('\n') + '\n');
    expect(new History(file).entries()).toEqual(Array.from({ length: HISTORY_MAX }, (_, i) => `l${i + 2000}`));
  });

  it('writes atomically: no temporary file is left, and two shells keep each other\'s lines', () => {
    const a = new History(file);
    const b = new History(file);
    a.add('from a');
    b.add('from b');
    a.add('run a');
    expect(readFileSync(file, 'utf8')).toBe('from a\nfrom b\nrun a\n');
    expect(readdirSync(path.dirname(file))).toEqual(['shell_history']);
  });

  it('replaces the file rather than writing into it (a reader never sees half a file)', () => {
    const h = new History(file);
    h.add('one');
    const ino = statSync(file).ino;
    h.add('two');
    expect(statSync(file).ino).not.toBe(ino);
  });

  it('keeps working in memory when the file cannot be written', () => {
    writeFileSync(path.join(dir, 'blocker'), '');
    const h = new History(path.join(dir, 'blocker', 'cairn', 'shell_history'));
    h.add('ls');
    h.add('pwd');
    expect(h.entries()).toEqual(['ls', 'pwd']);
  });

  it('null keeps no file', () => {
    const h = new History(null);
    h.add('ls');
    expect(h.entries()).toEqual(['ls']);
  });

  it('search finds the newest entry holding the text at or before an index (Ctrl-R, then Ctrl-R again)', () => {
    const h = new History(null);
    for (const l of ['from tarball:a.tar', 'apt-get install -y curl', 'ls /', 'apt-get install -y vim', 'pwd']) h.add(l);
    expect(h.search('apt')).toBe(3);
    expect(h.search('apt', 2)).toBe(1);
    expect(h.search('apt', 0)).toBeUndefined();
    expect(h.search('from')).toBe(0);
    expect(h.search('nothing')).toBeUndefined();
    expect(h.search('pwd', 99)).toBe(4);
  });
});
