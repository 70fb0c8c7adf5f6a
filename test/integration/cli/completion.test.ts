import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
import { smallRootfsTar } from '../../kit/tiny.js';

/* Shell completion scripts, run in the shells themselves: bash through compgen, zsh and fish when installed. */

let k: CliKit;
let script: string;
beforeAll(() => {
  k = cliKit();
  k.ok(['from', '--name', 'completed-ctr', `tarball:${smallRootfsTar()}`]);
  k.ok(['commit', 'completed-ctr', 'localhost/completed:1']);
  script = path.join(k.root, '..', `completion-${process.pid}.bash`);
  writeFileSync(script, k.ok(['completion', 'bash']));
});
afterAll(() => k.cleanup());

/** What bash completes for the words of a command line (the last one being completed). */
function complete(...words: string[]): string[] {
  const bin = path.dirname(CAIRN);
  const prog = `source ${JSON.stringify(script)}; PATH=${JSON.stringify(bin)}:$PATH; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _cairn; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['-c', prog], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean).sort();
}

const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

describe('cairn completion', () => {
  it('bash: registered for cairn; completes verbs, a verb\'s flags, and container and image names from the store', () => {
    const r = spawnSync('bash', ['-c', `source ${JSON.stringify(script)}; complete -p cairn`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('complete -o default -F _cairn cairn');
    expect(complete('cairn', 'comm')).toEqual(['commit']);
    expect(complete('cairn', 'commit', '--sq')).toEqual(['--squash']);
    expect(complete('cairn', 'commit', '--i')).toEqual(['--iidfile']);
    expect(complete('cairn', '--root', k.root, 'run', 'comp')).toEqual(['completed-ctr']);
    expect(complete('cairn', '--root', k.root, 'push', 'localhost/comp')).toEqual(['localhost/completed:1']);
    expect(complete('cairn', '--root', k.root, 'inspect', '')).toEqual(expect.arrayContaining(['completed-ctr', 'localhost/completed:1']));
    // The second argument of commit is an image name; a flag's value is no argument.
    expect(complete('cairn', '--root', k.root, 'commit', '--iidfile', '/dev/null', 'completed-ctr', 'localhost/c')).toEqual(['localhost/completed:1']);
  });

  it('a shell it does not know is a usage error', () => {
    expect(k.cairn(['completion', 'tcsh']).stderr.split('\n')[0]).toBe('cairn completion: no completion for tcsh: give bash, zsh or fish');
  });

  it.runIf(has('zsh'))('zsh: the script loads and registers the completion', () => {
    const file = path.join(k.root, '..', `completion-${process.pid}.zsh`);
    writeFileSync(file, k.ok(['completion', 'zsh']));
    const r = spawnSync('zsh', ['-f', '-c', `source ${JSON.stringify(file)} && print -r -- $_comps[cairn]`], { encoding: 'utf8', cwd: path.dirname(file), env: { ...process.env, HOME: path.dirname(file) } });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('_cairn');
  });

  it.runIf(has('fish'))('fish: the script loads and completes verbs and container names', () => {
    const file = path.join(k.root, '..', `completion-${process.pid}.fish`);
    writeFileSync(file, k.ok(['completion', 'fish']));
    const bin = path.dirname(CAIRN);
    const r = spawnSync('fish', ['--no-config', '-c', `set -x PATH ${bin} $PATH; set -x CAIRN_ROOT ${k.root}; source ${file}; complete -C 'cairn comm'; complete -C 'cairn run comp'`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^commit\b/m);
    expect(r.stdout).toMatch(/^completed-ctr\b/m);
  });
});
