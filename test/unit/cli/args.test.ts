import { describe, expect, it } from 'vitest';
import { parseArgs, type VerbSpec } from '../../../bin/args.js';

/* The argv parser every verb uses (bin/args.ts): buildah's spellings, table-driven. */

const run: VerbSpec = {
  name: 'run', usage: '', summary: '', example: '', min: 1, max: Infinity, stopAfter: 1,
  flags: {
    env: { kind: 'list', alias: ['-e'], help: '' },
    network: { kind: 'string', help: '' },
    terminal: { kind: 'bool', alias: ['-t'], help: '' },
  },
};
const commit: VerbSpec = {
  name: 'commit', usage: '', summary: '', example: '', min: 1, max: 2,
  flags: { squash: { kind: 'bool', help: '' }, timestamp: { kind: 'string', help: '' } },
};

describe('parseArgs', () => {
  it.each<[string, VerbSpec, string[], { flags?: object; args?: string[]; rest?: string[] }]>([
    ['flags before the positionals', commit, ['--squash', 'c', 'img'], { flags: { squash: true }, args: ['c', 'img'], rest: [] }],
    ['flags after the positionals', commit, ['c', '--timestamp', '0', 'img'], { flags: { timestamp: '0' }, args: ['c', 'img'] }],
    ['--flag=value', commit, ['--timestamp=5', 'c'], { flags: { timestamp: '5' }, args: ['c'] }],
    ['an empty --flag=', commit, ['--timestamp=', 'c'], { flags: { timestamp: '' }, args: ['c'] }],
    ['--bool=false', commit, ['--squash=false', 'c'], { flags: { squash: false }, args: ['c'] }],
    ['a value that looks like a flag', commit, ['--timestamp', '--squash', 'c'], { flags: { timestamp: '--squash' }, args: ['c'] }],
    ['a list flag repeated, with its alias', run, ['-e', 'A=1', '--env=B=2', 'c', 'true'], { flags: { env: ['A=1', 'B=2'] }, args: ['c'], rest: ['true'] }],
    ['run: the command keeps its own flags', run, ['c', 'ls', '-l', '--network', 'x'], { flags: {}, args: ['c'], rest: ['ls', '-l', '--network', 'x'] }],
    ['run: -- ends the flags', run, ['--network', 'none', 'c', '--', 'sh', '-c', 'x'], { flags: { network: 'none' }, args: ['c'], rest: ['--', 'sh', '-c', 'x'] }],
    ['- is a positional', commit, ['c', '-'], { args: ['c', '-'] }],
    ['a global flag anywhere', commit, ['c', '--root', '/r'], { flags: { root: '/r' }, args: ['c'] }],
    ['help needs no positional', commit, ['--help'], { flags: { help: true }, args: [] }],
  ])('%s', (_what, spec, argv, want) => {
    const p = parseArgs(spec, argv);
    if (want.flags) expect(p.flags).toEqual(want.flags);
    if (want.args) expect(p.args).toEqual(want.args);
    if (want.rest) expect(p.rest).toEqual(want.rest);
  });

  it.each<[string, VerbSpec, string[], string]>([
    ['an unknown flag', commit, ['--bogus', 'c'], 'unknown flag --bogus'],
    ['an unknown flag given with =', commit, ['--bogus=1', 'c'], 'unknown flag --bogus'],
    ['a flag with no value', commit, ['c', '--timestamp'], '--timestamp needs a value'],
    ['a bool given a value', commit, ['--squash=yes', 'c'], '--squash takes true or false, not yes'],
    ['too few arguments', commit, [], 'too few arguments'],
    ['too many arguments', commit, ['a', 'b', 'c'], 'too many arguments'],
  ])('refuses %s with one line', (_what, spec, argv, message) => {
    expect(() => parseArgs(spec, argv)).toThrow(message);
    try {
      parseArgs(spec, argv);
    } catch (e) {
      expect((e as Error).name).toBe('UsageError');
    }
  });
});
