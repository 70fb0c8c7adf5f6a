// Comparing two unpacked root filesystems file by file: for the Dockerfile conformance suite, where cairn's
// image and buildah's image of the same Dockerfile must hold the same files.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** One path of a tree: type letter (find's %y), mode, owner, link count, size and sha256 (regular files), link target. */
export interface Entry {
  type: string;
  mode: string;
  owner: string;
  nlink: string;
  size: string;
  digest: string;
  link: string;
}

/** The fields of an Entry that differ between two trees. */
export type Field = keyof Entry;

/**
 * Every path below root (as `/a/b`), read with host find(1) and digested here. Directory sizes and link
 * counts are left empty (they depend on the filesystem); times are not read at all.
 */
export function rootfsEntries(root: string): Map<string, Entry> {
  const out = execFileSync('find', [root, '-mindepth', '1', '-printf', '%y\\t%P\\t%#m\\t%U:%G\\t%n\\t%s\\t%l\\n'], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const entries = new Map<string, Entry>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [type, rel, mode, owner, nlink, size, link] = line.split('\t');
    const dir = type === 'd';
    const digest = type === 'f' ? createHash('sha256').update(readFileSync(path.join(root, rel))).digest('hex') : '';
    entries.set(`/${rel}`, { type, mode, owner, nlink: dir ? '' : nlink, size: dir ? '' : size, digest, link });
  }
  return entries;
}

/** How one path differs: only in the first tree, only in the second, or in both with the fields that differ. */
export interface Difference {
  path: string;
  kind: 'only-first' | 'only-second' | 'differs';
  fields: Field[];
  /** A one-line description, for failure messages. */
  text: string;
}

/** A difference two builders are allowed: the paths it covers, which kinds (and fields), and why. */
export interface Allowance {
  path: RegExp;
  kind: Difference['kind'];
  /** For `differs`: the fields that may differ (all of the difference's fields must be among them). */
  fields?: Field[];
  reason: string;
}

/** Every difference between two entry maps, sorted by path. */
export function compareEntries(first: Map<string, Entry>, second: Map<string, Entry>): Difference[] {
  const diffs: Difference[] = [];
  const show = (e: Entry) => `${e.type} ${e.mode} ${e.owner} n=${e.nlink} ${e.size} ${e.digest.slice(0, 12)}${e.link ? ` -> ${e.link}` : ''}`;
  for (const [p, a] of first) {
    const b = second.get(p);
    if (!b) {
      diffs.push({ path: p, kind: 'only-first', fields: [], text: `${p}: only in the first (${show(a)})` });
      continue;
    }
    const fields = (Object.keys(a) as Field[]).filter((f) => a[f] !== b[f]);
    if (fields.length) diffs.push({ path: p, kind: 'differs', fields, text: `${p}: ${fields.join(',')} differ: ${show(a)} vs ${show(b)}` });
  }
  for (const [p, b] of second) if (!first.has(p)) diffs.push({ path: p, kind: 'only-second', fields: [], text: `${p}: only in the second (${show(b)})` });
  return diffs.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** The differences no allowance covers. */
export function unexplained(diffs: Difference[], allowances: Allowance[]): Difference[] {
  return diffs.filter(
    (d) => !allowances.some((a) => a.kind === d.kind && a.path.test(d.path) && (d.kind !== 'differs' || d.fields.every((f) => a.fields?.includes(f)))),
  );
}
