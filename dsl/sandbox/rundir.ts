import { chmodSync, closeSync, constants as fsc, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../core/atomic.js';
import { CairnError } from '../core/errors.js';
import { isMissing } from '../core/fsutil.js';

/*
 * The rootless runtime dir holds the pause process's files (pause.pid, pause.lock, pause.err). Without
 * XDG_RUNTIME_DIR (runuser, su, cron) it is /tmp/cairn-UID, a name any local user can take first, filled
 * with symlinks that would make cairn truncate or overwrite the victim's files. So the directory is used only
 * when lstat shows a real directory, owned by this user, with no access for anyone else; and every file in it
 * is opened without following a symlink (O_NOFOLLOW), new files with O_EXCL.
 */

/** The directory holding the pause process's files for this user (not checked: privateDir does that). */
export function runtimeDir(uid = process.getuid!()): string {
  const x = process.env.XDG_RUNTIME_DIR;
  let own = false;
  // Only a runtime dir of our own: one inherited from another user (su, runuser) is not ours to use (as bin/cairn).
  try {
    const st = x ? statSync(x) : undefined;
    own = !!st && st.isDirectory() && st.uid === uid;
  } catch (err) {
    // Missing, or out of this user's reach (another user's, after su): not ours to use.
    if (!isMissing(err) && (err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
  }
  return path.join(own ? x! : '/tmp', `cairn-${uid}`);
}

/** What is wrong with dir as a private directory of uid, or undefined when it is one. */
export function privateDirProblem(dir: string, uid = process.geteuid!()): string | undefined {
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isDirectory()) return 'it is not a directory';
  if (st.uid !== uid) return `it is owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o777) !== 0o700) return `its mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}, not 0700`;
  return undefined;
}

/**
 * Makes dir (mode 0700) when it does not exist, then checks it with lstat: a directory, not a symlink, owned by
 * this user, mode 0700. Anything else is refused with one clear error; returns dir.
 */
export function privateDir(dir: string): string {
  try {
    mkdirSync(dir, { mode: 0o700 });
    // mkdir's mode is masked by the umask; the directory is ours, so set it exactly.
    chmodSync(dir, 0o700);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new CairnError(`cannot make cairn's runtime directory ${dir}: ${(err as Error).message}`, { hint: 'set XDG_RUNTIME_DIR to a directory of yours' });
    }
  }
  const why = privateDirProblem(dir);
  if (why) {
    throw new CairnError(`${dir} is not a private directory of yours: ${why}`, {
      hint: 'another user may have made it to take over your files: remove it (or set XDG_RUNTIME_DIR to a directory of yours, mode 0700)',
    });
  }
  return dir;
}

/** Reads a small file in a private dir without following a symlink; undefined when it is missing or not a regular file. */
export function readPrivate(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch (err) {
    // ELOOP: a symlink, never followed here (and never ours).
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ELOOP') return undefined;
    throw err;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Opens (creating, mode 0600) a file in a private dir without following a symlink; returns the descriptor. */
export function openPrivate(file: string, flags: number): number {
  const fd = openSync(file, flags | fsc.O_CREAT | fsc.O_NOFOLLOW | fsc.O_NONBLOCK, 0o600);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new CairnError(`${file} is not a regular file`, { hint: `remove it` });
  }
  return fd;
}

/** Replaces file in a private dir with text (mode 0600): a new file made with O_EXCL, then renamed over it. */
export function writePrivate(file: string, text: string): void {
  writeFileAtomicSync(file, text, { mode: 0o600 });
}
