import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CairnError } from '../errors.js';
import { warn } from '../events.js';

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
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [who, start, count] = line.trim().split(':');
    if ((who === user || who === String(id)) && Number(count) > 0) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** The directory holding the pause process's pid file for this user. */
export function runtimeDir(uid = process.getuid!()): string {
  const x = process.env.XDG_RUNTIME_DIR;
  // Only a runtime dir of our own: one inherited from another user (su, runuser) is not ours to use.
  const own = x && existsSync(x) && statSync(x).uid === uid;
  return path.join(own ? x : '/tmp', `cairn-${uid}`);
}

function hasTool(name: string): boolean {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'].some((d) => existsSync(path.join(d, name)));
}

/** The unshare flags that map root to this user and, when it has them, its subordinate ranges to 1…N. */
export function mappingFlags(): { flags: string[]; full: boolean } {
  const uid = process.getuid!();
  const gid = process.getgid!();
  const user = os.userInfo().username;
  const su = subordinateRange('/etc/subuid', user, uid);
  const sg = subordinateRange('/etc/subgid', user, uid);
  if (su && sg && hasTool('newuidmap') && hasTool('newgidmap')) {
    return { flags: ['--map-root-user', `--map-users=${su.start},1,${su.count}`, `--map-groups=${sg.start},1,${sg.count}`], full: true };
  }
  void gid;
  return { flags: ['--map-root-user'], full: false };
}

/** The pause process of this user when it is alive and still the one recorded (its mount namespace, which a zombie has no more): its PID. */
export function livePause(dir = runtimeDir()): number | undefined {
  try {
    const [pid, ns] = readFileSync(path.join(dir, 'pause.pid'), 'utf8').trim().split(' ');
    if (readlinkSync(`/proc/${pid}/ns/mnt`) === ns) return Number(pid);
  } catch {
    /* none, or gone */
  }
  return undefined;
}

/**
 * Returns the PID of the process that keeps this user's namespace (user + mount) alive, starting it when
 * there is none. Every rootless verb joins it, so mounts made by one verb are seen by the next, and host
 * tools reach them through /proc/PID/root. Serialized by a lock so that parallel first calls make one.
 */
export function ensurePause(): number {
  const dir = runtimeDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const live = livePause(dir);
  if (live) return live;
  // Runs under a lock: $0 is the runtime dir, the rest the command that becomes the pause process.
  const script = `
    d=$0
    exec 9>"$d/pause.lock"; flock 9
    if read -r pid ns 2>/dev/null < "$d/pause.pid" && [ "$(readlink /proc/$pid/ns/mnt 2>/dev/null)" = "$ns" ]; then exit 0; fi
    "$@" 9>&- </dev/null >/dev/null 2>"$d/pause.err" &
    pid=$!
    self=$(readlink /proc/self/ns/user)
    i=0
    while [ $i -lt 1000 ]; do
      ns=$(readlink /proc/$pid/ns/user 2>/dev/null) || { cat "$d/pause.err" >&2; exit 1; }
      if [ "$ns" != "$self" ] && [ -n "$(cat /proc/$pid/uid_map)" ] && [ "$(cat /proc/$pid/comm)" = sleep ]; then
        echo "$pid $(readlink /proc/$pid/ns/mnt)" > "$d/pause.pid.tmp" && mv "$d/pause.pid.tmp" "$d/pause.pid" && exit 0
      fi
      i=$((i+1)); sleep 0.005
    done
    kill $pid; echo "the namespace did not come up" >&2; exit 1`;
  const { flags, full } = mappingFlags();
  const r = spawnSync('sh', ['-c', script, dir, 'setsid', 'unshare', '--user', ...flags, '--mount', '--propagation', 'slave', 'sleep', 'infinity'], {
    encoding: 'utf8',
  });
  const pid = livePause(dir);
  if (r.status !== 0 || !pid) {
    const why = (r.stderr || '').trim().split('\n').pop() ?? '';
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

/** Re-runs this command inside the user's namespace (joining its pause process) and resolves to its status. */
export function reexecInNamespace(argv: string[]): Promise<number> {
  const pid = ensurePause();
  const env = { ...process.env, CAIRN_USERNS: String(pid), CAIRN_ROOTLESS_UID: String(process.getuid!()) };
  const child = spawn('nsenter', ['-t', String(pid), '-U', '-m', '--preserve-credentials', `--wd=${process.cwd()}`, process.execPath, ...argv], { stdio: 'inherit', env });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`cairn: cannot enter the user namespace: ${e.message}\n`);
      resolve(125);
    });
    child.on('close', (code, sig) => resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 0)));
  });
}

/** A path inside the user's namespace as processes outside it reach it: through the pause process's root. */
export function hostVisiblePath(p: string): string {
  const pid = process.env.CAIRN_USERNS;
  return pid && /^\d+$/.test(pid) ? `/proc/${pid}/root${p}` : p;
}
