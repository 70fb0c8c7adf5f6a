import { promises as fsp } from 'node:fs';
import { CairnError } from './errors.js';
import { runTool } from './spawn.js';

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Mount points of this process's mount namespace, from `file` (a mountinfo table; tests give their own). One
 * that cannot be read throws: "nothing is mounted" would make cairn mount twice or skip an unmount. Read
 * asynchronously: the table grows with every mount on the host.
 */
export async function mountPoints(file = '/proc/self/mountinfo'): Promise<Set<string>> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new CairnError(`cannot read the mount table ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'cairn needs /proc mounted and readable (mount -t proc proc /proc)',
      cause: err,
    });
  }
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) out.add(unescapeMountinfo(f[4]));
  }
  return out;
}

/** True when dir is a mount point in this mount namespace. */
export async function isMountPoint(dir: string): Promise<boolean> {
  return (await mountPoints()).has(dir);
}

/** Unmounts dir (lazily, so a shell left inside it does not block the verb). */
export async function unmount(dir: string): Promise<void> {
  if (!(await isMountPoint(dir))) return;
  await runTool('umount', ['-l', dir], { what: `unmounting ${dir}` });
}

/** How an overlay is laid: its lower directories (top first), and for a writable one its upper and work dirs. */
export interface OverlayLayout {
  /** Top first; a directory given twice is kept at its first (uppermost) place, as overlayfs refuses duplicates. */
  lower: string[];
  upper?: string;
  work?: string;
  /** Mounted by root of a user namespace: trusted.* xattrs are out of reach, overlayfs uses user.* (userxattr). */
  userxattr: boolean;
  /**
   * The upper dir must hold every change in full, because it is sealed as a layer: no redirected dirs, no
   * metadata-only copy-ups, no index (a userxattr mount never makes them, and refuses the options).
   */
  sealable?: boolean;
}

/**
 * The `-o` option string of an overlayfs mount: lowerdir (deduplicated), upperdir and workdir, then userxattr
 * or the sealable options. The one place these options are written (container driver, probe, export, exec).
 */
export function overlayOptions(o: OverlayLayout): string {
  const opts = [`lowerdir=${[...new Set(o.lower)].join(':')}`];
  if (o.upper !== undefined) opts.push(`upperdir=${o.upper}`, `workdir=${o.work ?? ''}`);
  if (o.userxattr) opts.push('userxattr');
  else if (o.sealable) opts.push('redirect_dir=off', 'metacopy=off', 'index=off');
  return opts.join(',');
}
