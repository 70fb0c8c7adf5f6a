import { describe, expect, it } from 'vitest';
import { DEVICES } from '../../../dsl/sandbox/dev.js';
import { bindLine, devLines, fsq, fstabLine, fstabText, procLine, sysLine, tmpfsLine } from '../../../dsl/sandbox/fstab.js';

describe('fstab lines: one writer for run steps and exec', () => {
  it('escapes space, tab, newline and backslash in every path field', () => {
    expect(fsq('/a b\tc\nd\\e')).toBe('/a\\040b\\011c\\012d\\134e');
    expect(bindLine('/src dir', '/root/mnt point', 'bind,ro')).toBe('/src\\040dir /root/mnt\\040point none bind,ro 0 0');
    expect(fstabLine('overlay', '/r r', 'overlay', 'lowerdir=/l')).toBe('overlay /r\\040r overlay lowerdir=/l 0 0');
  });

  it('proc, tmpfs and sys', () => {
    expect(procLine('/r/proc')).toBe('proc /r/proc proc nosuid,nodev,noexec 0 0');
    expect(tmpfsLine('/r/tmp')).toBe('tmpfs /r/tmp tmpfs nosuid,nodev,mode=1777 0 0');
    expect(tmpfsLine('/r/run', '0755')).toBe('tmpfs /r/run tmpfs nosuid,nodev,mode=0755 0 0');
    expect(sysLine('/r/sys', true)).toBe('sysfs /r/sys sysfs ro,nosuid,nodev,noexec 0 0');
    expect(sysLine('/r/sys', false)).toBe('/sys /r/sys none rbind,ro 0 0');
  });

  it('the minimal /dev: the skeleton (read-only for exec), each device, shm and a new devpts', () => {
    const rw = devLines('/s/dev', '/r/dev');
    expect(rw[0]).toBe('/s/dev /r/dev none bind 0 0');
    expect(devLines('/s/dev', '/r/dev', { ro: true })[0]).toBe('/s/dev /r/dev none bind,ro 0 0');
    expect(rw.slice(1, 1 + DEVICES.length)).toEqual(DEVICES.map((n) => `/dev/${n} /r/dev/${n} none bind 0 0`));
    expect(rw.slice(1 + DEVICES.length)).toEqual([
      'shm /r/dev/shm tmpfs nosuid,nodev,mode=1777 0 0',
      'devpts /r/dev/pts devpts newinstance,ptmxmode=0666,mode=0620 0 0',
    ]);
    expect(fstabText(['a', 'b'])).toBe('a\nb\n');
  });
});
