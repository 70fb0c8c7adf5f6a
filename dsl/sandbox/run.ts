import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inInitUserNs } from '../core/userns.js';
import { devSkeleton } from './dev.js';
import { bindLine, devLines, fstabText, procLine, sysLine, tmpfsLine } from './fstab.js';
import { crashPoint } from '../core/crash.js';
import { emit, warn } from '../core/events.js';
import { CairnError } from '../core/errors.js';
import { isMissing } from '../core/fsutil.js';
import { ENV_VAR, TAKE_ENV, envScript } from './env.js';
import { enterProgram } from './enter.js';
import { deliverLater, forwardTo, holdSignals, interrupted, signalStatus, type StepSignal } from './interrupt.js';
import { shq } from '../core/shquote.js';
import { hostTool } from '../core/which.js';

/*
 * A run step: cairn starts, through setpriv (the step dies with cairn, even by SIGKILL) and unshare, a host
 * /bin/sh that is PID 1 of the step's new PID namespace, in a new mount namespace and a session of its own:
 *   setpriv --pdeathsig KILL -- unshare --mount --fork --kill-child --pid sh -c LAUNCHER
 * The launcher catches INT, TERM, HUP and QUIT, tells cairn its PID on fd 3, does every mount in one
 * `mount -a`, starts the command (enter.ts's perl) in a process group of its own, forwards the
 * signals cairn forwards to it to that group, reaps orphans, and exits with the command's status. When it
 * exits, the kernel kills whatever else is left in the namespace and the launcher's parent returns only
 * then: no process started by the step outlives it. The environment reaches the command through env.ts,
 * never through an argv.
 */

/** A bind mount into the container for one run. */
export interface Bind {
  /** Host path; for a `content` bind, ignored. */
  source: string;
  /** A file made for the step with this content (in its scratch dir) is bound instead of source. */
  content?: string;
  /** Host path of the target inside the root (already resolved within it, already existing). */
  target: string;
  ro: boolean;
}

/** Everything a run step needs, fully resolved to host paths. */
export interface RunSpec {
  root: string;
  argv: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  network: 'host' | 'none';
  pid: 'private' | 'host';
  /** Files and dirs bound in: resolv.conf, hosts, volumes, secrets. */
  binds: Bind[];
  /** Tmpfs mounts (host paths inside the root). */
  tmpfs: string[];
  /** Whether /proc, /dev and /sys of the root exist to mount on. */
  mountPoints: { proc: boolean; dev: boolean; sys: boolean };
  /** 'inherit' passes the terminal through; 'pipe' emits output events and collects stdout. */
  stdio: 'inherit' | 'pipe';
  input?: string | Buffer | NodeJS.ReadableStream;
  /** Emit no output events (the output is still collected). */
  quiet?: boolean;
  /** Receives standard output as it comes. */
  onStdout?: (d: Buffer) => void;
  /** Receives standard error as it comes. */
  onStderr?: (d: Buffer) => void;
  stepId?: string;
  /** A directory on the store's filesystem for the step's scratch files. */
  scratchDir: string;
}

/** The result of a run step. */
export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  /** Set when the command was never started: not in the container (127), or not executable (126). */
  notFound?: 'missing' | 'not-executable';
}


/**
 * Prepares the step's scratch dir: a minimal /dev skeleton and an fstab describing every mount of the
 * step, so that one `mount -a` process does them all (each mount(8) process costs milliseconds).
 */
export function prepareMounts(s: RunSpec, scratch: string): string {
  const dev = path.join(scratch, 'dev');
  devSkeleton(dev);
  const l: string[] = [];
  if (s.mountPoints.proc) l.push(procLine(s.root + '/proc'));
  if (s.mountPoints.dev) l.push(...devLines(dev, s.root + '/dev'));
  // sysfs can only be mounted by the owner of the network namespace: otherwise bind the host's read-only.
  if (s.mountPoints.sys) l.push(sysLine(s.root + '/sys', s.network === 'none' || inInitUserNs()));
  for (const t of s.tmpfs) l.push(tmpfsLine(t));
  for (const [i, b] of s.binds.entries()) {
    let source = b.source;
    if (b.content !== undefined) {
      source = path.join(scratch, `bind-${i}`);
      writeFileSync(source, b.content, { mode: 0o644 });
    }
    l.push(bindLine(source, b.target, b.ro ? 'bind,ro' : 'bind'));
  }
  const fstab = path.join(scratch, 'fstab');
  writeFileSync(fstab, fstabText(l));
  return fstab;
}

