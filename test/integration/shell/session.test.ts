import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpText, parseArgs } from '../../../bin/args.js';
import { VERB_MODULES } from '../../../bin/verb-modules.js';
import { Session } from '../../../shell/session.js';
import type { StepRecord } from '../../../shell/types.js';
import { IN_PROCESS } from '../../kit/api.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

// A session's events over a real store (shell/session.ts): step-start, output, step-end in order, what a step
// changed, the status line, Ctrl-C of a running step, and what a rollback undoes.

let k: CliKit;
let tiny: string;
let s: Session;
beforeAll(async () => {
  k = cliKit('cairn-shell-session-');
  tiny = tinyRootfsTar();
  if (IN_PROCESS) s = await Session.open({ verbs: { verbs: VERB_MODULES, parse: parseArgs, help: helpText }, root: k.root, handoff: (fn) => fn(), historyFile: null, start: `tarball:${tiny}` });
});
afterAll(async () => {
  await s?.close();
  k?.cleanup();
});

/** The events of the session while fn runs, as [name, step number, detail]. */
async function recording(fn: () => Promise<unknown>): Promise<[string, number, string][]> {
  const seen: [string, number, string][] = [];
  const on = {
    'step-start': (r: StepRecord) => seen.push(['step-start', r.n, r.status]),
    output: (r: StepRecord, line: string) => seen.push(['output', r.n, line]),
    'step-end': (r: StepRecord) => seen.push(['step-end', r.n, r.status]),
  };
  for (const [e, f] of Object.entries(on)) s.on(e, f);
  try {
    await fn();
  } finally {
    for (const [e, f] of Object.entries(on)) s.off(e, f);
  }
  return seen;
}

