import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAIRN } from '../kit/cli.js';
import { tinyRootfsTar } from '../kit/tiny.js';

const USER = 'cairnnosub';

/** Makes (once) a normal user with no subordinate id ranges. */
function userWithoutSubids(): void {
  if (spawnSync('id', [USER]).status !== 0) execFileSync('useradd', ['-m', USER]);
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    const kept = readFileSync(f, 'utf8').split('\n').filter((l) => !l.startsWith(`${USER}:`)).join('\n');
    writeFileSync(f, kept);
  }
}

/** Ends the user's namespace (every process of this test's own user: its pause process) and waits until it is gone. */
function endNamespace(): void {
  spawnSync('sh', ['-c', `pkill -u ${USER}; while pgrep -u ${USER} >/dev/null; do sleep 0.05; done`]);
}

function asUser(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('runuser', ['-u', USER, '--', CAIRN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: `/home/${USER}` }, cwd: '/' });
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

// System tier: it makes a user and edits /etc/subuid, so it runs only with CAIRN_SYSTEM_TESTS=1 (CI does).
describe.runIf(!!process.env.CAIRN_SYSTEM_TESTS && process.getuid?.() === 0 && !process.env.CAIRN_USERNS)('a user with no subordinate ids', () => {
  it('works with one mapped id, warns once, and says what to do when an owner cannot be kept', () => {
    userWithoutSubids();
    endNamespace();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-nosub-'));
    chmodSync(dir, 0o755);
    const tar = path.join(dir, 'tiny.tar');
    copyFileSync(tinyRootfsTar(), tar);
    chmodSync(tar, 0o644);
    const name = `nosub-${process.pid}`;
    const from = asUser(['from', '--name', name, `tarball:${tar}`]);
    expect(from.stderr).toMatch(/no subordinate id ranges.*\/etc\/subuid/);
    expect(from.stdout.trim()).toBe(name);
    expect(asUser(['run', name, 'sh', '-c', 'echo ok > /f && cat /f']).stdout).toBe('ok\n');
    const src = path.join(dir, 'file');
    writeFileSync(src, 'x');
    chmodSync(src, 0o644);
    const cp = asUser(['copy', '--chown', '1000:1000', name, src, '/file']);
    expect(cp.status).toBe(125);
    expect(cp.stderr.split('\n')[0]).toMatch(/not mapped in your user namespace/);
    expect(cp.stderr).toMatch(/\/etc\/subuid/);
    expect(asUser(['rm', name]).status).toBe(0);
    endNamespace();
  });
});
