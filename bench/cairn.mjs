// cairn's CLI (the compiled dist/bin/cairn.js) on a private --root under the bench's temp dir.
import { copyFileSync, cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { log } from './log.mjs';
import { sh, shq, timed } from './sh.mjs';
import { unmountUnder } from './mounts.mjs';

/** Returns dist/bin/cairn.js of the repo, compiling it with `npx tsc -p .` when it is missing. */
export function cairnBin(repo) {
  const bin = path.join(repo, 'dist', 'bin', 'cairn.js');
  if (!existsSync(bin)) {
    log('cairn: dist/bin/cairn.js missing, compiling (npx tsc -p .)…');
    sh('npx', ['tsc', '-p', repo]);
  }
  return bin;
}

/**
 * Copies the repo's compiled dist/ (with package.json, and node_modules linked) to dir and returns the
 * copy's cairn.js, so a rebuild of the working tree during the bench cannot change or break the cairn it measures.
 */
export function snapshotCairn(repo, dir) {
  const src = cairnBin(repo);
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(repo, 'dist'), path.join(dir, 'dist'), { recursive: true });
  copyFileSync(path.join(repo, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
  const bin = path.join(dir, path.relative(repo, src));
  sh(process.execPath, [bin, '--help']);
  return bin;
}

/** A cairn CLI running bin (a dist/bin/cairn.js) with root as its store: { root, bin, run, time, shell, argv, teardown }. */
export function cairnTool(bin, root) {
  const env = { ...process.env };
  delete env.CAIRN_ROOT;
  delete env.STORAGE_DRIVER;
  const argv = (args) => [process.execPath, bin, '--root', root, ...args];
  return {
    name: 'cairn',
    root,
    bin,
    env,
    argv,
    /** Runs `cairn --root ROOT ARGS…` and returns its stdout. */
    run: (args) => sh(process.execPath, argv(args).slice(1), { env }),
    /** Runs `cairn --root ROOT ARGS…` once and returns { seconds, stdout }. */
    time: (args) => timed(process.execPath, argv(args).slice(1), { env }),
    /** The sh command line of `cairn --root ROOT ARGS…`, for hyperfine. */
    shell: (args) => argv(args).map(shq).join(' '),
    /** Removes every container (unmounting them) and unmounts what is left under root. */
    teardown() {
      sh(process.execPath, argv(['umount', '--all']).slice(1), { env, allowFail: true });
      sh(process.execPath, argv(['rm', '--all']).slice(1), { env, allowFail: true });
      unmountUnder(root);
    },
  };
}
