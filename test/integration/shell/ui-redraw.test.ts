import { afterEach, describe, expect, it } from 'vitest';
import { IN_PROCESS } from '../../kit/api.js';
import { openShell, screenFixtures } from '../../kit/shell-session.js';
import { KEYS, makeTerm, statusRow } from '../../kit/term.js';

// The shell screen redrawn: a resize redraws it whole at the new width (no line of the old frame left behind,
// nothing twice), and NO_COLOR draws it without a colour code.

// A store per test: container names (tiny-working-container) do not depend on the tests before.
const { store, tiny } = screenFixtures();
const savedNoColor = process.env.NO_COLOR;
afterEach(() => {
  if (savedNoColor === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = savedNoColor;
});

const count = (rows: string[], pred: (r: string) => boolean) => rows.filter(pred).length;
// SGR sequences that set a colour (30–37, 90–97 foreground, 38;… extended) or any style.
const SGR = /\x1b\[[0-9;]*m/;
const COLOUR = /\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])(?:;[0-9;]*)?m/;

describe.runIf(IN_PROCESS)('shell screen redraw', () => {
  it('a resize to 40 columns and back redraws the screen whole, with no garbage', async () => {
    const sh = await openShell(store(), makeTerm(80, 24));
    const t = sh.term;
    const long = 'x'.repeat(30) + '-' + 'y'.repeat(30);
    try {
      t.type(`from tarball:${tiny()}${KEYS.enter}`);
      await t.waitFor((r) => statusRow(r).startsWith('● tiny-working-container · 0 checkpoints'), 30_000);
      t.type(`echo ${long}${KEYS.enter}`);
      await t.waitFor((r) => r.includes(long) && /^● /.test(statusRow(r)), 30_000, 'the long line');
      t.type('abc');
      await t.waitFor((r) => r.includes('❯ abc'), 5000);

      t.resize(40, 20);
      let r = await t.waitFor((x) => statusRow(x).startsWith('● tiny-working-container · 0 ckpt'), 10_000, 'the redraw at 40 columns');
      // Each thing once: the status line, the prompt (with what was typed) right above it, each step.
      expect(count(r, (x) => x.startsWith('● '))).toBe(1);
      expect(count(r, (x) => x.startsWith('❯ '))).toBe(3);
      expect(r[r.indexOf(statusRow(r)) - 1]).toBe('❯ abc');
      expect(count(r, (x) => x === `❯ echo ${long}`.slice(0, 40))).toBe(1);
      // The long output line wrapped at the new width, whole.
      const at = r.indexOf(long.slice(0, 40));
      expect(at).toBeGreaterThan(0);
      expect(r[at + 1]).toBe(long.slice(40));
      expect(count(r, (x) => x.startsWith('✓ ok in'))).toBe(2);

      t.resize(80, 24);
      r = await t.waitFor((x) => statusRow(x).startsWith('● tiny-working-container · 0 checkpoints'), 10_000, 'the redraw at 80 columns');
      expect(count(r, (x) => x.startsWith('● '))).toBe(1);
      expect(count(r, (x) => x === long)).toBe(1);
      expect(count(r, (x) => x.startsWith('✓ ok in'))).toBe(2);
      expect(r[r.indexOf(statusRow(r)) - 1]).toBe('❯ abc');
      // Keys still reach the prompt.
      t.type('d');
      await t.waitFor((x) => x.includes('❯ abcd'), 5000, 'typing after the redraw');
    } finally {
      await sh.leave();
    }
  });

  it('NO_COLOR=1: no colour or style codes in what is drawn; without it, colours', async () => {
    const draw = async () => {
      const sh = await openShell(store(), makeTerm(80, 24));
      const t = sh.term;
      try {
        t.type(`frobnicate${KEYS.enter}`);
        await t.waitFor((r) => r.some((x) => x.startsWith('✗ ')), 10_000, 'a failed step');
        t.type(`from tarball:${tiny()}${KEYS.enter}`);
        await t.waitFor((r) => statusRow(r).startsWith('● tiny-working-container · '), 30_000);
        t.type(`touch /f${KEYS.enter}`);
        await t.waitFor((r) => r.some((x) => /^\s+\+\s+0 B\s+\/f$/.test(x)), 30_000, 'the change');
        t.type(`layers${KEYS.enter}`);
        await t.waitFor((r) => r.some((x) => /^\d+ layers?, /.test(x)), 30_000, 'the layers view');
        return t.raw();
      } finally {
        await sh.leave();
      }
    };
    process.env.NO_COLOR = '1';
    const plain = await draw();
    expect(plain).toContain('✗ ');
    expect(plain).not.toMatch(SGR);
    delete process.env.NO_COLOR;
    const coloured = await draw();
    expect(coloured).toMatch(COLOUR);
  });
});
