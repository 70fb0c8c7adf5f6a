import { describe, expect, it } from 'vitest';
import { lineAt, parseLine, quoteWord, unquote } from '../../../shell/line.js';

/* Splitting a shell line (shell/line.ts): words unquoted by shell-quote, operators, comments, unbalanced quotes. */

describe('parseLine', () => {
  it.each<[string, string, string[], { ops?: boolean; syntax?: boolean; comment?: string }]>([
    ['plain words', 'copy ./app /app', ['copy', './app', '/app'], {}],
    ['quotes and escapes', `config --cmd '["nginx", "-g"]' --label "a=b c" x\\ y`, ['config', '--cmd', '["nginx", "-g"]', '--label', 'a=b c', 'x y'], {}],
    ['an empty quoted word', `run echo ''`, ['run', 'echo', ''], {}],
    ['a pipe: the words before it', 'ls -l / | head -3', ['ls', '-l', '/'], { ops: true }],
    ['&& and >', 'mkdir /x && echo hi > /x/y', ['mkdir', '/x'], { ops: true }],
    ['an operator glued to a word', 'echo hi>/f', ['echo', 'hi'], { ops: true }],
    ['a trailing comment', 'checkpoint base # the first layer', ['checkpoint', 'base'], { comment: ' the first layer' }],
    ['a # inside a word is no comment', 'echo a#b', ['echo', 'a#b'], {}],
    ['a quoted # is no comment', `echo '# not'`, ['echo', '# not'], {}],
    ['$VAR is kept for the container', 'echo $HOME', ['echo', '$HOME'], { syntax: true }],
    ['$ in single quotes expands nothing', `echo '$HOME'`, ['echo', '$HOME'], {}],
    ['a glob is kept as its pattern', 'ls /etc/*.conf', ['ls', '/etc/*.conf'], { syntax: true }],
  ])('%s', (_what, line, words, want) => {
    const p = parseLine(line);
    expect(p.words).toEqual(words);
    expect(p.hasOps).toBe(want.ops ?? false);
    expect(p.hasShellSyntax).toBe(want.syntax ?? false);
    expect(p.comment).toBe(want.comment);
  });

  it('a comment line and a blank line have no tokens', () => {
    expect(parseLine('# only a comment').tokens).toEqual([]);
    expect(parseLine('   ').tokens).toEqual([]);
  });

  it('keeps each token\'s place in the line', () => {
    const p = parseLine(`run  echo "a b" | cat`);
    expect(p.tokens.map((t) => [t.kind, t.raw, t.start, t.end])).toEqual([
      ['word', 'run', 0, 3], ['word', 'echo', 5, 9], ['word', '"a b"', 10, 15], ['op', '|', 16, 17], ['word', 'cat', 18, 21],
    ]);
  });

  it.each([
    [`echo "abc`, /unbalanced quotes: the double quote at column 6 is never closed/],
    [`echo 'it`, /unbalanced quotes: the single quote at column 6 is never closed/],
    [`copy "a" 'b`, /single quote at column 10/],
    ['echo abc\\', /ends with a backslash/],
  ])('refuses %j with one clear error', (line, msg) => {
    expect(() => parseLine(line)).toThrow(msg);
    try {
      parseLine(line);
    } catch (err) {
      expect((err as Error).name).toBe('BadInputError');
    }
  });

  it('an escaped quote is no open quote', () => {
    expect(parseLine(`echo it\\'s "a \\" b"`).words).toEqual(['echo', "it's", 'a " b']);
  });
});

describe('lineAt (completion)', () => {
  it.each<[string, number | undefined, { before: string[]; prefix: string; start: number; afterOp?: boolean }]>([
    ['', undefined, { before: [], prefix: '', start: 0 }],
    ['co', undefined, { before: [], prefix: 'co', start: 0 }],
    ['copy --ch', undefined, { before: ['copy'], prefix: '--ch', start: 5 }],
    ['copy ', undefined, { before: ['copy'], prefix: '', start: 5 }],
    ['run ls /et', undefined, { before: ['run', 'ls'], prefix: '/et', start: 7 }],
    ['ls "/my di', undefined, { before: ['ls'], prefix: '/my di', start: 3 }],
    ['cat /x | he', undefined, { before: ['cat', '/x'], prefix: 'he', start: 9, afterOp: true }],
    ['copy a b', 6, { before: ['copy'], prefix: 'a', start: 5 }],
  ])('%j', (line, cursor, want) => {
    const at = lineAt(line, cursor ?? line.length);
    expect(at).toEqual({ afterOp: false, ...want });
  });
});

describe('quoteWord and unquote', () => {
  it.each(['plain', 'a b', `it's`, '', '$HOME', 'a"b', '*'])('round-trips %j', (w) => {
    expect(unquote(quoteWord(w))).toBe(w);
    expect(parseLine(`x ${quoteWord(w)}`).words).toEqual(['x', w]);
  });
});
