import { NotFoundError } from '../core/errors.js';
import { findGroup, findUser, parseGroup, parsePasswd, type GroupEntry, type PasswdEntry } from '../core/passwd.js';
import { InRoot } from '../layer/inroot.js';

/** A numeric user and group to run as. */
export interface Ids {
  uid: number;
  gid: number;
}

/**
 * The text of a passwd-like file of the container, '' when it is missing (only then: any other failure, a
 * FIFO or a file too large, is thrown by the in-root resolver); at most 16 MiB are read.
 */
async function readDb(root: string, file: string): Promise<string> {
  return InRoot.with(root, (r) => r.readFile(file, 16 << 20)?.toString('utf8') ?? '');
}

async function passwdOf(root: string): Promise<PasswdEntry[]> {
  return parsePasswd(await readDb(root, '/etc/passwd'));
}

async function groupsOf(root: string): Promise<GroupEntry[]> {
  return parseGroup(await readDb(root, '/etc/group'));
}

/**
 * Resolves `user[:group]` (names or numbers) against the container's /etc/passwd and /etc/group,
 * as buildah does: a numeric user absent from passwd runs with gid 0 unless a group is given.
 */
export async function resolveUser(root: string, spec: string | undefined): Promise<Ids> {
  if (!spec) return { uid: 0, gid: 0 };
  const [u, g] = spec.split(':', 2);
  const passwd = await passwdOf(root);
  let uid: number;
  let gid = 0;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const row = findUser(passwd, uid);
    if (row) gid = row.gid;
  } else {
    const row = findUser(passwd, u);
    if (!row) throw new NotFoundError(`user ${u} is not in the container's /etc/passwd`, { hint: 'give a numeric uid, or create the user first' });
    uid = row.uid;
    gid = row.gid;
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = findGroup(await groupsOf(root), g);
      if (!row) throw new NotFoundError(`group ${g} is not in the container's /etc/group`, { hint: 'give a numeric gid' });
      gid = row.gid;
    }
  }
  return { uid, gid };
}

/** The home directory of uid in the container, if passwd names one. */
export async function homeOf(root: string, uid: number): Promise<string | undefined> {
  return findUser(await passwdOf(root), uid)?.home || undefined;
}
