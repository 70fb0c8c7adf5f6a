// cairn's CLI (the `cairn` command: bin/cairn, which runs the bundled dist/cli/cairn.js) on a private --root.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { log } from './log.mjs';
import { sh, shq, timed } from './sh.mjs';
import { unmountUnder } from './mounts.mjs';

/** Returns the repo's bin/cairn, building dist/ (`npm run build`) when the bundled CLI is missing. */
export function cairnBin(repo) {
  if (!existsSync(path.join(repo, 'dist', 'cli', 'cairn.js'))) {
    log('cairn: dist/cli/cairn.js missing, building (npm run build)…');
    sh('npm', ['run', '--silent', 'build'], { cwd: repo });
  }
  return path.join(repo, 'bin', 'cairn');
}

/**
 * Copies the repo's compiled dist/ (with package.json, and node_modules linked) to dir and returns the
 * copy's cairn.js, so a rebuild of the working tree during the bench cannot change or break the cairn it measures.
 */
export function snapshotCairn(repo, dir) {
  const src = cairnBin(repo);
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(repo, 'dist'), path.join(dir, 'dist'), { recursive: true });
  mkdirSync(path.join(dir, 'bin'));
  copyFileSync(src, path.join(dir, 'bin', 'cairn'));
  chmodSync(path.join(dir, 'bin', 'cairn'), 0o755);
  copyFileSync(path.join(repo, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  const bin = path.join(dir, 'bin', 'cairn');
  sh(bin, ['--help']);
  return bin;
}

/** A cairn CLI running bin (a `cairn` command) with root as its store: { root, bin, run, time, shell, argv, teardown }. */
export function cairnTool(bin, root) {
  const env = { ...process.env };
  delete env.CAIRN_ROOT;
  delete env.STORAGE_DRIVER;
  const argv = (args) => [bin, '--root', root, ...args];
  return {
    name: 'cairn',
    root,
    bin,
    env,
    argv,
    /** Runs `cairn --root ROOT ARGS…` and returns its stdout. */
    run: (args) => sh(bin, argv(args).slice(1), { env }),
    /** Runs `cairn --root ROOT ARGS…` once and returns { seconds, stdout }. */
    time: (args) => timed(bin, argv(args).slice(1), { env }),
    /** The sh command line of `cairn --root ROOT ARGS…`, for hyperfine. */
    shell: (args) => argv(args).map(shq).join(' '),
    /** Removes every container (unmounting them) and unmounts what is left under root. */
    teardown() {
      sh(bin, argv(['umount', '--all']).slice(1), { env, allowFail: true });
      sh(bin, argv(['rm', '--all']).slice(1), { env, allowFail: true });
      unmountUnder(root);
    },
  };
}
