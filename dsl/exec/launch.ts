import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { editEnv } from '../container/config.js';
import { BadInputError } from '../core/errors.js';
import { writeFileAtomicSync } from '../core/atomic.js';
import { lstatOrUndefined, makeDirs, readTextOrUndefinedSync } from '../core/fsutil.js';
import { overlayOptions } from '../core/mounts.js';
import { findUser, readHostPasswd } from '../core/passwd.js';
import { DEFAULT_PATH_ENV, envWithPath, hostTool, which } from '../core/which.js';
import { bindLine, devLines, fstabLine, fstabText, procLine, sysLine, tmpfsLine } from '../sandbox/fstab.js';
import { parseVolume } from '../sandbox/volume.js';
import { resolveInRoot } from '../layer/inroot.js';
import { nameOf, type CachedImage } from './cache.js';
import { CLEAR_ENV, ENV_VAR, envScript } from '../sandbox/env.js';
import { enterProgram } from '../sandbox/enter.js';
import { shq } from '../core/shquote.js';
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
  /** --entrypoint: replaces the config's Entrypoint, and its Cmd with it. */
  entrypoint?: string[];
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

/** Passed through as real root only, where the service keeps the PID systemd gave them for. */
const SOCKET_ACTIVATION = ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'];

/** The context of the process that will start the chain (the `cairn` wrapper tells its uid in prepare mode). */
export function execContext(hostUid: number): ExecContext {
  if (hostUid !== 0) return 'rootless';
  return inInitUserNs() ? 'root' : 'nested';
}

const tool = hostTool;

/** The unshare flags mapping root to the user and its subordinate ranges to 1…N, as the user's cairn namespace does. */
async function userMapping(uid: number): Promise<string[]> {
  const { subordinateRange } = await import('../sandbox/pause.js');
  // By number when the host's passwd does not name the uid (subordinateRange matches either).
  const name = findUser(readHostPasswd(), uid)?.name ?? String(uid);
  const su = subordinateRange('/etc/subuid', name, uid);
  const sg = subordinateRange('/etc/subgid', name, uid);
  const tools = which('newuidmap') !== undefined && which('newgidmap') !== undefined;
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
  const { source, target, ro, stat: st } = await parseVolume(spec, ['ro', 'rw']);
  const rootfs = path.join(img.dir, 'rootfs');
  const rel = path.relative(rootfs, await resolveInRoot(rootfs, target));
  const m = img.meta.mounts;
  const under = (d: string | undefined): boolean => !!d && (rel === d || rel.startsWith(d + '/'));
  if (!rel || under(m.proc) || under(m.sys)) throw new BadInputError(`--volume ${spec}: cannot bind over ${rel ? '/' + rel : '/'}`, { hint: 'choose another place in the image' });
  let opts = ro ? 'bind,ro' : 'bind';
  const tmpfs = [m.tmp, m.run].find((d) => d && rel.startsWith(d + '/'));
  if (tmpfs) {
    // Below /tmp or /run, a fresh tmpfs when it runs: mount(8) makes the directory there (no links in a new tmpfs).
    if (!st.isDirectory()) throw new BadInputError(`--volume ${spec}: a file cannot be bound below /${tmpfs}, a tmpfs when the image runs`, { hint: 'bind its directory instead' });
    opts += ',X-mount.mkdir=0755';
  } else {
    // The mount point is made in the cached root (or the /dev skeleton): an empty directory or file, read-only to the service.
    const host = under(m.dev) ? path.join(img.dir, 'dev', path.relative(m.dev!, rel)) : path.join(rootfs, rel);
    const have = await lstatOrUndefined(host);
    if (!have) {
      if (st.isDirectory()) await makeDirs(host, 0o755);
      else {
        await makeDirs(path.dirname(host), 0o755);
        await fsp.writeFile(host, '', { mode: 0o644, flag: 'wx' }).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
      }
    } else if (have.isDirectory() !== st.isDirectory()) {
      throw new BadInputError(`--volume ${spec}: ${target} is a ${have.isDirectory() ? 'directory' : 'file'} in the image, ${source} is not`, { hint: 'bind a directory on a directory, a file on a file' });
    }
  }
  return bindLine(source, path.join(R, rel), opts);
}

