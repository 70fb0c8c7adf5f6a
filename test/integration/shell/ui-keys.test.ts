import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IN_PROCESS } from '../../kit/api.js';
import { openShell, screenFixtures } from '../../kit/shell-session.js';
import { ctrl, KEYS, makeTerm, rowOf, statusRow, promptRow } from '../../kit/term.js';

// The shell screen's keys that end things: Ctrl-C stops a step and keeps the shell; Ctrl-D and `exit` leave,
// asking first when the container has uncommitted work; bad input is a failed step, never a crash.

// A store per test: container names (tiny-working-container) do not depend on the tests before.
const { store, tiny } = screenFixtures();

/** Whether a process of this command line (NUL-separated, as /proc has it) runs. */
const running = (cmdline: string) =>
  readdirSync('/proc').some((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'latin1') === cmdline;
    } catch {
      return false;
    }
  });
const flat = (rows: string[]) => rows.join(' ').replace(/\s+/g, ' ');

describe.runIf(IN_PROCESS)('shell screen keys', () => {
  it('Ctrl-C during `run sleep 30` ends the step as interrupted and the prompt is back; typing goes on meanwhile', async () => {
    const sh = await openShell(store(), makeTerm(80, 24));
    const t = sh.term;
    try {
      // Bad input first: a failed step, the shell stays.
      t.type(`frobnicate --now${KEYS.enter}`);
      await t.waitFor((r) => r.some((x) => x.startsWith('✗ ')) && !sh.busy(), 10_000, 'the failed step');
      t.type(`from tarball:${tiny()}${KEYS.enter}`);
      await t.waitFor((r) => statusRow(r).startsWith('● tiny-working-container'), 30_000);
      t.type(`run sleep 30${KEYS.enter}`);
      await t.waitFor((r) => /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /.test(statusRow(r)) && rowOf(r, '❯ run sleep 30') >= 0, 10_000, 'the running step and the spinner');
      // The prompt takes keys while the step runs.
      t.type('echo typed-ahead');
      await t.waitFor((r) => promptRow(r) === '❯ echo typed-ahead', 5000, 'typing while busy');
      // Ctrl-C once the command runs (the spinner draws a frame every 100 ms meanwhile).
      await t.waitFor(() => running('sleep\x0030\x00'), 10_000, 'sleep 30 to run');
      const t0 = Date.now();
      t.type(ctrl('c'));
      const r = await t.waitFor((x) => x.some((l) => /^✗ interrupted after /.test(l)) && statusRow(x).startsWith('● '), 10_000, 'the step interrupted');
      expect(Date.now() - t0).toBeLessThan(5000);
      // What was typed stays on the prompt.
      expect(promptRow(r)).toBe('❯ echo typed-ahead');
      t.type(KEYS.enter);
      await t.waitFor((x) => x.includes('typed-ahead') && !sh.busy(), 30_000, 'the next step');
    } finally {
      expect(await sh.leave()).toBe(0);
    }
  });

  it('Ctrl-D and `exit` ask about uncommitted work; n stays, y leaves with the status of exit N', async () => {
    const sh = await openShell(store(), makeTerm(40, 20));
    const t = sh.term;
    try {
      t.type(`from tarball:${tiny()}${KEYS.enter}`);
      await t.waitFor((r) => statusRow(r).startsWith('● tiny-working-container · '), 30_000);
      t.type(`touch /new-file${KEYS.enter}`);
      await t.waitFor((r) => statusRow(r).includes('1 chg'), 30_000, 'the pending change');
      t.type(ctrl('d'));
      await t.waitFor((r) => flat(r).includes('uncommitted changes in tiny-working-container — leave anyway? [y/N]'), 5000, 'the question');
      t.type('n');
      await t.waitFor((r) => promptRow(r) === '❯' && !flat(r).includes('leave anyway'), 5000, 'the prompt back');
      t.type(`exit 3${KEYS.enter}`);
      await t.waitFor((r) => flat(r).includes('leave anyway? [y/N]'), 10_000, 'the question after exit');
      t.type('y');
      expect(await sh.done).toBe(3);
      // The live region is gone; what was printed stays.
      const r = await t.waitFor((x) => !x.some((l) => l.startsWith('● ')), 5000, 'the live region erased');
      expect(rowOf(r, '❯ touch /new-file')).toBeGreaterThanOrEqual(0);
      expect(t.rawMode()).toBe(false);
    } finally {
      expect(await sh.leave()).toBe(3);
    }
  });
});
