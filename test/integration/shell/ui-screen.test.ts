import { describe, expect, it } from 'vitest';
import { IN_PROCESS } from '../../kit/api.js';
import { openShell, screenFixtures } from '../../kit/shell-session.js';
import { ctrl, KEYS, makeTerm, rowOf, statusRow } from '../../kit/term.js';

// The screen of `cairn shell` (shell/ui) drawn into a headless terminal over a real session and store.

// A store per test: container names (tiny-working-container) do not depend on the tests before.
const { store, tiny } = screenFixtures();

/** The last non-empty row: the status line. */

describe.runIf(IN_PROCESS)('shell screen', () => {
  for (const [cols, rows] of [[80, 24], [40, 20]] as const) {
    it(`${cols}×${rows}: status line after from, a run's output and changed path, the layers view`, async () => {
      const sh = await openShell(store(), makeTerm(cols, rows));
      const t = sh.term;
      try {
        await t.waitFor((r) => statusRow(r).includes('no container'), 10_000, 'the first status line');
        t.type(`from tarball:${tiny()}${KEYS.enter}`);
        await t.waitFor((r) => statusRow(r).startsWith('● tiny-working-container · '), 30_000, 'the container in the status line');
        let screen = t.screen();
        const st = statusRow(screen);
        if (cols >= 80) expect(st).toMatch(/^● tiny-working-container · 0 checkpoints · no changes · not mounted · from tar\S*…$/);
        // The name cut in its middle, the image cut at the end.
        else expect(st).toMatch(/^● tiny-working-container · 0 ckpt( · mnt)? · fr…$/);
        // One row, cut to the width: never wrapped.
        expect(st.length).toBeLessThan(cols);
        expect(screen.filter((r) => r.startsWith('● ')).length).toBe(1);

        t.type(`run echo hello-there > /hello.txt; echo wrote it${KEYS.enter}`);
        screen = await t.waitFor((r) => r.some((x) => /^\s+\+\s+12 B\s+\/hello\.txt$/.test(x)), 30_000, 'the run step and its change');
        expect(rowOf(screen, '❯ run echo hello-there')).toBeGreaterThanOrEqual(0);
        expect(screen).toContain('wrote it');
        // The result line, then the changes under it.
        const ok = screen.findIndex((r) => /^✓ ok in \d/.test(r) && r !== screen[rowOf(screen, 'tiny-working-container') + 1]);
        expect(screen.slice(ok + 1, ok + 3)).toEqual(['  1 path changed (+1 ~0 -0, 12 B)', '  +      12 B  /hello.txt']);
        await t.waitFor((r) => statusRow(r).includes(cols >= 80 ? '1 change 12 B' : '1 chg 12 B'), 10_000, 'the pending change in the status line');

        t.type(`checkpoint add hello${KEYS.enter}`);
        await t.waitFor((r) => statusRow(r).includes(cols >= 80 ? '1 checkpoint' : '1 ckpt'), 30_000, 'the checkpoint');
        t.type(`run rm /hello.txt${KEYS.enter}`);
        await t.waitFor((r) => r.some((x) => /-\s+\/hello\.txt/.test(x)), 30_000, 'the deletion');
        t.type(`layers${KEYS.enter}`);
        screen = await t.waitFor((r) => r.some((x) => /^\d+ layers?, /.test(x)), 30_000, 'the layers view');
        const text = screen.join('\n');
        if (process.env.UI_DUMP) console.log(text);
        expect(text).toContain('checkpoint 1 "add hello"');
        expect(text).toContain('pending changes');
        expect(text).toMatch(/\+1 ~0 -0/);
        expect(text).toMatch(/wasted 12 B: \/hello\.txt/);
      } finally {
        await sh.leave();
      }
    });
  }

  it('history ↑ after two lines; Tab completes a verb and a container name', async () => {
    const sh = await openShell(store(), makeTerm(80, 24));
    const t = sh.term;
    try {
      await t.waitFor((r) => statusRow(r).includes('no container'));
      t.type(`from tarball:${tiny()}${KEYS.enter}`);
      await t.waitFor((r) => statusRow(r).includes('tiny-working-container'), 30_000);
      t.type(`echo first-line${KEYS.enter}`);
      await t.waitFor((r) => r.some((x) => x === 'first-line'), 30_000);
      t.type(`echo second-line${KEYS.enter}`);
      await t.waitFor((r) => r.some((x) => x === 'second-line') && !sh.busy(), 30_000);
      const prompt = (r: string[]) => r[rowOf(r, '●') - 1] ?? '';
      t.type(KEYS.up);
      await t.waitFor((r) => prompt(r) === '❯ echo second-line', 5000, 'the last line recalled');
      t.type(KEYS.up);
      await t.waitFor((r) => prompt(r) === '❯ echo first-line', 5000, 'the line before recalled');
      t.type(KEYS.down + KEYS.down);
      await t.waitFor((r) => prompt(r) === '❯', 5000, 'back to the empty line');

      // Editing: Ctrl-A, Ctrl-E, ←, Backspace, Ctrl-W, Ctrl-U.
      t.type(`ab cd${KEYS.left}${KEYS.backspace}X${ctrl('a')}>${ctrl('e')}!`);
      await t.waitFor((r) => prompt(r) === '❯ >ab Xd!', 5000, 'the edited line');
      t.type(ctrl('w'));
      await t.waitFor((r) => prompt(r) === '❯ >ab', 5000, 'a word erased');
      t.type(ctrl('u'));
      await t.waitFor((r) => prompt(r) === '❯', 5000, 'the line erased');

      t.type(`checkp${KEYS.tab}`);
      await t.waitFor((r) => prompt(r) === '❯ checkpoint', 5000, 'the verb completed');
      t.type(ctrl('u') + `use tiny${KEYS.tab}`);
      await t.waitFor((r) => prompt(r) === '❯ use tiny-working-container', 5000, 'the container completed');
      // Several candidates are listed under the prompt.
      t.type(ctrl('u') + `c${KEYS.tab}`);
      const r = await t.waitFor((x) => x.some((l) => /checkpoint\s+co/.test(l)), 5000, 'the candidates listed');
      expect(r[rowOf(r, 'checkpoint') - 1]).toBe('❯ c');
      // Ctrl-R finds the older line.
      t.type(ctrl('u') + ctrl('r') + 'first');
      await t.waitFor((x) => x.some((l) => l.includes("search 'first': echo first-line")), 5000, 'the search');
      t.type(KEYS.escape);
      await t.waitFor((x) => prompt(x) === '❯ echo first-line', 5000, 'the match taken');
      t.type(ctrl('c'));
      await t.waitFor((x) => prompt(x) === '❯', 5000, 'Ctrl-C clears the line');
    } finally {
      await sh.leave();
    }
  });
});
