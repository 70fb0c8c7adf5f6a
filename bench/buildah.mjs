// buildah on its own private storage under the bench's temp dir: setup (overlay, else vfs), calls, teardown.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log } from './log.mjs';
import { sh, shq, timed } from './sh.mjs';
import { unmountUnder } from './mounts.mjs';

/** Writes storage.conf for driver under dir and returns the environment pointing buildah at it. */
function storageEnv(dir, driver) {
  const conf = path.join(dir, 'storage.conf');
  writeFileSync(conf, `[storage]\ndriver = "${driver}"\nrunroot = "${path.join(dir, 'run')}"\ngraphroot = "${path.join(dir, 'graph')}"\n`);
  return { ...process.env, CONTAINERS_STORAGE_CONF: conf };
}

/** Tries a container with a mounted root on the env's storage; true when it works. */
function probe(env) {
  try {
    const c = sh('buildah', ['from', 'scratch'], { env });
    sh('buildah', ['mount', c], { env });
    sh('buildah', ['rm', c], { env });
    return true;
  } catch (err) {
    log(`buildah overlay probe failed: ${err.message.split('\n')[0]}`);
    return false;
  }
}

/**
 * Sets buildah up in dir with the overlay driver, falling back to vfs (reported in `fallback`) when a
 * probe container cannot be mounted. Returns { env, driver, fallback, run, time, shell, teardown }.
 */
export function buildahTool(dir) {
  mkdirSync(dir, { recursive: true });
  let driver = 'overlay';
  let env = storageEnv(dir, driver);
  let fallback = false;
  if (!probe(env)) {
    unmountUnder(dir);
    rmSync(path.join(dir, 'graph'), { recursive: true, force: true });
    rmSync(path.join(dir, 'run'), { recursive: true, force: true });
    driver = 'vfs';
    fallback = true;
    env = storageEnv(dir, driver);
  }
  return {
    name: 'buildah',
    env,
    driver,
    fallback,
    /** Runs `buildah ARGS…` and returns its stdout. */
    run: (args) => sh('buildah', args, { env }),
    /** Runs `buildah ARGS…` once and returns { seconds, stdout }. */
    time: (args) => timed('buildah', args, { env }),
    /** The sh command line of `buildah ARGS…`, for hyperfine (which gets env). */
    shell: (args) => ['buildah', ...args].map(shq).join(' '),
    /** Removes every container and image, then unmounts what is left under dir. */
    teardown() {
      sh('buildah', ['rm', '--all'], { env, allowFail: true });
      sh('buildah', ['rmi', '--all', '--force'], { env, allowFail: true });
      unmountUnder(dir);
    },
  };
}
