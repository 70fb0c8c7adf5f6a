import { chmodSync, chownSync, constants as fsc, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPrivate, privateDir, readPrivate, runtimeDir, writePrivate } from '../../../dsl/sandbox/rundir.js';

/*
 * The rootless runtime dir (/tmp/cairn-UID without XDG_RUNTIME_DIR) is a name any local user can take first.
 * privateDir accepts only a real directory of this user, mode 0700; files in it are never opened through a
 * symlink. Each case builds the directory an attacker would have left.
 */

let base: string;
let victim: string;
beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'cairn-rundir-'));
  victim = path.join(base, 'victim-file');
  writeFileSync(victim, 'precious\n');
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A uid that is not ours and that this process may chown to (root, or root of a namespace mapping it), or undefined. */
function otherUid(probe: string): number | undefined {
  for (const uid of [4242, 1, 65534]) {
    if (uid === process.geteuid!()) continue;
    try {
      chownSync(probe, uid, -1);
      return uid;
    } catch {
      /* not mapped, or not privileged */
    }
  }
  return undefined;
}

describe('privateDir', () => {
  it('makes a missing directory, mode 0700 whatever the umask', () => {
    const d = path.join(base, 'fresh');
    const old = process.umask(0o077 | 0o200);
    try {
      expect(privateDir(d)).toBe(d);
    } finally {
      process.umask(old);
    }
    const st = lstatSync(d);
    expect([st.isDirectory(), st.mode & 0o777, st.uid]).toEqual([true, 0o700, process.geteuid!()]);
    expect(privateDir(d)).toBe(d);
  });

  const refused: [string, (d: string) => void, RegExp][] = [
    ['a symlink to a private directory', (d) => {
      mkdirSync(d + '-real', { mode: 0o700 });
      symlinkSync(d + '-real', d);
    }, /symbolic link/],
    ['a symlink to nowhere', (d) => symlinkSync(path.join(base, 'nowhere'), d), /symbolic link/],
    ['a directory others may write into (0777), holding a symlink to the victim\'s file', (d) => {
      mkdirSync(d);
      chmodSync(d, 0o777);
      symlinkSync(victim, path.join(d, 'pause.err'));
    }, /mode is 0777, not 0700/],
    ['a directory others may read (0755)', (d) => {
      mkdirSync(d);
      chmodSync(d, 0o755);
    }, /mode is 0755, not 0700/],
    ['a regular file', (d) => writeFileSync(d, ''), /not a directory/],
  ];
  it.each(refused)('refuses %s with one clear error', (_name, make, why) => {
    const d = path.join(base, `bad-${Math.random().toString(36).slice(2)}`);
    make(d);
    expect(() => privateDir(d)).toThrow(why);
    expect(() => privateDir(d)).toThrow(new RegExp(`^${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a private directory of yours: `));
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('refuses a directory, mode 0700, owned by another user', (ctx) => {
    const d = path.join(base, 'theirs');
    mkdirSync(d, { mode: 0o700 });
    const uid = otherUid(d);
    if (uid === undefined) return ctx.skip();
    expect(statSync(d).uid).toBe(uid);
    expect(() => privateDir(d)).toThrow(`it is owned by uid ${uid}, not ${process.geteuid!()}`);
  });
});

describe('files in the runtime dir', () => {
  let d: string;
  // A runtime dir of each test's own: what one test leaves in it (a pause.pid) is not another's input.
  let n = 0;
  beforeEach(() => {
    d = privateDir(path.join(base, `rt-${++n}`));
  });

  it('are read without following a symlink', () => {
    symlinkSync(victim, path.join(d, 'pause.pid'));
    expect(readPrivate(path.join(d, 'pause.pid'))).toBeUndefined();
    writeFileSync(path.join(d, 'plain'), 'x');
    expect(readPrivate(path.join(d, 'plain'))).toBe('x');
  });

  it('are opened without following a symlink, and never truncate its target', () => {
    symlinkSync(victim, path.join(d, 'pause.err'));
    expect(() => openPrivate(path.join(d, 'pause.err'), fsc.O_WRONLY | fsc.O_TRUNC)).toThrow(/ELOOP/);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('are replaced by a new file made with O_EXCL: a symlink in the way is replaced, its target untouched', () => {
    symlinkSync(victim, path.join(d, `pause.pid.${process.pid}.tmp`));
    writePrivate(path.join(d, 'pause.pid'), '1 mnt:[1]\n');
    expect(lstatSync(path.join(d, 'pause.pid')).isFile()).toBe(true);
    expect(lstatSync(path.join(d, 'pause.pid')).mode & 0o777).toBe(0o600);
    expect(readPrivate(path.join(d, 'pause.pid'))).toBe('1 mnt:[1]\n');
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });
});

describe('runtimeDir', () => {
  const saved = process.env.XDG_RUNTIME_DIR;
  afterAll(() => {
    if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
    else process.env.XDG_RUNTIME_DIR = saved;
  });

  it('is below XDG_RUNTIME_DIR when that is ours, else below /tmp', (ctx) => {
    const uid = process.getuid!();
    const mine = path.join(base, 'xdg-mine');
    mkdirSync(mine, { mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = mine;
    expect(runtimeDir()).toBe(path.join(mine, `cairn-${uid}`));
    delete process.env.XDG_RUNTIME_DIR;
    expect(runtimeDir()).toBe(`/tmp/cairn-${uid}`);
    const theirs = path.join(base, 'xdg-theirs');
    mkdirSync(theirs, { mode: 0o700 });
    if (otherUid(theirs) === undefined) return ctx.skip();
    process.env.XDG_RUNTIME_DIR = theirs;
    expect(runtimeDir()).toBe(`/tmp/cairn-${uid}`);
  });
});
