import { describe, expect, it } from 'vitest';
import { helpIndex, notFoundHint, planLine, shellVerbNames, type Plan } from '../../../shell/commands.js';
import { didYouMean, levenshtein } from '../../../dsl/core/nearest.js';
import { parseLine } from '../../../shell/line.js';
import { VERBS } from './verbs.js';

/* What a line does (shell/commands.ts): the CLI's verbs with the current container inserted, shell verbs, commands. */

const names = Object.keys(VERBS.verbs);
const plan = (line: string, ctx: { container?: string; image?: string } = { container: 'c' }): Promise<Plan> =>
  planLine(parseLine(line), { ...ctx, verbNames: names, spec: async (v) => (await VERBS.verbs[v]()).spec });

describe('planLine: CLI verbs with the current container', () => {
  it.each<[string, string, string[], { terminal?: boolean; bare?: boolean }?]>([
    ['copy ./app /app', 'copy', ['c', './app', '/app']],
    ['copy --chown 1000 a b /dst/', 'copy', ['c', '--chown', '1000', 'a', 'b', '/dst/']],
    ['add a /b', 'add', ['c', 'a', '/b']],
    ['config --env A=1 --cmd \'["sh"]\'', 'config', ['c', '--env', 'A=1', '--cmd', '["sh"]']],
    ['checkpoint', 'checkpoint', ['c']],
    ['checkpoint -m base', 'checkpoint', ['c', '-m', 'base']],
    ['checkpoint nginx installed', 'checkpoint', ['c', '-m', 'nginx installed']],
    ['rollback', 'rollback', ['c']],
    ['rollback 1', 'rollback', ['c', '--to', '1']],
    ['rollback --to 0', 'rollback', ['c', '--to', '0']],
    ['diff --json', 'diff', ['c', '--json']],
    ['commit localhost/web:1', 'commit', ['c', 'localhost/web:1']],
    ['commit --squash --rm web', 'commit', ['c', '--squash', '--rm', 'web']],
    ['export web.tar.gz', 'export', ['c', 'web.tar.gz']],
    ['export localhost/web web.tar.gz', 'export', ['localhost/web', 'web.tar.gz']],
    ['inspect', 'inspect', ['c']],
    ['inspect localhost/web', 'inspect', ['localhost/web']],
    ['mount', 'mount', ['c']],
    ['umount --all', 'umount', ['--all']],
    ['images --json', 'images', ['--json']],
    ['from --name web tarball:x.tar', 'from', ['--name', 'web', 'tarball:x.tar']],
    ['copy --help', 'copy', ['--help']],
    ['copy a --help', 'copy', ['a', '--help']],
    ['run --help', 'run', ['--help']],
  ])('%s', async (line, verb, argv) => {
    expect(await plan(line)).toEqual({ kind: 'verb', verb, argv, terminal: false, bare: false });
  });

  it('the argv parses as the CLI parses it, the container first', async () => {
    const p = (await plan('copy --chown 1000 a /b')) as Extract<Plan, { kind: 'verb' }>;
    const parsed = VERBS.parse((await VERBS.verbs.copy()).spec, p.argv);
    expect(parsed.args).toEqual(['c', 'a', '/b']);
    expect(parsed.flags).toEqual({ chown: '1000' });
  });

  it('push DEST pushes the image committed last in the session', async () => {
    expect(await plan('push oci:./out:x', { container: 'c', image: 'sha256:abc' })).toMatchObject({ kind: 'verb', argv: ['sha256:abc', 'oci:./out:x'] });
    expect(await plan('push img oci:./out:x')).toMatchObject({ kind: 'verb', argv: ['img', 'oci:./out:x'] });
    expect(await plan('push oci:./out:x')).toMatchObject({ kind: 'error', message: 'nothing committed yet in this session' });
  });
});

