import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { closeSync, constants as fsc, openSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CairnError } from '../core/errors.js';
import { warn } from '../core/events.js';
import { isMissing } from '../core/fsutil.js';
import { which } from '../core/which.js';
import { openPrivate, privateDir, readPrivate, runtimeDir, writePrivate } from './rundir.js';

export { runtimeDir } from './rundir.js';

/** A subordinate id range from /etc/subuid or /etc/subgid. */
export interface IdRange {
  start: number;
  count: number;
}

/** The first range /etc/subuid (or subgid) gives the user, by name or by number. */
export function subordinateRange(file: string, user: string, id: number): IdRange | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new CairnError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: `make ${file} readable (it is world-readable on a normal system)`, cause: err });
  }
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if ((who === user || who === String(id)) && Number(count) > 0) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** The unshare flags that map root to this user and, when it has them, its subordinate ranges to 1…N. */
export function mappingFlags(): { flags: string[]; full: boolean } {
  const uid = process.getuid!();
  const gid = process.getgid!();
  const user = os.userInfo().username;
  const su = subordinateRange('/etc/subuid', user, uid);
  const sg = subordinateRange('/etc/subgid', user, uid);
  if (su && sg && which('newuidmap') !== undefined && which('newgidmap') !== undefined) {
    return { flags: ['--map-root-user', `--map-users=${su.start},1,${su.count}`, `--map-groups=${sg.start},1,${sg.count}`], full: true };
  }
  void gid;
  return { flags: ['--map-root-user'], full: false };
}

/** The pause process of this user when it is alive and still the one recorded (its mount namespace, which a zombie has no more): its PID. */
export function livePause(dir = runtimeDir()): number | undefined {
  try {
    const [pid, ns] = (readPrivate(path.join(dir, 'pause.pid')) ?? '').trim().split(' ');
    if (/^\d+$/.test(pid) && readlinkSync(`/proc/${pid}/ns/mnt`) === ns) return Number(pid);
  } catch (err) {
    // Gone (or a zombie, whose namespaces are gone), or the PID now another user's process: none alive.
    const code = (err as NodeJS.ErrnoException).code;
    if (!isMissing(err) && code !== 'EACCES' && code !== 'EPERM') throw err;
  }
  return undefined;
}

/**
 * Returns the PID of the process that keeps this user's namespace (user + mount) alive, starting it when
 * there is none. Every rootless verb joins it, so mounts made by one verb are seen by the next, and host
 * tools reach them through /proc/PID/root. Serialized by a lock so that parallel first calls make one.
 * Every file of the runtime dir is opened by this process without following symlinks (rundir.ts); the shell
 * gets the lock (fd 9) and the error log (fd 8) as open descriptors.
 */
