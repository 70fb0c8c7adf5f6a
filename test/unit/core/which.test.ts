import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_PATH, DEFAULT_PATH_ENV, envWithPath, hostTool, HOST_TOOL_DIRS, which } from '../../../dsl/core/which.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-which-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('which and hostTool', () => {
  it('finds a host tool in the distribution directories, by absolute path', () => {
    const sh = which('sh');
    expect(sh).toMatch(/^\/(usr\/)?bin\/sh$/);
    expect(HOST_TOOL_DIRS.includes(path.dirname(sh!))).toBe(true);
    expect(hostTool('sh', 'dash')).toBe(sh);
  });

  it('answers undefined for a missing tool, and hostTool names the package to install', () => {
    expect(which('cairn-no-such-tool')).toBeUndefined();
    expect(() => hostTool('cairn-no-such-tool', 'the-package')).toThrow(expect.objectContaining({ message: 'cairn-no-such-tool is not installed', hint: 'install the-package' }));
  });

  it('searches given directories in order, and finds a tool installed after a miss', () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    for (const d of [a, b]) rmSync(d, { recursive: true, force: true });
    expect(which('tool', [a, b])).toBeUndefined();
    mkdirSync(b, { recursive: true });
    writeFileSync(path.join(b, 'tool'), '');
    expect(which('tool', [a, b])).toBe(path.join(b, 'tool'));
  });
});

describe('the default PATH', () => {
  it('is docker\'s and buildah\'s', () => {
    expect(DEFAULT_PATH).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(DEFAULT_PATH_ENV).toBe(`PATH=${DEFAULT_PATH}`);
  });

  it.each([
    ['no Env', undefined, [DEFAULT_PATH_ENV]],
    ['an empty Env', [], [DEFAULT_PATH_ENV]],
    ['Env without PATH', ['A=1'], [DEFAULT_PATH_ENV, 'A=1']],
    ['Env with its own PATH', ['A=1', 'PATH=/bin'], ['A=1', 'PATH=/bin']],
  ])('envWithPath: %s', (_n, env, want) => {
    expect(envWithPath(env)).toEqual(want);
  });
});
