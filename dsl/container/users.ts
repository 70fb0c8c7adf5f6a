import { NotFoundError } from '../core/errors.js';
import { InRoot } from '../layer/inroot.js';

/** A numeric user and group to run as. */
export interface Ids {
  uid: number;
  gid: number;
}

/** The rows of a passwd-like file of the container ([] when it is missing); at most 16 MiB are read. */
async function readDb(root: string, file: string): Promise<string[][]> {
  const text = await InRoot.with(root, (r) => r.readFile(file, 16 << 20)?.toString('utf8') ?? '');
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

/**
 * Resolves `user[:group]` (names or numbers) against the container's /etc/passwd and /etc/group,
 * as buildah does: a numeric user absent from passwd runs with gid 0 unless a group is given.
 */
export async function resolveUser(root: string, spec: string | undefined): Promise<Ids> {
  if (!spec) return { uid: 0, gid: 0 };
  const [u, g] = spec.split(':', 2);
  const passwd = await readDb(root, '/etc/passwd');
  let uid: number;
  let gid = 0;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const row = passwd.find((r) => r[2] === u);
    if (row) gid = Number(row[3]);
  } else {
    const row = passwd.find((r) => r[0] === u);
    if (!row) throw new NotFoundError(`user ${u} is not in the container's /etc/passwd`, { hint: 'give a numeric uid, or create the user first' });
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (g !== undefined && g !== '') {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = (await readDb(root, '/etc/group')).find((r) => r[0] === g);
      if (!row) throw new NotFoundError(`group ${g} is not in the container's /etc/group`, { hint: 'give a numeric gid' });
      gid = Number(row[2]);
    }
  }
  return { uid, gid };
}

/** The home directory of uid in the container, if passwd names one. */
export async function homeOf(root: string, uid: number): Promise<string | undefined> {
  return (await readDb(root, '/etc/passwd')).find((r) => r[2] === String(uid))?.[5];
}
