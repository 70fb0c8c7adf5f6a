import { describe, expect, it } from 'vitest';
import { saveFormat, saveText } from '../../../shell/save.js';
import type { StepRecord } from '../../../shell/types.js';
import { VERBS } from './verbs.js';

/* save (shell/save.ts): the steps still in effect as shell lines or as a build script. */

let n = 0;
const step = (line: string, verb: string, more: Partial<StepRecord> = {}): StepRecord => ({ n: ++n, line, verb, status: 'ok', output: [], omitted: 0, ...more });

const SESSION: StepRecord[] = [
  step('from tarball:/old.tar', 'from'),
  step('run echo old', 'run'),
  // The steps start at the last `from` (the session hands save the current container's steps only).
  step('from --name web --pull never tarball:/img/tiny.tar', 'from'),
  step('help copy', 'help'),
  step('run --env A=1 -- sh -c "echo $A > /a"', 'run'),
  step('echo hi > /greeting && ls /', 'run'),
  step('apt-get install -y curl', 'run'),
  step('copy --chown 1000:1000 --with-deps /src/app "/opt/my app/"', 'copy'),
  step('false', 'run', { status: 'failed', exitCode: 1, error: 'exit status 1' }),
  step('cpy x y', 'run', { status: 'failed', exitCode: 127 }),
  step('touch /scratch', 'run', { undone: true }),
  step('rollback', 'rollback'),
  step('diff', 'diff'),
  step('layers', 'layers'),
  step('config --env PATH=/bin --cmd \'["sh","-c","cat /a"]\' --port 80 -l a=b', 'config'),
  step('checkpoint the app', 'checkpoint'),
  step('enter', 'enter'),
  step('run -t sh', 'run'),
  step('sleep 30', 'run', { status: 'interrupted', exitCode: 130 }),
  step('add /x /y', 'add'),
  step('checkpoint -m later', 'checkpoint', { undone: true }),
  step('commit --squash localhost/app:1', 'commit'),
  step('commit', 'commit'),
  step('export out.tar.gz', 'export'),
];

describe('save', () => {
  it('knows the formats by the file name', () => {
    expect(saveFormat('x.cairn')).toBe('cairn');
    expect(saveFormat('x.build.mjs')).toBe('build.mjs');
    expect(saveFormat('x.mjs')).toBe('build.mjs');
    expect(saveFormat('x.txt')).toBeUndefined();
  });

  it('.cairn: the lines as typed of the steps still in effect, from their `from` on (its name left out)', async () => {
    const r = await saveText(SESSION, 'cairn', VERBS);
    expect(r.text).toBe(
      [
        '#!/usr/bin/env -S cairn shell',
        '# Saved by `cairn shell`: replay with `cairn shell FILE.cairn`.',
        'from --pull never tarball:/img/tiny.tar',
        'run --env A=1 -- sh -c "echo $A > /a"',
        'echo hi > /greeting && ls /',
        'apt-get install -y curl',
        'copy --chown 1000:1000 --with-deps /src/app "/opt/my app/"',
        'config --env PATH=/bin --cmd \'["sh","-c","cat /a"]\' --port 80 -l a=b',
        'checkpoint the app',
        'add /x /y',
        'commit --squash localhost/app:1',
        'commit',
        '',
      ].join('\n'),
    );
    expect(r.steps).toBe(10);
    expect(r.skipped).toEqual(['enter', 'run -t sh']);
  });

  it('.build.mjs: the same steps through the public API', async () => {
    const r = await saveText(SESSION, 'build.mjs', VERBS);
    expect(r.text).toBe(
      [
        '// Saved by `cairn shell`: replay with `cairn build FILE.build.mjs`.',
        "import { from } from 'cairn';",
        '',
        '// from --name web --pull never tarball:/img/tiny.tar',
        'const c = await from("tarball:/img/tiny.tar", { pull: "never" });',
        '// run --env A=1 -- sh -c "echo $A > /a"',
        // $A is the container's: the command runs under the container's sh (which expands it in the same env).
        'await c.run(["/bin/sh", "-c", "sh -c \\"echo $A > /a\\""], { env: ["A=1"] });',
        '// echo hi > /greeting && ls /',
        'await c.run(["/bin/sh", "-c", "echo hi > /greeting && ls /"]);',
        '// apt-get install -y curl',
        'await c.run(["apt-get", "install", "-y", "curl"]);',
        '// copy --chown 1000:1000 --with-deps /src/app "/opt/my app/"',
        'await c.copy(["/src/app"], "/opt/my app/", { chown: "1000:1000", withDeps: true });',
        '// config --env PATH=/bin --cmd \'["sh","-c","cat /a"]\' --port 80 -l a=b',
        'await c.config({ env: ["PATH=/bin"], cmd: "[\\"sh\\",\\"-c\\",\\"cat /a\\"]", labels: ["a=b"], ports: ["80"] });',
        '// checkpoint the app',
        'await c.checkpoint("the app");',
        '// add /x /y',
        'await c.add(["/x"], "/y");',
        '// commit --squash localhost/app:1',
        'console.log((await c.commit("localhost/app:1", { squash: true })).id);',
        '// commit',
        'console.log((await c.commit()).id);',
        '',
      ].join('\n'),
    );
  });

  it('commit --rm removes the container in the script too', async () => {
    const r = await saveText([step('from scratch', 'from'), step('commit --rm x', 'commit')], 'build.mjs', VERBS);
    expect(r.text).toContain('console.log((await c.commit("x")).id);\nawait c.remove();\n');
  });

  it('a container continued from an earlier session starts from its base image', async () => {
    const recs = [step('use web', 'use'), step('run touch /x', 'run')];
    expect((await saveText(recs, 'cairn', VERBS, { base: 'localhost/base' })).text).toMatch(/\nfrom localhost\/base\nrun touch \/x\n$/);
    expect((await saveText(recs, 'build.mjs', VERBS, { base: 'localhost/base' })).text).toContain('const c = await from("localhost/base");\n// run touch /x\nawait c.run(["touch", "/x"]);\n');
    await expect(saveText(recs, 'cairn', VERBS)).rejects.toThrow(/nothing to save: no `from`/);
  });
});