export function ensurePause(): number {
  const dir = privateDir(runtimeDir());
  const live = livePause(dir);
  if (live) return live;
  // Runs under the lock on fd 9 (held by this process until it wrote pause.pid): $0 is the runtime dir, the rest
  // the command that becomes the pause process. Prints "PID MNTNS" of a new pause process, nothing when one is up.
  const script = `
    d=$0
    flock 9 || exit 1
    if [ ! -L "$d/pause.pid" ] && read -r pid ns 2>/dev/null < "$d/pause.pid" && [ "$(readlink /proc/$pid/ns/mnt 2>/dev/null)" = "$ns" ]; then exit 0; fi
    "$@" 9>&- </dev/null >/dev/null 2>&8 8>&- &
    pid=$!
    exec 8>&-
    self=$(readlink /proc/self/ns/user)
    i=0
    while [ $i -lt 1000 ]; do
      ns=$(readlink /proc/$pid/ns/user 2>/dev/null) || exit 1
      if [ "$ns" != "$self" ] && [ -n "$(cat /proc/$pid/uid_map)" ] && [ "$(cat /proc/$pid/comm)" = sleep ]; then
        echo "$pid $(readlink /proc/$pid/ns/mnt)" && exit 0
      fi
      i=$((i+1)); sleep 0.005
    done
    kill $pid; echo "the namespace did not come up" >&2; exit 1`;
  const { flags, full } = mappingFlags();
  const lock = openPrivate(path.join(dir, 'pause.lock'), fsc.O_RDWR);
  let r;
  try {
    const err = openPrivate(path.join(dir, 'pause.err'), fsc.O_WRONLY | fsc.O_TRUNC);
    try {
      r = spawnSync('sh', ['-c', script, dir, 'setsid', 'unshare', '--user', ...flags, '--mount', '--propagation', 'slave', 'sleep', 'infinity'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', err, lock],
      });
    } finally {
      closeSync(err);
    }
    const up = (r.stdout || '').trim();
    if (r.status === 0 && /^\d+ \S+$/.test(up)) writePrivate(path.join(dir, 'pause.pid'), up + '\n');
  } finally {
    closeSync(lock);
  }
  const pid = livePause(dir);
  if (r.status !== 0 || !pid) {
    const why = `${r.stderr || ''}\n${readPrivate(path.join(dir, 'pause.err')) ?? ''}`.trim().split('\n').pop() ?? '';
    if (/Operation not permitted|Permission denied|No space left/.test(why)) {
      throw new CairnError(`cannot create a user namespace: ${why}`, {
        hint: 'this kernel does not allow unprivileged user namespaces: enable them (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone) or run cairn as root',
      });
    }
    throw new CairnError(`cannot start cairn's user namespace: ${why || 'unknown error'}`, { hint: 'check that util-linux unshare and uidmap (newuidmap) are installed' });
  }
  if (!full) {
    warn(`user ${os.userInfo().username} has no subordinate id ranges: files in images keep only root and your own owner; add ranges to /etc/subuid and /etc/subgid (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${os.userInfo().username})`);
  }
  return pid;
}

/** The user and mount namespaces of pause process pid, opened; undefined when it is gone. */
function holdNamespaces(pid: number): [number, number] | undefined {
  let user: number | undefined;
  try {
    user = openSync(`/proc/${pid}/ns/user`, 'r');
    return [user, openSync(`/proc/${pid}/ns/mnt`, 'r')];
  } catch (err) {
    if (user !== undefined) closeSync(user);
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Re-runs this command inside the user's namespace (joining its pause process) and resolves to its status. */
export function reexecInNamespace(argv: string[]): Promise<number> {
  // The namespaces are held open and joined by those fds (8 and 9 in nsenter, as the `cairn` wrapper does): a
  // pause process that ends in between leaves them to this verb; one already gone is started again.
  let pid = ensurePause();
  let fds = holdNamespaces(pid);
  if (!fds) fds = holdNamespaces((pid = ensurePause()));
  if (!fds) {
    process.stderr.write('cairn: your cairn namespace ended as this command was joining it\n  hint: run the command again\n');
    return Promise.resolve(125);
  }
  const env = { ...process.env, CAIRN_USERNS: String(pid), CAIRN_ROOTLESS_UID: String(process.getuid!()), CAIRN_NS_FDS: '8,9' };
  const stdio: StdioOptions = ['inherit', 'inherit', 'inherit', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', fds[0], fds[1]];
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn('nsenter', ['--user=/proc/self/fd/8', '--mount=/proc/self/fd/9', '--preserve-credentials', `--wd=${process.cwd()}`, process.execPath, ...argv], { stdio, env });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;
  for (const sig of sigs) process.on(sig, forward);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`cairn: cannot enter the user namespace: ${e.message}\n`);
      resolve(125);
    });
    child.on('close', (code, sig) => {
      for (const s of sigs) process.removeListener(s, forward);
      // The verb died of a signal (it delivers one it held for a run step to itself): die of it too.
      if (sig && (sigs as readonly string[]).includes(sig)) process.kill(process.pid, sig);
      resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 0));
    });
  });
}

/** A path inside the user's namespace as processes outside it reach it: through the pause process's root. */
export function hostVisiblePath(p: string): string {
  const pid = process.env.CAIRN_USERNS;
  return pid && /^\d+$/.test(pid) ? `/proc/${pid}/root${p}` : p;
}
