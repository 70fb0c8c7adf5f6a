import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Host programs the tiny image carries (all coreutils plus dash as /bin/sh). */
export const TINY_PROGRAMS = ['sh', 'ls', 'cat', 'echo', 'mkdir', 'rm', 'sleep', 'id', 'touch', 'chown', 'chmod', 'ln', 'mv', 'cp', 'true', 'false', 'env', 'pwd', 'stat', 'head', 'readlink'];

function which(p: string): string {
  for (const d of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) if (existsSync(path.join(d, p))) return path.join(d, p);
  throw new Error(`host program ${p} not found`);
}

/** Shared libraries of programs, as the host's ldd lists them (a trusted oracle for host binaries): one ldd for all. */
function libs(files: string[]): string[] {
  const out = execFileSync('ldd', files, { encoding: 'utf8' });
  return [...out.matchAll(/(\/[^\s]+) \(0x/g)].map((m) => m[1]);
}

/**
 * Builds a tiny root filesystem from host binaries (no network, no cairn code), with /etc/passwd naming
 * root and a user 1000, and packs it with the host's tar. Returns the .tar path; made once per test run
 * (in the run's temporary directory, which test/kit/setup.ts gives every worker) and shared read-only.
 */
let cached: string | undefined;
export function tinyRootfsTar(): string {
  if (cached && existsSync(cached)) return cached;
  // Named tiny.tar: `from` names its container after the file (tiny-working-container).
  const shared = path.join(os.tmpdir(), 'cairn-kit', 'tiny.tar');
  if (existsSync(shared)) return (cached = shared);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-tiny-'));
  const root = path.join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/user']) mkdirSync(path.join(root, d), { recursive: true });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  const programs = TINY_PROGRAMS.map((p) => realpathSync(which(p)));
  TINY_PROGRAMS.forEach((p, i) => {
    copyFileSync(programs[i], path.join(root, 'bin', p));
    chmodSync(path.join(root, 'bin', p), 0o755);
  });
  const files = new Set(libs([...new Set(programs)]));
  for (const f of files) {
    const dst = path.join(root, f);
    mkdirSync(path.dirname(dst), { recursive: true });
    copyFileSync(realpathSync(f), dst);
  }
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nuser:x:1000:\n');
  const tarFile = path.join(dir, 'tiny.tar');
  // Owners are set in the archive, so the kit works for any user: all root, /home/user 1000:1000.
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--exclude=./home/user', '-C', root, '-cf', tarFile, '.']);
  execFileSync('tar', ['--numeric-owner', '--owner=1000', '--group=1000', '--no-recursion', '-C', root, '-rf', tarFile, './home/user']);
  return (cached = publish(tarFile, shared, dir));
}

/**
 * A base for tests that make containers but run nothing in them (names, records, pull policies): a few KB (etc/passwd,
 * etc/group, etc/hostname) instead of the tiny rootfs's MBs, which every `from` reads and hashes again. Named
 * small.tar (containers are named small-working-container); made once per run, shared read-only like tiny.tar.
 */
let smallCached: string | undefined;
export function smallRootfsTar(): string {
  if (smallCached && existsSync(smallCached)) return smallCached;
  const shared = path.join(os.tmpdir(), 'cairn-kit', 'small.tar');
  if (existsSync(shared)) return (smallCached = shared);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-small-'));
  const root = path.join(dir, 'rootfs');
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n');
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nuser:x:1000:\n');
  writeFileSync(path.join(root, 'etc/hostname'), 'small\n');
  const tarFile = path.join(dir, 'small.tar');
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-cf', tarFile, '.']);
  return (smallCached = publish(tarFile, shared, dir));
}

/**
 * Publishes a built archive whole by a hard link, which never replaces: a worker that built it at the same
 * time keeps the first one (replacing it would change a file that a cairn call may be reading).
 */
function publish(tarFile: string, shared: string, workDir: string): string {
  mkdirSync(path.dirname(shared), { recursive: true });
  try {
    linkSync(tarFile, shared);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  rmSync(workDir, { recursive: true, force: true });
  return shared;
}
