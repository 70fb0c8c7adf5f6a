import { describe, expect, it } from 'vitest';
import { changeRow, fmtBytes, fmtMs, foldChanges, progressText, resultLine, sanitize } from '../../../shell/ui/format.js';
import * as ed from '../../../shell/ui/line-editor.js';
import type { StepRecord } from '../../../shell/types.js';

// The shell screen's pure parts: the prompt's line editing and the words and numbers it draws.

const L = (text: string, cursor = [...text].length): ed.Line => ({ text, cursor });

describe('line editor', () => {
  it.each([
    ['insert', ed.insert(L('ac', 1), 'b'), L('abc', 2)],
    ['insert drops control characters, tabs become spaces', ed.insert(L(''), 'a\tb\x1bc\x07'), L('a bc', 4)],
    ['move stays in the line', ed.move(L('ab', 0), -1), L('ab', 0)],
    ['move by code points', ed.move(L('é😀x', 0), 2), L('é😀x', 2)],
    ['backspace', ed.backspace(L('abc', 2)), L('ac', 1)],
    ['backspace at the start', ed.backspace(L('abc', 0)), L('abc', 0)],
    ['backspace an emoji whole', ed.backspace(L('a😀')), L('a', 1)],
    ['delete under the cursor', ed.del(L('abc', 1)), L('ac', 1)],
    ['Ctrl-U', ed.killBefore(L('abc def', 4)), L('def', 0)],
    ['Ctrl-K', ed.killAfter(L('abc def', 4)), L('abc ', 4)],
    ['Ctrl-W: the word and the spaces after it', ed.killWord(L('run apt-get  ', 13)), L('run ', 4)],
    ['Ctrl-W mid-line', ed.killWord(L('a bc d', 4)), L('a  d', 2)],
    ['Home, End', ed.end(ed.home(L('abc', 1))), L('abc', 3)],
    ['a completed word gets a space', ed.replaceWord(L('chec'), 0, 'checkpoint', true), L('checkpoint ', 11)],
    ['a directory gets none', ed.replaceWord(L('copy /us'), 5, '/usr/', true), L('copy /usr/', 10)],
    ['a prefix gets none', ed.replaceWord(L('c'), 0, 'co', false), L('co', 2)],
    ['completion before a space steps over it', ed.replaceWord(L('us x', 2), 0, 'use', true), L('use x', 4)],
  ])('%s', (_name, got, want) => expect(got).toEqual(want));

  it('common prefix; a long line scrolls to keep the cursor in view', () => {
    expect(ed.commonPrefix(['checkpoint', 'check', 'chevron'])).toBe('che');
    expect(ed.commonPrefix([])).toBe('');
    const long = L('x'.repeat(100) + 'END');
    const v = ed.visible(long, 40);
    expect([...v.text].length).toBeLessThan(40);
    expect(v.text.endsWith('END')).toBe(true);
    expect(v.cursor).toBe([...v.text].length);
    const start = ed.visible({ ...long, cursor: 0 }, 40);
    expect(start.cursor).toBe(0);
    expect(start.text.startsWith('xxx')).toBe(true);
  });
});

const rec = (over: Partial<StepRecord>): StepRecord => ({ n: 1, line: 'x', verb: 'run', status: 'ok', output: [], omitted: 0, ...over });

describe('screen text', () => {
  it.each([
    [0, '0 B'], [999, '999 B'], [1000, '1.0 kB'], [12_345, '12.3 kB'], [999_999, '1.0 MB'], [3_400_000_000, '3.4 GB'],
  ])('fmtBytes(%d) = %s', (n, s) => expect(fmtBytes(n)).toBe(s));

  it('durations, result lines', () => {
    expect(fmtMs(340.4)).toBe('340 ms');
    expect(fmtMs(2100)).toBe('2.1 s');
    expect(fmtMs(184_000)).toBe('3 min 4 s');
    expect(resultLine(rec({ ms: 34 }))).toEqual({ kind: 'ok', text: 'ok in 34 ms' });
    expect(resultLine(rec({ status: 'failed', exitCode: 3, ms: 40 }))).toEqual({ kind: 'failed', text: 'exit status 3 (40 ms)' });
    expect(resultLine(rec({ status: 'failed', error: 'cairn copy: no such file' }))).toEqual({ kind: 'failed', text: 'failed: cairn copy: no such file' });
    expect(resultLine(rec({ status: 'interrupted', ms: 2100 }))).toEqual({ kind: 'interrupted', text: 'interrupted after 2.1 s' });
  });

  it('output lines lose escapes, what a carriage return overwrote, control characters', () => {
    expect(sanitize('\x1b[31mred\x1b[0m text')).toBe('red text');
    expect(sanitize('10%\r50%\r100%')).toBe('100%');
    expect(sanitize('done\r\n'.trimEnd())).toBe('done');
    expect(sanitize('a\tb\x07\x1b]0;title\x07c')).toBe('a    bc');
  });

  it('changes: biggest first, folded after 8 with the rest counted', () => {
    const changes = Array.from({ length: 12 }, (_, i) => ({ kind: 'A' as const, path: `/f${i}`, size: i * 1000 }));
    const f = foldChanges(changes);
    expect(f.shown.map((c) => c.path)).toEqual(['/f11', '/f10', '/f9', '/f8', '/f7', '/f6', '/f5', '/f4']);
    expect([f.more, f.moreBytes]).toEqual([4, 6000]);
    expect(f.summary).toBe('12 paths changed (+12 ~0 -0, 66.0 kB)');
    // Nine paths: folding one would save nothing.
    expect(foldChanges(changes.slice(0, 9)).more).toBe(0);
    expect(changeRow({ kind: 'D', path: '/gone', size: 0 })).toBe('-            /gone');
    expect(changeRow({ kind: 'C', path: '/etc/passwd', size: 1200 })).toBe('~    1.2 kB  /etc/passwd');
  });

  it('progress: a bar when the total is known', () => {
    expect(progressText({ done: 5_000_000, total: 10_000_000 }, 60)).toMatch(/^\[█+░+\] 50% 5\.0 MB\/10\.0 MB$/);
    expect(progressText({ done: 1, total: 3, unit: 'layers' }, 20)).toBe('33% 1/3 layers');
    expect(progressText({ done: 1234 }, 40)).toBe('1.2 kB');
  });
});
