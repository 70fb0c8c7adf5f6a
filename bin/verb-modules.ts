import type { VerbModule } from './verb.js';

/**
 * Every verb but `shell` (and alias: unmount) and how to load its module; a verb loads only when it is run.
 * The shell runs these (bin/verbs/shell.ts hands them to shell/); verb-table.ts adds the shell itself.
 */
export const VERB_MODULES: Record<string, () => Promise<VerbModule>> = {
  from: () => import('./verbs/from.js'),
  mount: () => import('./verbs/mount.js'),
  umount: () => import('./verbs/umount.js'),
  unmount: () => import('./verbs/umount.js'),
  run: () => import('./verbs/run.js'),
  copy: () => import('./verbs/copy.js'),
  add: () => import('./verbs/add.js'),
  config: () => import('./verbs/config.js'),
  checkpoint: () => import('./verbs/checkpoint.js'),
  rollback: () => import('./verbs/rollback.js'),
  diff: () => import('./verbs/diff.js'),
  commit: () => import('./verbs/commit.js'),
  push: () => import('./verbs/push.js'),
  export: () => import('./verbs/export.js'),
  pull: () => import('./verbs/pull.js'),
  images: () => import('./verbs/images.js'),
  containers: () => import('./verbs/containers.js'),
  inspect: () => import('./verbs/inspect.js'),
  info: () => import('./verbs/info.js'),
  tag: () => import('./verbs/tag.js'),
  rm: () => import('./verbs/rm.js'),
  rename: () => import('./verbs/rename.js'),
  rmi: () => import('./verbs/rmi.js'),
  unshare: () => import('./verbs/unshare.js'),
  build: () => import('./verbs/build.js'),
  'copy-image': () => import('./verbs/copy-image.js'),
  sync: () => import('./verbs/sync.js'),
  login: () => import('./verbs/login.js'),
  logout: () => import('./verbs/logout.js'),
  gc: () => import('./verbs/gc.js'),
  check: () => import('./verbs/check.js'),
  'install-alias': () => import('./verbs/install-alias.js'),
  exec: () => import('./verbs/exec.js'),
  key: () => import('./verbs/key.js'),
  verify: () => import('./verbs/verify.js'),
  fetch: () => import('./verbs/fetch.js'),
};