/** The step's launcher, run by a host sh as PID 1 of the step's PID namespace (see the top of this file). */
export function launcherScript(s: RunSpec, fstab: string): string {
  const ids = s.uid === 0 && s.gid === 0 ? `'' ''` : `${s.uid} ${s.gid}`;
  const [mount, perl] = [hostTool('mount', 'mount (util-linux)'), hostTool('perl', 'perl-base')];
  return [
    TAKE_ENV,
    'c= p=',
    // Forwards signal $1 to the command's process group, which perl makes once the command's SIGINT and SIGQUIT are
    // no longer ignored: wait for it until then (a signal sent earlier would be lost).
    'fwd() {',
    '  p=$1; [ -n "$c" ] || return 0',
    '  while kill -0 "$c" 2>/dev/null && ! kill -0 -"$c" 2>/dev/null; do :; done',
    '  kill -"$1" -"$c" 2>/dev/null || kill -"$1" "$c" 2>/dev/null',
    '}',
    "trap 'fwd 2' INT; trap 'fwd 15' TERM; trap 'fwd 1' HUP; trap 'fwd 3' QUIT",
    // Signals are caught from here on: tell cairn where to send them (this sh's PID as cairn sees it).
    'read -r hp _ </proc/self/stat && echo "$hp" >&3; exec 3>&-',
    `${mount} -a -T ${shq(fstab)} || { echo 'cairn run: cannot set up the mounts of the step (see above)' >&2; exit 125; }`,
    '[ -z "$p" ] || exit $((128 + p))',
    // A background job's stdin is /dev/null, and SIGINT and SIGQUIT are ignored in it: give both back.
    'if [ -e /proc/self/fd/0 ]; then exec 9<&0; else exec 9</dev/null; fi',
    // The environment goes to the command only, never to a host program (enter.ts).
    `( export ${ENV_VAR}="$1"; exec ${perl} -e ${shq(enterProgram({ ownGroup: true }))} -- ${shq(s.root)} ${shq(s.cwd)} ${ids} ${s.argv.map(shq).join(' ')} ) <&9 9<&- &`,
    'c=$!',
    'exec 9<&- </dev/null',
    '[ -z "$p" ] || fwd "$p"',
    // wait returns early for each signal caught; the command is gone when kill -0 fails. Orphans are reaped meanwhile.
    // (Quietly: sh would report a command a signal ended, as "Terminated", on the step's stderr.)
    'while :; do wait "$c" 2>/dev/null; s=$?; kill -0 "$c" 2>/dev/null || break; done',
    'exit "$s"',
  ].join('\n');
}

/** Runs a command in a root filesystem in fresh mount (and by default PID) namespaces; resolves to its status. */
export async function runInRoot(s: RunSpec): Promise<RunResult> {
  const release = holdSignals();
  let scratch: string | undefined;
  try {
    const early = interrupted();
    if (early) return { status: signalStatus(early), stdout: '', stderr: '' };
    // The scratch files are a few small ones: made and removed synchronously (cheaper than the thread pool's trips).
    scratch = mkdtempSync(path.join(s.scratchDir, 'run-'));
    const fstab = prepareMounts(s, scratch);
    return await spawnLauncher(s, launcherScript(s, fstab));
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    release();
  }
}

/** The parent PID of pid, from /proc (undefined when it is gone). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch (err) {
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
    throw err;
  }
}

function spawnLauncher(s: RunSpec, script: string): Promise<RunResult> {
  const ns = ['--mount', '--propagation', 'private', '--fork', '--kill-child'];
  if (s.pid === 'private') ns.push('--pid');
  if (s.network === 'none') ns.push('--net');
  // setpriv: the step dies with cairn even when cairn is killed outright (unshare --kill-child takes it from there).
  const argv = [hostTool('setpriv', 'util-linux'), '--pdeathsig', 'KILL', '--', hostTool('unshare', 'util-linux'), ...ns, hostTool('sh', 'dash'), '-c', script, 'cairn-run'];
  const io = s.stdio === 'inherit' ? (s.input === undefined ? 'inherit' : 'pipe') : 'pipe';
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: [io, s.stdio === 'inherit' ? 'inherit' : 'pipe', s.stdio === 'inherit' ? 'inherit' : 'pipe', 'pipe'],
      env: { [ENV_VAR]: envScript(s.env) },
      cwd: '/',
      // Its own session: a terminal's signals reach cairn only, which forwards each once (a step has no controlling terminal).
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let reaper: number | undefined;
    const pending: StepSignal[] = [];
    const send = (sig: StepSignal) => {
      // Only while the launcher is still the reaper's parent: a PID is not signalled after it was reused.
      try {
        if (reaper !== undefined && child.exitCode === null && parentOf(reaper) === child.pid) process.kill(reaper, sig);
      } catch (err) {
        // Gone meanwhile is fine; anything else (EPERM, an unreadable /proc) is said, never taken for delivered.
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') warn(`cannot forward ${sig} to the run step: ${(err as Error).message}`);
      }
    };
    const forwarded = new Set<StepSignal>();
    const stop = forwardTo((sig) => {
      forwarded.add(sig);
      if (reaper === undefined) pending.push(sig);
      else send(sig);
    });
    let ready = '';
    child.stdio[3]?.on('data', (d: Buffer) => {
      ready += d;
      if (reaper !== undefined || !ready.includes('\n')) return;
      reaper = Number(ready.trim());
      for (const sig of pending.splice(0)) send(sig);
      // The crash harness kills cairn here: the step must die with it, and the container stay usable.
      crashPoint('run.step.started');
    });
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d;
      s.onStdout?.(d);
      if (!s.quiet) emit({ type: 'output', id: s.stepId, stream: 'stdout', data: d });
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d;
      s.onStderr?.(d);
      if (!s.quiet) emit({ type: 'output', id: s.stepId, stream: 'stderr', data: d });
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      if (typeof s.input === 'object' && !Buffer.isBuffer(s.input)) {
        // A stream that fails ends the command's input rather than leaving it waiting.
        s.input.on('error', () => child.stdin?.end());
        s.input.pipe(child.stdin);
      }
      else child.stdin.end(s.input ?? '');
    }
    child.on('error', (e) => {
      stop();
      reject(new CairnError(`cannot start the run step: ${e.message}`, { hint: 'install util-linux (unshare, setpriv)' }));
    });
    child.on('close', (code, signal) => {
      stop();
      const status = code ?? signalStatus(signal ?? 'SIGKILL');
      // The step died of a signal cairn forwarded: cairn ends by it too, once the step is cleaned up.
      const died = [...forwarded].find((sig) => signalStatus(sig) === status);
      if (died) deliverLater(died);
      resolve({ status, stdout, stderr });
    });
  });
}
