import { describe, expect, it } from 'vitest';
import { IN_PROCESS } from '../../kit/api.js';
import { openShell, screenFixtures } from '../../kit/shell-session.js';
import { ctrl, KEYS, makeTerm, statusRow, promptRow } from '../../kit/term.js';

// A step that floods the screen: the prompt still echoes keys, the live region stays a few rows, and 100,000
// lines end in a finished step that shows what it kept and how many lines it left out.

// A store per test: container names (tiny-working-container) do not depend on the tests before.
const { store, tiny } = screenFixtures();


describe.runIf(IN_PROCESS)('shell screen under a flood of output', () => {
  it('keys echo while a step streams lines without end; the live region keeps its last 10 lines', async () => {
    const sh = await openShell(store(), makeTerm(80, 24));
    const t = sh.term;
    try {
      t.type(`from tarball:${tiny()}${KEYS.enter}`);
      await t.waitFor((r) => statusRow(r).startsWith('● tiny-working-container · '), 30_000);
      t.type(`i=0; while :; do echo stream-$i; i=$((i+1)); done${KEYS.enter}`);
      await t.waitFor((r) => r.filter((x) => /^stream-\d+$/.test(x)).length >= 10, 10_000, 'the stream');
      const before = t.frames();
      const lags: number[] = [];
      for (const ch of 'hello') {
        const t0 = performance.now();
        t.type(ch);
        await t.waitFor((r) => promptRow(r).endsWith(ch) && promptRow(r).startsWith('❯ h'), 5000, `the echo of ${ch}`);
        lags.push(performance.now() - t0);
      }
      const r = await t.waitFor((x) => promptRow(x) === '❯ hello', 5000);
      // The stream goes on meanwhile: frames keep coming, and the live region holds at most 10 of its lines.
      expect(t.frames()).toBeGreaterThan(before);
      expect(r.filter((x) => /^stream-\d+$/.test(x)).length).toBeLessThanOrEqual(10);
      expect(r.some((x) => /^❯ i=0; while :; do echo stream-\$i; .*\(\d+ lines\)$/.test(x))).toBe(true);
      if (process.env.UI_DUMP) console.log('echo lags', lags.map(Math.round));
      // Generous for a loaded machine: the bench holds it to 50 ms.
      expect(Math.max(...lags)).toBeLessThan(1000);
      t.type(ctrl('c'));
      const end = await t.waitFor((x) => x.some((l) => /^✗ interrupted after /.test(l)) && statusRow(x).startsWith('● '), 15_000, 'the stream stopped');
      // Its kept lines scrolled by above; the mark of the lines left out among them.
      expect(t.raw()).toMatch(/… \d+ lines not shown/);
      expect(promptRow(end)).toBe('❯ hello');
    } finally {
      await sh.leave();
    }
  });

  it('100,000 lines: the step ends, its kept lines and the count left out are shown', async () => {
    const sh = await openShell(store(), makeTerm(80, 24));
    const t = sh.term;
    try {
      t.type(`from tarball:${tiny()}${KEYS.enter}`);
      await t.waitFor((r) => statusRow(r).startsWith('● tiny-working-container · '), 30_000);
      const heap = process.memoryUsage().heapUsed;
      t.type(`i=0; while [ $i -lt 100000 ]; do echo line-$i; i=$((i+1)); done${KEYS.enter}`);
      const r = await t.waitFor((x) => x.some((l) => /^✓ ok in /.test(l) && x.includes('line-99999')) && statusRow(x).startsWith('● '), 60_000, 'the step to end');
      const i = r.indexOf('line-99999');
      expect(r[i + 1]).toMatch(/^✓ ok in /);
      const rec = sh.session.steps().at(-1)!;
      expect(rec.omitted + rec.output.length).toBe(100_000);
      // Kept output is bounded; the screen's memory does not grow with the lines.
      expect(rec.output.length).toBeLessThanOrEqual(1000);
      expect(process.memoryUsage().heapUsed - heap).toBeLessThan(200 << 20);
      expect(t.raw()).toContain(`… ${rec.omitted} lines not shown`);
    } finally {
      await sh.leave();
    }
  });
});
