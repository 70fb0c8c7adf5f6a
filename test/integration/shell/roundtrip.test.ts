import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpText, parseArgs } from '../../../bin/args.js';
import { VERB_MODULES } from '../../../bin/verb-modules.js';
import { Session } from '../../../shell/session.js';
import { IN_PROCESS } from '../../kit/api.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { withEnv } from '../../kit/env.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

// save → replay: a session driven in-process (a failing step, a step a rollback undid), saved as FILE.cairn
// and as FILE.build.mjs, each replayed by the real binary; the three images have the same layers.

let k: CliKit;
let tiny: string;
beforeAll(() => {
  k = cliKit('cairn-shell-rt-');
  tiny = tinyRootfsTar();
});
afterAll(() => k?.cleanup());

const EPOCH = '1700000000';

/** The diff IDs of an image, as `cairn inspect` gives them. */
const diffIDs = (id: string): string[] => (JSON.parse(k.ok(['inspect', id])) as { config: { rootfs: { diff_ids: string[] } } }).config.rootfs.diff_ids;

describe.runIf(IN_PROCESS)('save and replay', () => {
  it('FILE.cairn and FILE.build.mjs replay to an image with the same layers as the session\'s', async () => {
    const dir = mkdtempSync(path.join(k.root, 'rt-'));
    const host = path.join(dir, 'app.conf');
    writeFileSync(host, 'listen 80\n');
    const s = await Session.open({ verbs: { verbs: VERB_MODULES, parse: parseArgs, help: helpText }, root: k.root, handoff: (fn) => fn(), historyFile: null });
    const lines = [
      `from tarball:${tiny}`,
      "run sh -c 'echo hello > /hello && mkdir -p /etc/app'",
      `copy --chmod 0640 ${host} /etc/app/`,
      'checkpoint hello and the config',
      "sh -c 'exit 2'",
      'touch /scratch-undone',
      'rollback',
      'config --env APP=1 --cmd \'["cat","/hello"]\'',
      'echo more > /more && rm /etc/group',
      'commit localhost/rt:session',
      `save ${path.join(dir, 'replay.cairn')}`,
      `save ${path.join(dir, 'replay.build.mjs')}`,
    ];
    const recs = [];
    try {
      await withEnv({ SOURCE_DATE_EPOCH: EPOCH }, async () => {
        for (const l of lines) recs.push(await s.exec(l));
      });
    } finally {
      await s.close();
    }
    expect(recs.map((r) => [r.verb, r.status, r.exitCode ?? null])).toEqual([
      ['from', 'ok', null], ['run', 'ok', 0], ['copy', 'ok', null], ['checkpoint', 'ok', null], ['run', 'failed', 2], ['run', 'ok', 0],
      ['rollback', 'ok', null], ['config', 'ok', null], ['run', 'ok', 0], ['commit', 'ok', null], ['save', 'ok', null], ['save', 'ok', null],
    ]);
    expect(recs.map((r) => !!r.undone)).toEqual([false, false, false, false, false, true, false, false, false, false, false, false]);
    expect(recs[10].output).toEqual([`saved 7 steps to ${path.join(dir, 'replay.cairn')}`]);
    const sessionImage = recs[9].output.at(-1)!;

    const cairnText = readFileSync(path.join(dir, 'replay.cairn'), 'utf8');
    expect(cairnText).not.toMatch(/exit 2|scratch-undone|rollback|save/);
    const viaShell = k.cairn(['shell', path.join(dir, 'replay.cairn')], { env: { SOURCE_DATE_EPOCH: EPOCH } });
    expect(viaShell.stderr).toBe('');
    expect(viaShell.status).toBe(0);
    const shellImage = viaShell.stdout.trim().split('\n').at(-1)!;

    const viaBuild = k.cairn(['build', path.join(dir, 'replay.build.mjs')], { env: { SOURCE_DATE_EPOCH: EPOCH } });
    expect(viaBuild.stderr).toBe('');
    expect(viaBuild.status).toBe(0);
    const buildImage = viaBuild.stdout.trim().split('\n').at(-1)!;

    const layers = diffIDs(sessionImage);
    expect(layers).toHaveLength(3);
    expect(diffIDs(shellImage)).toEqual(layers);
    expect(diffIDs(buildImage)).toEqual(layers);
    expect(viaShell.stdout).toContain('changed: ');
  });
});
