import { describe, expect, it } from 'vitest';
import { argDefs, expandWord, expandWords, keyValues } from '../../../dsl/dockerfile/expand.js';

const place = { file: 'Dockerfile', line: 3, column: 1 };
const vars: Record<string, string> = { a: 'A', e: '', path: '/usr/local/bin', file: 'archive.tar.gz', sp: 'x y' };
const lookup = (n: string) => vars[n];

describe('expandWord', () => {
  it.each([
    ['$a', 'A'],
    ['${a}', 'A'],
    ['${a}_b', 'A_b'],
    ['$a_b', ''],
    ['$nope', ''],
    ['pre-${nope}-post', 'pre--post'],
    ['${a:-b}', 'A'],
    ['${nope:-b}', 'b'],
    ['${e:-b}', 'b'],
    ['${e-b}', ''],
    ['${nope-b}', 'b'],
    ['${a:+b}', 'b'],
    ['${e:+b}', ''],
    ['${e+b}', 'b'],
    ['${nope+b}', ''],
    ['${nope:-${a}x}', 'Ax'],
    ['${nope:-"q }"}', 'q }'],
    ['\\$a', '$a'],
    ['\\${a}', '${a}'],
    ["'$a'", '$a'],
    ['"$a"', 'A'],
    ['"a \\"b\\" \\$a \\x"', 'a "b" $a \\x'],
    ['a  b', 'a  b'],
    ['"$sp"', 'x y'],
    ['$', '$'],
    ['a$ b', 'a$ b'],
    ['${file%.*}', 'archive.tar'],
    ['${file%%.*}', 'archive'],
    ['${file#*.}', 'tar.gz'],
    ['${file##*.}', 'gz'],
    ['${path/local/opt}', '/usr/opt/bin'],
    ['${path//\\//:}', ':usr:local:bin'],
  ])('%s → %s', (text, want) => {
    expect(expandWord(text, lookup, '\\', place)).toBe(want);
  });

  it('uses the backtick as escape character when told', () => {
    expect(expandWord('`$a C:\\dir', lookup, '`', place)).toBe('$a C:\\dir');
  });

  it.each([
    ['"open', /Dockerfile:3:1: unexpected end of statement while looking for matching double-quote/],
    ["'open", /single-quote/],
    ['${a', /missing '\}'/],
    ['${nope?must be set}', /nope: must be set/],
    ['${a:=x}', /unsupported modifier/],
  ])('%s is an error', (text, msg) => {
    expect(() => expandWord(text, lookup, '\\', place)).toThrow(msg);
  });
});

describe('expandWords', () => {
  it.each([
    ['a b  c', ['a', 'b', 'c']],
    ['"a b" c', ['a b', 'c']],
    ['$sp z', ['x y', 'z']],
    ["'$a' \"$a\"", ['$a', 'A']],
    ['a\\ b', ['a b']],
    ['  ', []],
  ])('%s → %j', (text, want) => {
    expect(expandWords(text, lookup, '\\', place)).toEqual(want);
  });
});

describe('keyValues and argDefs', () => {
  it.each([
    ['k=v', [['k', 'v']]],
    ['k=v k2="v 2"', [['k', 'v'], ['k2', 'v 2']]],
    ['k=$a k2=${nope:-d}', [['k', 'A'], ['k2', 'd']]],
    ['k value with  spaces', [['k', 'value with  spaces']]],
    ['k "quoted value"', [['k', 'quoted value']]],
    ['k=', [['k', '']]],
    ['k=a\\ b', [['k', 'a b']]],
    ['"my key"=x', [['my key', 'x']]],
  ])('%s → %j', (text, want) => {
    expect(keyValues(text, lookup, '\\', place)).toEqual(want);
  });

  it.each([
    ['k', /k has no value/],
    ['a=1 b', /cannot find = in "b"/],
    ['=x', /name cannot be blank/],
  ])('%s is an error', (text, msg) => {
    expect(() => keyValues(text, lookup, '\\', place)).toThrow(msg);
  });

  it('splits ARG declarations, defaults unexpanded', () => {
    expect(argDefs('a b=1 c="x y" d=$a', '\\', place)).toEqual([
      { name: 'a', value: undefined },
      { name: 'b', value: '1' },
      { name: 'c', value: '"x y"' },
      { name: 'd', value: '$a' },
    ]);
  });
});
