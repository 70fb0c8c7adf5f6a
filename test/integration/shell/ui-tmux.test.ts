import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
import { statusRow } from '../../kit/term.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

// The real `cairn shell` binary on a real pseudo-terminal (tmux, on a private server of its own): the prompt,
// `from`, a command and what it changed, an interactive program (`enter`) given the terminal and giving it
// back, and `exit` with its question.

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const server = `cairn-ui-${randomBytes(4).toString('hex')}`;
let dir: string;
// The server's socket in a directory of the test's own (TMUX_TMPDIR), removed with it.
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8', env: { ...process.env, TMUX_TMPDIR: dir } });

let k: CliKit;
let data: string;
beforeAll(() => {
  k = cliKit('cairn-ui-tmux-');
  dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-ui-'));
  data = path.join(dir, 'data');
});
afterAll(() => {
  if (dir) spawnSync('tmux', ['-L', server, 'kill-server'], { env: { ...process.env, TMUX_TMPDIR: dir } });
  k?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The pane's rows, trailing spaces trimmed. */
const screen = () => tmux('capture-pane', '-p', '-t', 'ui').split('\n').map((r) => r.trimEnd());

/** Waits until predicate(rows) holds, reading the pane every 50 ms; throws with the pane after timeoutMs. */
async function waitFor(predicate: (rows: string[]) => boolean, what: string, timeoutMs = 20_000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rows = screen();
    if (predicate(rows)) return rows;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; the pane:\n${rows.map((r) => `|${r}`).join('\n')}`);
    await delay(50);
  }
}

/** Types text literally, then Enter (tmux would read a word like `enter` as a key name). */
const line = (text: string) => {
  tmux('send-keys', '-t', 'ui', '-l', text);
  tmux('send-keys', '-t', 'ui', 'Enter');
};


describe.runIf(hasTmux)('cairn shell in tmux', () => {
  it('from, a command, an interactive program, exit with the question', async () => {
    const tiny = tinyRootfsTar();
    const exitFile = path.join(data, 'exit-status');
    const env = `CI=false XDG_DATA_HOME=${data} TERM=xterm-256color`;
    tmux('new-session', '-d', '-x', '100', '-y', '30', '-s', 'ui', `env -u NO_COLOR ${env} ${CAIRN} --root ${k.root} shell; echo $? > ${exitFile}`, ';', 'set-option', '-t', 'ui', 'remain-on-exit', 'on');
    await waitFor((r) => statusRow(r).startsWith('● no container'), 'the prompt');

    line(`from tarball:${tiny}`);
    await waitFor((r) => statusRow(r).startsWith('● tiny-working-container · 0 checkpoints'), 'the container');
    line('echo hello > /greeting; cat /greeting');
    // The finished step is printed first, the live region (prompt, status line) drawn below it after.
    let r = await waitFor((x) => x.some((l) => /^\s+\+\s+6 B\s+\/greeting$/.test(l)) && statusRow(x).includes('1 change 6 B'), 'the changed path and the status line');
    expect(r).toContain('hello');

    // An interactive program has the terminal, then the screen is back.
    line('enter');
    await waitFor((x) => x.some((l) => l.startsWith('# ')) || x.at(-1) === '#' || x.some((l) => l === '#'), 'the shell in the container');
    line('echo in-sh-$((6*7))');
    await waitFor((x) => x.includes('in-sh-42'), 'the program running');
    line('exit');
    r = await waitFor((x) => x.includes('❯ enter') && statusRow(x).startsWith('● tiny-working-container'), 'the screen back');
    line('echo still-here');
    await waitFor((x) => x.includes('still-here'), 'the prompt taking lines again');

    line('exit');
    await waitFor((x) => x.join(' ').includes('uncommitted changes in tiny-working-container — leave anyway? [y/N]'), 'the question');
    tmux('send-keys', '-t', 'ui', '-l', 'y');
    // The pane's shell writes cairn's status (tmux may show a pane dead before it knows how its process ended).
    const status = () => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8') : '');
    await waitFor(() => status().endsWith('\n'), 'cairn to exit');
    expect(status()).toBe('0\n');
    // The lines are kept for the next session.
    expect(readFileSync(path.join(data, 'cairn', 'shell_history'), 'utf8').split('\n')).toEqual(
      expect.arrayContaining([`from tarball:${tiny}`, 'echo hello > /greeting; cat /greeting', 'enter', 'exit']),
    );
  });
});
