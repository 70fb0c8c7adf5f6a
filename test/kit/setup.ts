import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { smallRootfsTar, tinyRootfsTar } from './tiny.js';

/*
 * Set-up for every tier: gives the whole run one temporary directory, as TMPDIR for the tests and every process
 * they start, removed at the end, so the run leaves no file behind; a mount left under that directory fails the
 * run. The tiers past unit run the CLI: for them the project is compiled once (so the CLI under test is the
 * current source) and the shared base archives (test/kit/tiny.ts) are made, before their files start.
 */

/** The run's state, kept on globalThis: each project of the run may load this file as a module of its own. */
const run = ((globalThis as { cairnTestRun?: { built: boolean; users: number; dir?: string; hostTmp: string } }).cairnTestRun ??= { built: false, users: 0, hostTmp: '' });

/** Mount points at or below dir (the kernel's view, deepest first). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')))
    .sort()
    .reverse();
}

/** Removes the run's directory; as a normal user, what the tests' namespace created is removed inside it. */
function removeRunDir(dir: string): string[] {
  const left = mountsUnder(dir);
  for (const m of left) spawnSync('umount', ['-l', m]);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // Files owned by subordinate ids: only the user's namespace can remove them.
    spawnSync(path.resolve(__dirname, '../../bin/cairn'), ['unshare', 'rm', '-rf', dir], { stdio: 'ignore' });
  }
  return left;
}

/**
 * Builds once (for the tiers past unit: the unit tier imports the sources and runs no CLI), makes the run's
 * temporary directory, and returns the teardown that checks and removes it.
 */
export default function setup(project?: { name: string }): () => void {
  // (Called for each project of the run and once more for the root configuration, whose name is empty.)
  const cli = !!project?.name && project.name !== 'unit';
  if (cli && !run.built && !process.env.CAIRN_TEST_NO_BUILD) execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  if (cli) run.built = true;
  if (run.users++ === 0) {
    run.hostTmp = os.tmpdir();
    // Lower case only: buildah refuses paths with capitals where it derives names from them.
    run.dir = path.join(run.hostTmp, `cairn-test-run-${randomBytes(6).toString('hex')}`);
    mkdirSync(run.dir);
    // Like /tmp: other users the tests run commands as make their own temporary files here.
    chmodSync(run.dir, 0o1777);
    process.env.TMPDIR = run.dir;
  }
  if (cli) {
    tinyRootfsTar();
    smallRootfsTar();
  }
  return () => {
    if (--run.users > 0 || !run.dir) return;
    const left = removeRunDir(run.dir);
    process.env.TMPDIR = run.hostTmp;
    run.dir = undefined;
    if (left.length) throw new Error(`the tests left mounts behind (now unmounted):\n  ${left.join('\n  ')}`);
  };
}