/** The fstab of a start: the root, /proc, /dev, /sys, /tmp, /run, resolv.conf, hosts, hostname, the volumes, in mount order. */
async function fstab(img: CachedImage, R: string, o: LaunchOptions): Promise<string> {
  const m = img.meta.mounts;
  const at = (rel: string) => path.join(R, rel);
  const l: string[] = [];
  const rootfs = path.join(img.dir, 'rootfs');
  if (o.writable) {
    const ovl = path.join(img.dir, 'ovl');
    if (/[,:\\\s]/.test(img.dir)) throw new BadInputError(`--writable needs a store path without commas, colons, backslashes or spaces (${img.dir})`, { hint: 'use another --root' });
    l.push(fstabLine('overlay', R, 'overlay', `${overlayOptions({ lower: [rootfs], upper: `${ovl}/u`, work: `${ovl}/w`, userxattr: o.context !== 'root' })},nodev`));
  } else {
    l.push(bindLine(rootfs, R, 'bind,ro,nodev'));
  }
  if (m.proc) l.push(procLine(at(m.proc)));
  if (m.dev) l.push(...devLines(path.join(img.dir, 'dev'), at(m.dev), { ro: true }));
  // sysfs can only be mounted by the owner of the network namespace: elsewhere the host's, bound read-only.
  if (m.sys) l.push(sysLine(at(m.sys), o.context === 'root'));
  if (m.tmp) l.push(tmpfsLine(at(m.tmp)));
  if (m.run) l.push(tmpfsLine(at(m.run), '0755'));
  if (m.resolv && existsSync('/etc/resolv.conf')) l.push(bindLine('/etc/resolv.conf', at(m.resolv), 'bind,ro'));
  if (m.hosts && existsSync('/etc/hosts')) l.push(bindLine('/etc/hosts', at(m.hosts), 'bind,ro'));
  if (m.hostname && existsSync('/etc/hostname')) l.push(bindLine('/etc/hostname', at(m.hostname), 'bind,ro'));
  for (const v of o.volumes) l.push(await volumeLine(img, R, v));
  return fstabText(l);
}

/** The fstab's file in the entry, named by its content (the same mounts reuse the same file; nothing to clean up). */
function fstabFile(img: CachedImage, text: string): string {
  for (let n = 0; ; n++) {
    const file = path.join(img.dir, 'fstab', nameOf(text) + (n ? `-${n}` : ''));
    const have = readTextOrUndefinedSync(file);
    if (have === text) return file;
    if (have !== undefined) continue;
    writeFileAtomicSync(file, text);
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
    // (Quietly: sh reports a job a signal ended, as "Terminated", on its stderr, which is the service's.)
    'while :; do wait "$c" 2>/dev/null; s=$?; kill -0 "$c" 2>/dev/null || break; done',
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
  const argv = o.entrypoint ? [...o.entrypoint, ...o.cmd] : [...(cfg.Entrypoint ?? []), ...(o.cmd.length ? o.cmd : (cfg.Cmd ?? []))];
  if (argv.length === 0) {
    throw new BadInputError('the image names no command (its config has no Entrypoint or Cmd, as bali\'s files)', { hint: 'give the command after the file: cairn exec FILE -- CMD [ARG…]' });
  }
  // Resolved when the image was unpacked (its /etc/passwd never changes); an entry from before that, here.
  const ids = img.meta.user ?? (await userOf(path.join(img.dir, 'rootfs'), cfg.User));
  let env = envWithPath(cfg.Env);
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
  const service = `${tool('perl', 'perl-base')} -e ${shq(enterProgram())} -- ${shq(R)} ${shq(cwd)} ${ids2} ${argv.map(shq).join(' ')}`;
  const takeEnv = `export ${ENV_VAR}="$1"`;
  const PATHS = DEFAULT_PATH_ENV;
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