describe.runIf(IN_PROCESS)('Session', () => {
  it('starts at the image it was opened with, and shows it in the status line', () => {
    expect(s.steps()[0]).toMatchObject({ n: 1, line: `from tarball:${tiny}`, verb: 'from', status: 'ok' });
    expect(s.status()).toMatchObject({ container: s.steps()[0].output[0], image: `tarball:${tiny}`, checkpoints: 0, pendingPaths: 0, busy: false });
  });

  it('emits step-start, the output lines, then step-end; the step\'s changes: a 1000-byte file added, one deleted', async () => {
    let rec: StepRecord | undefined;
    const seen = await recording(async () => {
      rec = await s.exec('echo one; head -c 1000 /bin/sh > /f1000; rm /etc/group; echo two');
    });
    const n = rec!.n;
    expect(seen).toEqual([['step-start', n, 'running'], ['output', n, 'one'], ['output', n, 'two'], ['step-end', n, 'ok']]);
    expect(rec).toMatchObject({ verb: 'run', status: 'ok', exitCode: 0, output: ['one', 'two'], omitted: 0 });
    expect(rec!.changes![0]).toEqual({ kind: 'A', path: '/f1000', size: 1000 });
    expect(rec!.changes).toContainEqual({ kind: 'D', path: '/etc/group', size: 0 });
    expect(s.status()).toMatchObject({ pendingBytes: expect.any(Number), busy: false });
    expect(s.status().pendingPaths).toBeGreaterThanOrEqual(2);
    expect(s.hasUncommittedWork()).toBe(true);
  });

  it('a verb\'s result line is its output; a failing command and a failure of cairn are failed steps, the shell stays', async () => {
    const cp = await s.exec('checkpoint first');
    expect(cp).toMatchObject({ verb: 'checkpoint', status: 'ok', output: [expect.stringMatching(/^sha256:/)] });
    expect(s.status()).toMatchObject({ checkpoints: 1, pendingPaths: 0 });
    expect(await s.exec("sh -c 'exit 4'")).toMatchObject({ status: 'failed', exitCode: 4, error: 'exit status 4' });
    expect(await s.exec('cpy /a /b')).toMatchObject({ status: 'failed', exitCode: 127, output: ['cairn run: command not found in the container: cpy'], error: expect.stringContaining('did you mean `copy`?') });
    expect(await s.exec('copy --bogus a b')).toMatchObject({ status: 'failed', error: expect.stringMatching(/^cairn copy: unknown flag --bogus\nUsage: copy /) });
    expect(await s.exec('echo "open')).toMatchObject({ status: 'failed', error: expect.stringContaining('unbalanced quotes') });
    expect((await s.exec('echo still here')).output).toEqual(['still here']);
  });

  it('keeps a bounded output of a step that prints 100,000 lines: the first and the last lines, and how many were left out', async () => {
    let lines = 0;
    const count = () => lines++;
    s.on('output', count);
    const rec = await s.exec('i=0; while [ $i -lt 100000 ]; do echo "line $i"; i=$((i+1)); done');
    s.off('output', count);
    expect(rec.status).toBe('ok');
    expect(lines).toBe(100_000);
    expect(rec.output).toHaveLength(1000);
    expect(rec.omitted).toBe(99_000);
    expect([rec.output[0], rec.output[199], rec.output[200], rec.output[999]]).toEqual(['line 0', 'line 199', 'line 99200', 'line 99999']);
  });

  it('a rollback marks the steps it undid; rollback N those after checkpoint N', async () => {
    const before = s.status().checkpoints;
    const a = await s.exec('touch /a');
    const b = await s.exec('checkpoint two');
    const c = await s.exec('touch /c');
    // Each rollback also says which steps it undid: they are on the screen already.
    expect((await s.exec('rollback')).output).toEqual([`undid step ${c.n}: save leaves it out`]);
    expect([a.undone, b.undone, c.undone]).toEqual([undefined, undefined, true]);
    // (steps of earlier tests still pending are undone too)
    expect((await s.exec(`rollback ${before}`)).output.join('\n')).toMatch(new RegExp(`^undid steps (\\d+, )*${a.n}, ${b.n}: save leaves them out$`));
    expect([a.undone, b.undone]).toEqual([true, true]);
    expect(s.status().checkpoints).toBe(before);
  });

  it('Ctrl-C (interrupt) ends the running step as interrupted, and the shell stays', async () => {
    // `exec sleep`: a SIGINT that lands while sh forks the child is caught by the child's copy of sh's handler and
    // lost at its exec (a race of every shell, which a second Ctrl-C settles); this test is about the session.
    const done = s.exec('echo ready; exec sleep 30');
    await new Promise<void>((resolve) => {
      const f = (_r: StepRecord, line: string) => {
        if (line !== 'ready') return;
        s.off('output', f);
        resolve();
      };
      s.on('output', f);
    });
    expect(s.status().busy).toBe(true);
    s.interrupt();
    const rec = await done;
    expect(rec).toMatchObject({ status: 'interrupted', exitCode: 130 });
    expect(rec.ms!).toBeLessThan(20_000);
    expect((await s.exec('echo after')).status).toBe('ok');
  });

  it('Ctrl-C typed while the step is still being set up stops it as it starts; a request no step took is dropped', async () => {
    const done = s.exec('sleep 30');
    await new Promise<void>((resolve) => s.once('step-start', () => resolve()));
    s.interrupt();
    const rec = await done;
    expect(rec).toMatchObject({ status: 'interrupted', exitCode: 130 });
    expect(rec.ms!).toBeLessThan(20_000);
    // Interrupted while a step that runs nothing is set up: the next step runs whole.
    const help = s.exec('help');
    s.interrupt();
    await help;
    expect(await s.exec('echo whole')).toMatchObject({ status: 'ok', output: ['whole'] });
  });

  it('layers, help, use, and Tab completion of paths in the container', async () => {
    const l = await s.exec('layers');
    expect(l.layers!.map((x) => x.kind)).toEqual(['base', 'checkpoint']);
    expect((await s.exec('help')).output.join('\n')).toMatch(/^ {2}checkpoint +Seal the pending changes/m);
    expect((await s.exec('help chekpoint')).error).toMatch(/no verb chekpoint: did you mean `checkpoint`\?/);
    expect(await s.complete('ls /et', 6)).toEqual({ start: 3, candidates: ['/etc/'] });
    expect((await s.complete('cat /etc/pa', 11)).candidates).toEqual(['/etc/passwd']);
    const name = s.status().container!;
    expect((await s.exec(`use ${name}`)).output).toEqual([`${name} (from tarball:${tiny})`]);
    expect((await s.exec('use nope')).status).toBe('failed');
    expect(s.status().container).toBe(name);
  });
});
