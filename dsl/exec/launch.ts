import { existsSync, promises as fsp, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { DEVICES } from '../sandbox/dev.js';
import path from 'node:path';
import { editEnv } from '../container/config.js';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { resolveInRoot } from '../layer/inroot.js';
import { nameOf, type CachedImage } from './cache.js';
import { CLEAR_ENV, ENV_VAR, envScript } from '../sandbox/env.js';
import { ENTER_PROGRAM } from '../sandbox/enter.js';
import { shq } from '../core/shquote.js';
import { hostTool } from '../sandbox/tools.js';
import { inInitUserNs } from '../core/userns.js';

/*
 * The command that runs a cached flat image in place (`cairn exec`). It is a chain of programs that each
 * exec the next, so that, as real root, the service ends up with the PID of the process that started the
 * chain (systemd's MainPID, its cgroup, its signals):
 *   unshare --mount --propagation private sh -c 'mount -a -T FSTAB && exec perl -e ENTER R W [u g] CMD' (enter.ts)
 * A fresh /proc needs no PID namespace as real root. Anywhere else (a normal user, or root of a user
 * namespace) procfs can only be mounted in a PID namespace of one's own, whose first process is a child:
 * there the chain's first process stays as a small sh that forwards SIGTERM, SIGINT and SIGHUP, and the
 * namespace's init (a second sh, killed with its parent through PR_SET_PDEATHSIG) mounts, starts the service,
 * forwards signals to it and reaps orphans. All mounts live in a private mount namespace and end with it.
 * The service's environment is never an argument: it travels in the chain's environment (env.ts), and the
 * launching sh unexports everything else before it evals it.
 */

/** Where the chain runs: real root, root of a user namespace (`cairn unshare`), or a normal user. */
export type ExecContext = 'root' | 'nested' | 'rootless';

/** How to run the image. */
export interface LaunchOptions {
  /** CMD… from the command line (replaces the config's Cmd). */
  cmd: string[];
  /** --env K=V edits. */
  env: string[];
  /** --volume HOST:CTR[:ro]. */
  volumes: string[];
  /** An overlay with a tmpfs upper over the cached root (else the root is read-only). */
  writable: boolean;
  context: ExecContext;
  /** The uid the chain starts as (a normal user's, for the rootless id mapping). */
  hostUid: number;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Passed through as real root only, where the service keeps the PID systemd gave them for. */
const SOCKET_ACTIVATION = ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'];

/** The context of the process that will start the chain (the `cairn` wrapper tells its uid in prepare mode). */
export function execContext(hostUid: number): ExecContext {
  if (hostUid !== 0) return 'rootless';
  return inInitUserNs() ? 'root' : 'nested';
}

const tool = hostTool;

/** Escapes a path for an fstab field. */
function fsq(p: string): string {
  return p.replace(/[\\ \t\n]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

/** The unshare flags mapping root to the user and its subordinate ranges to 1…N, as the user's cairn namespace does. */
async function userMapping(uid: number): Promise<string[]> {
  const { subordinateRange } = await import('../sandbox/pause.js');
  let name = String(uid);
  try {
    name = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === String(uid))?.[0] ?? name;
  } catch {
    /* by number */
  }
  const su = subordinateRange('/etc/subuid', name, uid);
  const sg = subordinateRange('/etc/subgid', name, uid);
  const tools = ['newuidmap', 'newgidmap'].every((t) => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].some((d) => existsSync(path.join(d, t))));
  if (su && sg && tools) return ['--map-root-user', `--map-users=${su.start},1,${su.count}`, `--map-groups=${sg.start},1,${sg.count}`];
  return ['--map-root-user'];
}

async function userOf(rootfs: string, spec: string | undefined): Promise<{ uid: number; gid: number; home: string }> {
  const { homeOf, resolveUser } = await import('../container/users.js');
  const ids = await resolveUser(rootfs, spec);
  return { ...ids, home: (await homeOf(rootfs, ids.uid)) || '/' };
}

/** One `--volume HOST:CTR[:ro]`, its mount point made: an fstab line. */
async function volumeLine(img: CachedImage, R: string, spec: string): Promise<string> {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (parts[2] && !/^(ro|rw)$/.test(parts[2]))) {
    throw new BadInputError(`invalid --volume ${spec}`, { hint: 'use HOST:CONTAINER[:ro]' });
  }
  const source = path.resolve(parts[0]);
  const st = await fsp.stat(source).catch(() => undefined);
  if (!st) throw new NotFoundError(`--volume source ${source} does not exist`, { hint: 'create it first, or fix the path' });
  const rootfs = path.join(img.dir, 'rootfs');
  const rel = path.relative(rootfs, await resolveInRoot(rootfs, parts[1]));
  const m = img.meta.mounts;
  const under = (d: string | undefined): boolean => !!d && (rel === d || rel.startsWith(d + '/'));
  if (!rel || under(m.proc) || under(m.sys)) throw new BadInputError(`--volume ${spec}: cannot bind over ${rel ? '/' + rel : '/'}`, { hint: 'choose another place in the image' });
  let opts = parts[2] === 'ro' ? 'bind,ro' : 'bind';
  const tmpfs = [m.tmp, m.run].find((d) => d && rel.startsWith(d + '/'));
  if (tmpfs) {
    // Below /tmp or /run, a fresh tmpfs when it runs: mount(8) makes the directory there (no links in a new tmpfs).
    if (!st.isDirectory()) throw new BadInputError(`--volume ${spec}: a file cannot be bound below /${tmpfs}, a tmpfs when the image runs`, { hint: 'bind its directory instead' });
    opts += ',X-mount.mkdir=0755';
  } else {
    // The mount point is made in the cached root (or the /dev skeleton): an empty directory or file, read-only to the service.
    const host = under(m.dev) ? path.join(img.dir, 'dev', path.relative(m.dev!, rel)) : path.join(rootfs, rel);
    const have = await fsp.lstat(host).catch(() => undefined);
    if (!have) {
      if (st.isDirectory()) await fsp.mkdir(host, { recursive: true, mode: 0o755 });
      else {
        await fsp.mkdir(path.dirname(host), { recursive: true, mode: 0o755 });
        await fsp.writeFile(host, '', { mode: 0o644, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
      }
    } else if (have.isDirectory() !== st.isDirectory()) {
      throw new BadInputError(`--volume ${spec}: ${parts[1]} is a ${have.isDirectory() ? 'directory' : 'file'} in the image, ${source} is not`, { hint: 'bind a directory on a directory, a file on a file' });
    }
  }
  return `${fsq(source)} ${fsq(path.join(R, rel))} none ${opts} 0 0`;
}

/** The fstab of a start: the root, /proc, /dev, /sys, /tmp, /run, resolv.conf, hosts, the volumes, in mount order. */
async function fstab(img: CachedImage, R: string, o: LaunchOptions): Promise<string> {
  const m = img.meta.mounts;
  const at = (rel: string) => fsq(path.join(R, rel));
  const l: string[] = [];
  const rootfs = path.join(img.dir, 'rootfs');
  if (o.writable) {
    const ovl = path.join(img.dir, 'ovl');
    if (/[,:\\\s]/.test(img.dir)) throw new BadInputError(`--writable needs a store path without commas, colons, backslashes or spaces (${img.dir})`, { hint: 'use another --root' });
    const ux = o.context === 'root' ? '' : ',userxattr';
    l.push(`overlay ${fsq(R)} overlay lowerdir=${rootfs},upperdir=${ovl}/u,workdir=${ovl}/w,nodev${ux} 0 0`);
  } else {
    l.push(`${fsq(rootfs)} ${fsq(R)} none bind,ro,nodev 0 0`);
  }
  if (m.proc) l.push(`proc ${at(m.proc)} proc nosuid,nodev,noexec 0 0`);
  if (m.dev) {
    l.push(`${fsq(path.join(img.dir, 'dev'))} ${at(m.dev)} none bind,ro 0 0`);
    for (const n of DEVICES) l.push(`/dev/${n} ${at(m.dev + '/' + n)} none bind 0 0`);
    l.push(`shm ${at(m.dev + '/shm')} tmpfs nosuid,nodev,mode=1777 0 0`);
    l.push(`devpts ${at(m.dev + '/pts')} devpts newinstance,ptmxmode=0666,mode=0620 0 0`);
  }
  // sysfs can only be mounted by the owner of the network namespace: elsewhere the host's, bound read-only.
  if (m.sys) l.push(o.context === 'root' ? `sysfs ${at(m.sys)} sysfs ro,nosuid,nodev,noexec 0 0` : `/sys ${at(m.sys)} none rbind,ro 0 0`);
  if (m.tmp) l.push(`tmpfs ${at(m.tmp)} tmpfs nosuid,nodev,mode=1777 0 0`);
  if (m.run) l.push(`tmpfs ${at(m.run)} tmpfs nosuid,nodev,mode=0755 0 0`);
  if (m.resolv && existsSync('/etc/resolv.conf')) l.push(`/etc/resolv.conf ${at(m.resolv)} none bind,ro 0 0`);
  if (m.hosts && existsSync('/etc/hosts')) l.push(`/etc/hosts ${at(m.hosts)} none bind,ro 0 0`);
  for (const v of o.volumes) l.push(await volumeLine(img, R, v));
  return l.join('\n') + '\n';
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The fstab's file in the entry, named by its content (the same mounts reuse the same file; nothing to clean up). */
function fstabFile(img: CachedImage, text: string): string {
  for (let n = 0; ; n++) {
    const file = path.join(img.dir, 'fstab', nameOf(text) + (n ? `-${n}` : ''));
    const have = readOrUndefined(file);
    if (have === text) return file;
    if (have !== undefined) continue;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, file);
    return file;
  }
}

/** Shell lines that forward TERM, INT and HUP to the child "$c" (one arriving before it exists is sent once it does). */
const TRAPS = ['TERM', 'INT', 'HUP'].map((s) => `trap 'p=${s}; [ -z "$c" ] || kill -${s} "$c" 2>/dev/null' ${s}`).join('\n');
/** Starts "$@"-like words in the background with stdin kept (sh gives background jobs /dev/null otherwise), then waits it out. */
function supervise(start: string): string {
  return [
    'c= p=',
    TRAPS,
    'if [ -e /proc/self/fd/0 ]; then exec 9<&0; else exec 9</dev/null; fi',
    `${start} <&9 9<&- &`,
    'c=$!',
    'exec 9<&-',
    '[ -z "$p" ] || kill -"$p" "$c" 2>/dev/null',
    // wait returns early for each trapped signal; the child is gone when kill -0 fails.
    'while :; do wait "$c"; s=$?; kill -0 "$c" 2>/dev/null || break; done',
  ].join('\n');
}

/** The chain that runs an image in place: its argv, and its environment's ENV_VAR (the service's environment). */
export interface Launch {
  argv: string[];
  /** The value of ENV_VAR the chain must be started with (env.ts). */
  env: string;
}

/** The shell text that starts a launch in place of the shell that evals it, the environment out of every argv. */
export function launchText(l: Launch): string {
  return `${ENV_VAR}=${shq(l.env)} exec ${l.argv.map(shq).join(' ')}`;
}

/** The chain that runs the image in place (see the top of this file). */
export async function launchCommand(img: CachedImage, o: LaunchOptions): Promise<Launch> {
  const cfg = img.config;
  const argv = [...(cfg.Entrypoint ?? []), ...(o.cmd.length ? o.cmd : (cfg.Cmd ?? []))];
  if (argv.length === 0) {
    throw new BadInputError('the image names no command (its config has no Entrypoint or Cmd, as bali\'s files)', { hint: 'give the command after the file: cairn exec FILE -- CMD [ARG…]' });
  }
  // Resolved when the image was unpacked (its /etc/passwd never changes); an entry from before that, here.
  const ids = img.meta.user ?? (await userOf(path.join(img.dir, 'rootfs'), cfg.User));
  let env = cfg.Env?.length ? [...cfg.Env] : [DEFAULT_PATH];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${ids.home}`);
  if (o.context === 'root') {
    for (const k of SOCKET_ACTIVATION) if (process.env[k] !== undefined && !env.some((e) => e.startsWith(k + '='))) env.push(`${k}=${process.env[k]}`);
  }
  env = editEnv(env, o.env);
  const cwd = cfg.WorkingDir || '/';
  const R = path.join(img.dir, o.writable ? 'merged' : 'rootfs');
  const table = fstabFile(img, await fstab(img, R, o));

  const [sh, mount, envTool, unshare] = [tool('sh', 'dash'), tool('mount', 'mount (util-linux)'), tool('env', 'coreutils'), tool('unshare', 'util-linux')];
  const ovl = path.join(img.dir, 'ovl');
  const pre = o.writable ? `${mount} -t tmpfs -o mode=0700 cairn-exec ${shq(ovl)} && ${tool('mkdir', 'coreutils')} -m 0755 ${shq(ovl + '/u')} ${shq(ovl + '/w')} && ` : '';
  const mounts = `${pre}${mount} -a -T ${shq(table)} || { echo 'cairn exec: cannot set up the mounts of the image (see above)' >&2; exit 125; }`;
  const ids2 = ids.uid === 0 && ids.gid === 0 ? `'' ''` : `${ids.uid} ${ids.gid}`;
  // The service's environment reaches the service only, never a host program (enter.ts).
  const service = `${tool('perl', 'perl-base')} -e ${shq(ENTER_PROGRAM)} -- ${shq(R)} ${shq(cwd)} ${ids2} ${argv.map(shq).join(' ')}`;
  const takeEnv = `export ${ENV_VAR}="$1"`;
  const PATHS = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  const script = envScript(env);

  if (o.context === 'root') {
    return { argv: [unshare, '--mount', '--propagation', 'private', sh, '-c', [CLEAR_ENV, PATHS, mounts, takeEnv, `exec ${service}`].join('\n')], env: script };
  }
  // Background jobs of sh start with SIGINT and SIGQUIT ignored: give them back their defaults.
  const init = [CLEAR_ENV, PATHS, mounts, supervise(`( ${takeEnv}; exec ${service} )`), 'exit "$s"'].join('\n');
  const fwd = [
    supervise('"$@"'),
    // Die of the signal the namespace's init reports, as the service did (systemd counts that as a clean stop).
    'case $s in 129|130|143) trap - HUP INT TERM; kill -$((s - 128)) $$ ;; esac',
    'exit "$s"',
  ].join('\n');
  const userns = o.context === 'rootless' ? ['--user', ...(await userMapping(o.hostUid))] : [];
  return {
    argv: [
      unshare, ...userns, '--mount', '--propagation', 'private', '--pid',
      sh, '-c', fwd, 'cairn-exec',
      envTool, '--default-signal=INT,QUIT', tool('setpriv', 'util-linux'), '--pdeathsig', 'KILL', '--', sh, '-c', init,
    ],
    env: script,
  };
}
