import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isCairnError } from '../../../dsl/core/errors.js';
import { runCommand, runTool } from '../../../dsl/core/spawn.js';

// A PATH of searchable directories only: one this user cannot search (root's own, kept by runuser) makes a
// missing command EACCES instead of ENOENT.
let savedPath: string | undefined;
beforeEach(() => {
  savedPath = process.env.PATH;
  process.env.PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
});
afterEach(() => {
  process.env.PATH = savedPath;
});

describe('runCommand', () => {
  it('collects stdout and stderr, passes stdin, and resolves with any exit code', async () => {
    const r = await runCommand('sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'in\n' });
    expect(r).toEqual({ code: 3, stdout: Buffer.from('in\n'), stderr: 'err\n' });
  });

  it('runs in cwd', async () => {
    expect((await runCommand('pwd', [], { cwd: '/' })).stdout.toString()).toBe('/\n');
  });

  it('a killed command gives 128+N', async () => {
    expect((await runCommand('sh', ['-c', 'kill -TERM $$'])).code).toBe(143);
  });

  it('rejects with the spawn error (ENOENT) when the command is not installed', async () => {
    await expect(runCommand('cairn-no-such-tool', [])).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('runTool', () => {
  it('resolves to stdout on success', async () => {
    expect(await runTool('sh', ['-c', 'echo ok'])).toBe('ok\n');
  });

  it('fails with one CairnError line: what failed and the last stderr line', async () => {
    const err = await runTool('sh', ['-c', 'echo first >&2; echo last >&2; exit 1'], { what: 'doing it', hint: 'fix it' }).catch((e: unknown) => e);
    expect(isCairnError(err)).toBe(true);
    expect(err).toMatchObject({ message: 'doing it failed: last', hint: 'fix it' });
  });

  it('a missing tool says what to install', async () => {
    const err = await runTool('cairn-no-such-tool', []).catch((e: unknown) => e);
    expect(err).toMatchObject({ message: expect.stringMatching(/^cairn-no-such-tool: .*ENOENT/), hint: 'install cairn-no-such-tool' });
  });
});
