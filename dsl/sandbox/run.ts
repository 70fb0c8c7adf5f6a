import { spawn } from 'node:child_process';
import os from 'node:os';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { inInitUserNs } from './userns.js';
import { DEVICES, devSkeleton } from './dev.js';
import { emit } from '../events.js';
import { CairnError } from '../errors.js';
import { shq } from './shquote.js';

/** A bind mount into the container for one run. */
export interface Bind {
  /** Host path. */
  source: string;
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
  input?: string | Buffer;
  stepId?: string;
  /** A directory on the store's filesystem for the step's scratch files. */
  scratchDir: string;
}

/** The result of a run step. */
export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}


/** Escapes a path for an fstab field. */
function fsq(p: string): string {
  return p.replace(/[\\ \t\n]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

/**
 * Prepares the step's scratch dir: a minimal /dev skeleton and an fstab describing every mount of the
 * step, so that one `mount -a` process does them all (each mount(8) process costs milliseconds).
 */
export async function prepareMounts(s: RunSpec, scratch: string): Promise<string> {
  const dev = path.join(scratch, 'dev');
  await devSkeleton(dev);
  const R = (p: string) => fsq(s.root + p);
  const l: string[] = [];
  if (s.mountPoints.proc) l.push(`proc ${R('/proc')} proc nosuid,nodev,noexec 0 0`);
  if (s.mountPoints.dev) {
    l.push(`${fsq(dev)} ${R('/dev')} none bind 0 0`);
    for (const n of DEVICES) l.push(`/dev/${n} ${R('/dev/' + n)} none bind 0 0`);
    l.push(`shm ${R('/dev/shm')} tmpfs nosuid,nodev,mode=1777 0 0`);
    l.push(`devpts ${R('/dev/pts')} devpts newinstance,ptmxmode=0666,mode=0620 0 0`);
  }
  // sysfs can only be mounted by the owner of the network namespace: otherwise bind the host's read-only.
  if (s.mountPoints.sys) l.push(inInitUserNs() || s.network === 'none' ? `sysfs ${R('/sys')} sysfs ro,nosuid,nodev,noexec 0 0` : `/sys ${R('/sys')} none rbind,ro 0 0`);
  for (const t of s.tmpfs) l.push(`tmpfs ${fsq(t)} tmpfs nosuid,nodev,mode=1777 0 0`);
  for (const b of s.binds) l.push(`${fsq(b.source)} ${fsq(b.target)} none ${b.ro ? 'bind,ro' : 'bind'} 0 0`);
  const fstab = path.join(scratch, 'fstab');
  await fsp.writeFile(fstab, l.join('\n') + '\n');
  return fstab;
}

/** The shell script that mounts everything of the step in its new mount namespace and execs the command. */
export function launcherScript(s: RunSpec, fstab: string): string {
  const ids = s.uid === 0 && s.gid === 0 ? '' : ` -S ${s.uid} -G ${s.gid}`;
  const env = s.env.map(shq).join(' ');
  return [
    'set -e',
    `mount -a -T ${shq(fstab)}`,
    `exec env -i ${env} unshare --root=${shq(s.root)} --wd=${shq(s.cwd)}${ids} -- ${s.argv.map(shq).join(' ')}`,
  ].join('\n');
}

/** Runs a command in a root filesystem in fresh mount (and by default PID) namespaces; resolves to its status. */
export async function runInRoot(s: RunSpec): Promise<RunResult> {
  const scratch = await fsp.mkdtemp(path.join(s.scratchDir, 'run-'));
  try {
    const fstab = await prepareMounts(s, scratch);
    return await spawnLauncher(s, launcherScript(s, fstab));
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
}

function spawnLauncher(s: RunSpec, script: string): Promise<RunResult> {
  const args = ['--mount', '--propagation', 'private', '--fork', '--kill-child'];
  if (s.pid === 'private') args.push('--pid');
  if (s.network === 'none') args.push('--net');
  args.push('sh', '-c', script);
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', args, {
      stdio: s.stdio === 'inherit' ? (s.input === undefined ? 'inherit' : ['pipe', 'inherit', 'inherit']) : ['pipe', 'pipe', 'pipe'],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d;
      emit({ type: 'output', id: s.stepId, stream: 'stdout', data: d });
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d;
      emit({ type: 'output', id: s.stepId, stream: 'stderr', data: d });
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(s.input ?? '');
    }
    child.on('error', (e) => reject(new CairnError(`cannot start the run step: ${e.message}`, { hint: 'install util-linux (unshare)' })));
    child.on('close', (code, signal) => {
      const status = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
      resolve({ status, stdout, stderr });
    });
  });
}

