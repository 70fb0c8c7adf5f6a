import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';
import { inInitUserNs } from '../../../dsl/core/userns.js';

/*
 * A normal user's verb joins the namespace the user's pause process keeps. The pause process may end while a
 * verb is joining it (killed, or the user's session closing): the verb must still run, in the namespace it was
 * joining or in a new one, never fail on the way in. The crash harness ends the pause process at the two moments
 * of the `cairn` wrapper's join (before and after it takes hold of the namespace).
 */
describe.runIf(process.getuid?.() !== 0 && inInitUserNs())('the pause process ending while a verb joins it', () => {
  let k: CliKit;
  let rt: string;
  let env: NodeJS.ProcessEnv;
  let pauseFile: string;
  beforeAll(() => {
    k = cliKit();
    rt = mkdtempSync(path.join(os.tmpdir(), 'cairn-rt-'));
    env = { XDG_RUNTIME_DIR: rt };
    pauseFile = path.join(rt, `cairn-${process.getuid!()}`, 'pause.pid');
  });
  afterAll(() => {
    if (existsSync(pauseFile)) {
      try {
        process.kill(Number(readFileSync(pauseFile, 'utf8').split(' ')[0]));
      } catch {
        // Already gone.
      }
    }
    k.cleanup();
    rmSync(rt, { recursive: true, force: true });
  });
  const pausePid = (): string => readFileSync(pauseFile, 'utf8').split(' ')[0];

  it.each(['before-hold', 'after-hold'])('%s: the verb runs, and the next verb gets a new pause process', (moment) => {
    k.ok(['images'], { env });
    const first = pausePid();
    const r = k.cairn(['from', '--name', `race-${moment}`, `tarball:${tinyRootfsTar()}`], { env: { ...env, CAIRN_CRASH_AT: `wrapper.pause.dies-${moment}` } });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe(`race-${moment}\n`);
    expect(existsSync(`/proc/${first}/ns/mnt`)).toBe(false);
    expect(k.ok(['containers', '--format', '{{.ContainerName}}'], { env }).split('\n')).toContain(`race-${moment}`);
    expect(pausePid()).not.toBe(first);
    k.ok(['rm', `race-${moment}`], { env });
  });
});
