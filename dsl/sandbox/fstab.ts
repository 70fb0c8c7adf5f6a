import { DEVICES } from './dev.js';

/*
 * fstab(5) lines for the one `mount -a -T FSTAB` that sets up a run step (run.ts) or an exec start
 * (exec/launch.ts). Every helper takes plain host paths and escapes them itself.
 */

/** Escapes a path for an fstab field (space, tab, newline and backslash as octal escapes). */
export function fsq(p: string): string {
  return p.replace(/[\\ \t\n]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

/** One fstab line: what, where, type, options. */
export function fstabLine(what: string, where: string, type: string, opts: string): string {
  return `${fsq(what)} ${fsq(where)} ${type} ${opts} 0 0`;
}

/** A fresh procfs at target. */
export function procLine(target: string): string {
  return fstabLine('proc', target, 'proc', 'nosuid,nodev,noexec');
}

/**
 * The minimal /dev at target: the skeleton dir (devSkeleton) bound there (read-only with ro), the host's
 * DEVICES bound onto its files, a private shm and a new devpts instance.
 */
export function devLines(skeleton: string, target: string, o: { ro?: boolean } = {}): string[] {
  return [
    bindLine(skeleton, target, o.ro ? 'bind,ro' : 'bind'),
    ...DEVICES.map((n) => bindLine(`/dev/${n}`, `${target}/${n}`)),
    fstabLine('shm', `${target}/shm`, 'tmpfs', 'nosuid,nodev,mode=1777'),
    fstabLine('devpts', `${target}/pts`, 'devpts', 'newinstance,ptmxmode=0666,mode=0620'),
  ];
}

/**
 * /sys at target: a fresh read-only sysfs when this process may mount one (only the owner of the network
 * namespace may), else the host's bound read-only.
 */
export function sysLine(target: string, ownSysfs: boolean): string {
  return ownSysfs ? fstabLine('sysfs', target, 'sysfs', 'ro,nosuid,nodev,noexec') : bindLine('/sys', target, 'rbind,ro');
}

/** A tmpfs at target with this mode (1777: /tmp-like). */
export function tmpfsLine(target: string, mode = '1777'): string {
  return fstabLine('tmpfs', target, 'tmpfs', `nosuid,nodev,mode=${mode}`);
}

/** A bind mount of source at target; opts replaces plain `bind` (`bind,ro`, `rbind,ro`, …). */
export function bindLine(source: string, target: string, opts = 'bind'): string {
  return fstabLine(source, target, 'none', opts);
}

/** The fstab text of lines. */
export function fstabText(lines: string[]): string {
  return lines.join('\n') + '\n';
}
