import { readFileSync } from 'node:fs';
import { CairnError } from './errors.js';
import { isMissing } from './fsutil.js';

/*
 * Parsing /etc/passwd and /etc/group text (passwd(5), group(5)). Reading the file is the caller's: inside an
 * image root through the in-root resolver (container/users.ts), on the host with readHostDb. A line that is
 * not a well-formed entry (too few fields, a non-numeric id) is skipped, as glibc's getpwnam skips it, so it
 * can never yield a NaN id.
 */

/** One passwd entry. */
export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** One group entry. */
export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const ID = /^[0-9]{1,10}$/;

function rows(text: string): string[][] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

function id(s: string | undefined): number | undefined {
  if (s === undefined || !ID.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffffffff ? n : undefined;
}

/** The well-formed entries of passwd text, in file order. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of rows(text)) {
    const uid = id(f[2]);
    const gid = id(f[3]);
    if (f.length < 4 || !f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return out;
}

/** The well-formed entries of group text, in file order. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of rows(text)) {
    const gid = id(f[2]);
    if (f.length < 3 || !f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').filter(Boolean) });
  }
  return out;
}

/** The first passwd entry with this name, or (for a number) this uid. */
export function findUser(entries: PasswdEntry[], who: string | number): PasswdEntry | undefined {
  return typeof who === 'number' ? entries.find((e) => e.uid === who) : entries.find((e) => e.name === who);
}

/** The first group entry with this name, or (for a number) this gid. */
export function findGroup(entries: GroupEntry[], which: string | number): GroupEntry | undefined {
  return typeof which === 'number' ? entries.find((e) => e.gid === which) : entries.find((e) => e.name === which);
}

/** The host's passwd entries (from `file`, default /etc/passwd): [] when it is missing; unreadable throws. */
export function readHostPasswd(file = '/etc/passwd'): PasswdEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (isMissing(err)) return [];
    throw new CairnError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: `make ${file} readable`, cause: err });
  }
  return parsePasswd(text);
}
