import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { inInitUserNs } from '../../../dsl/core/userns.js';

/*
 * A normal user's verbs keep their namespace's pause process in the runtime dir. A runtime dir that is not a
 * private directory of the user's (another user made it first, full of symlinks) stops every verb with one
 * line and status 125, before anything in it is touched. (Root uses no runtime dir; the checks themselves
 * are tested in test/fast/sandbox/rundir.test.ts.)
 */
describe.runIf(process.getuid?.() !== 0 && inInitUserNs())('a runtime dir that is not private', () => {
  let k: CliKit;
  let base: string;
  let victim: string;
  const uid = process.getuid?.();
  beforeAll(() => {
    k = cliKit();
    base = mkdtempSync(path.join(os.tmpdir(), 'cairn-rt-'));
    victim = path.join(base, 'victim');
    writeFileSync(victim, 'precious\n');
  });
  afterAll(() => {
    k.cleanup();
    rmSync(base, { recursive: true, force: true });
  });

  it.each([
    ['open to everyone, holding symlinks to the victim\'s files', (d: string) => {
      mkdirSync(d);
      chmodSync(d, 0o777);
      for (const f of ['pause.err', 'pause.lock', 'pause.pid']) symlinkSync(victim, path.join(d, f));
    }, 'its mode is 0777, not 0700'],
    ['a symlink', (d: string) => {
      mkdirSync(d + '.real', { mode: 0o700 });
      symlinkSync(d + '.real', d);
    }, 'it is a symbolic link'],
  ])('%s: every verb stops with one line, 125', (_name, make, why) => {
    const xdg = mkdtempSync(path.join(base, 'xdg-'));
    const d = path.join(xdg, `cairn-${uid}`);
    make(d);
    const r = k.cairn(['images'], { env: { XDG_RUNTIME_DIR: xdg } });
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`cairn: ${d} is not a private directory of yours: ${why}\n`);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });
});