describe('planLine: run and commands in the container', () => {
  it.each<[string, string[], { terminal?: boolean; bare?: boolean }]>([
    ['run echo hi', ['c', '--', 'echo', 'hi'], {}],
    ['run --env A=1 -v /h:/c echo hi', ['--env', 'A=1', '-v', '/h:/c', 'c', '--', 'echo', 'hi'], {}],
    ['run -- ls -l', ['c', '--', 'ls', '-l'], {}],
    ['run ls --help', ['c', '--', 'ls', '--help'], {}],
    ['run -- ls --help', ['c', '--', 'ls', '--help'], {}],
    ['run echo $HOME', ['c', '--', '/bin/sh', '-c', 'echo $HOME'], {}],
    ['run --user 1000 echo a | cat # note', ['--user', '1000', 'c', '--', '/bin/sh', '-c', 'echo a | cat'], {}],
    ['run -t sh', ['-t', 'c', '--', 'sh'], { terminal: true }],
    ['apt-get install -y curl', ['c', '--', 'apt-get', 'install', '-y', 'curl'], { bare: true }],
    ['rm -f /etc/motd', ['c', '--', 'rm', '-f', '/etc/motd'], { bare: true }],
    ['echo "a b" > /f && cat /f', ['c', '--', '/bin/sh', '-c', 'echo "a b" > /f && cat /f'], { bare: true }],
    ['ls /etc/*.conf', ['c', '--', '/bin/sh', '-c', 'ls /etc/*.conf'], { bare: true }],
  ])('%s', async (line, argv, want) => {
    expect(await plan(line)).toEqual({ kind: 'verb', verb: 'run', argv, terminal: want.terminal ?? false, bare: want.bare ?? false });
  });

  it('enter is run -t /bin/sh', async () => {
    expect(await plan('enter')).toEqual({ kind: 'verb', verb: 'enter', argv: ['-t', 'c', '--', '/bin/sh'], terminal: true, bare: false });
  });
});

describe('planLine: shell verbs and errors', () => {
  it.each([
    ['use web', { kind: 'shell', verb: 'use', args: ['web'] }],
    ['layers', { kind: 'shell', verb: 'layers', args: [] }],
    ['help copy', { kind: 'shell', verb: 'help', args: ['copy'] }],
    ['save out.cairn', { kind: 'shell', verb: 'save', args: ['out.cairn'] }],
    ['exit 3', { kind: 'shell', verb: 'exit', args: ['3'] }],
    ['# a comment', { kind: 'none' }],
  ])('%s', async (line, want) => {
    expect(await plan(line)).toEqual(want);
  });

  it.each([
    ['copy a /b', /^no container yet: start with `from IMAGE`$/],
    ['run ls', /^no container yet/],
    ['ls -l', /^no container yet/],
    ['layers', /^no container yet/],
    ['enter', /^no container yet/],
    ['form tarball:x.tar', /^unknown verb form: did you mean `from`\?$/],
    ['comit web', /^unknown verb comit: did you mean `commit`\?$/],
  ])('before any from: %s', async (line, msg) => {
    const p = await plan(line, {});
    expect(p.kind).toBe('error');
    expect((p as { message: string }).message).toMatch(msg);
  });

  it.each([
    ['exec app.tar.gz', /exec is not run inside the shell/],
    ['diff | head', /diff takes no shell operators \(\|\)/],
    ['run | cat', /no command given before the shell operator/],
  ])('%s is refused', async (line, msg) => {
    expect(await plan(line)).toMatchObject({ kind: 'error', message: expect.stringMatching(msg) });
  });
});

describe('did you mean', () => {
  it.each([
    ['', '', 0], ['kitten', 'sitting', 3], ['from', 'form', 2], ['commit', 'comit', 1], ['abc', '', 3],
  ])('levenshtein(%j, %j) = %d', (a, b, d) => {
    expect(levenshtein(a, b)).toBe(d);
    expect(levenshtein(b, a)).toBe(d);
  });

  it.each([
    ['cpy', 'copy'], ['chekpoint', 'checkpoint'], ['layer', 'layers'], ['hlep', 'help'], ['rollbak', 'rollback'],
    ['apt-get', undefined], ['copy', undefined], ['xyzzy', undefined], ['ls', undefined], ['cd', undefined],
  ])('%s → %s', (word, want) => {
    expect(didYouMean(word, shellVerbNames(names))).toBe(want);
  });

  it('a command the container lacks gets a hint only when it is close to a verb', () => {
    expect(notFoundHint('cpy', names)).toMatch(/did you mean `copy`\?/);
    expect(notFoundHint('apt-get', names)).toBeUndefined();
  });

  it('help lists the CLI verbs the shell runs and the shell verbs, not rm or exec', () => {
    const text = helpIndex(names, Object.fromEntries(names.map((n) => [n, `${n} summary`])));
    expect(text).toMatch(/^ {2}copy +copy summary$/m);
    expect(text).toMatch(/^ {2}layers +Show the layers/m);
    expect(text).not.toMatch(/^ {2}(rm|exec|build|unshare) /m);
  });
});
