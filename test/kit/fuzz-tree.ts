import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';

/**
 * Random directory trees for fuzzing whatever resolves paths inside a root: dirs, files and symlinks named
 * from a small alphabet, with link targets that climb ('..'), jump to '/', chain, loop, or aim at a canary
 * directory beside the root (by its host path and by relative climbs). The canary's own names use the same
 * alphabet, so any write that escapes into it changes it.
 */

/** The names trees are made of; 'x' is never created, so paths through it are missing. */
export const NAMES = ['a', 'b', 'c'] as const;
/** The placeholder a generated link target or path uses for the canary's absolute host path. */
export const CANARY = '@CANARY@';

/** One object of a generated tree. */
export type TreeNode = { kind: 'dir' } | { kind: 'file'; content: string } | { kind: 'symlink'; target: string };

/** A generated tree: objects by relative path, in generation order (the first of a path wins). */
export type TreeSpec = [string, TreeNode][];

const name = fc.constantFrom(...NAMES);
const anyComponent = fc.constantFrom('a', 'b', 'c', 'x', '..', '.', '', 'a', 'b', '..');

/** A path made of components (names, '..', '.', empty ones for '//'), absolute or relative, maybe naming the canary. */
export const fuzzPath: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.boolean(), fc.array(anyComponent, { maxLength: 7 })).map(([abs, cs]) => (abs ? '/' : '') + cs.join('/')) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(4), fc.array(name, { maxLength: 2 })).map(([up, cs]) => [...Array(up).fill('..'), 'canary', ...cs].join('/')) },
  { weight: 1, arbitrary: fc.array(name, { maxLength: 2 }).map((cs) => [CANARY, ...cs].join('/')) },
  { weight: 1, arbitrary: fc.constantFrom('/', '..', '../..', '.', '', '/..', '//a', 'a/', 'a/..', 'a/../..', '/a/./b/', 'x/../a', 'x/../../a/b') },
);

/** A symlink target: any fuzz path, plus the classic escapes. */
export const linkTarget: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fuzzPath },
  { weight: 1, arbitrary: fc.constantFrom('/', '..', '../..', '../../..', '/..', '/x/../a', 'x/../..', CANARY, '../canary', '../../canary') },
);

const node: fc.Arbitrary<TreeNode> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'dir' } as TreeNode) },
  { weight: 1, arbitrary: fc.constantFrom('1', 'two').map((content): TreeNode => ({ kind: 'file', content })) },
  { weight: 4, arbitrary: linkTarget.map((target): TreeNode => ({ kind: 'symlink', target })) },
);

/** A random tree of up to maxNodes objects, at most three levels deep. */
export function treeSpec(maxNodes = 10): fc.Arbitrary<TreeSpec> {
  return fc.array(fc.tuple(fc.array(name, { minLength: 1, maxLength: 3 }).map((cs) => cs.join('/')), node), { maxLength: maxNodes });
}

/** Replaces the canary placeholder in a generated string. */
export function withCanary(s: string, canary: string): string {
  return s.split(CANARY).join(canary);
}

/** The tree actually built from a spec: every parent a directory, one object per path. */
export function normalizeTree(spec: TreeSpec): Map<string, TreeNode> {
  const m = new Map<string, TreeNode>();
  outer: for (const [p, n] of spec) {
    const cs = p.split('/');
    for (let i = 1; i < cs.length; i++) {
      const q = cs.slice(0, i).join('/');
      const have = m.get(q);
      if (have && have.kind !== 'dir') continue outer;
    }
    if (m.has(p)) continue;
    for (let i = 1; i < cs.length; i++) {
      const q = cs.slice(0, i).join('/');
      if (!m.has(q)) m.set(q, { kind: 'dir' });
    }
    m.set(p, n);
  }
  return m;
}

/**
 * Creates a tree below root (which must exist). Directories and files come first and symlinks last, so the
 * builder itself never writes through a link.
 */
export function buildTree(root: string, spec: TreeSpec, canary: string): void {
  const m = [...normalizeTree(spec)].sort(([a], [b]) => a.split('/').length - b.split('/').length);
  for (const [p, n] of m) if (n.kind === 'dir') mkdirSync(path.join(root, p));
  for (const [p, n] of m) if (n.kind === 'file') writeFileSync(path.join(root, p), n.content, { flag: 'wx' });
  // Linux refuses empty link targets (ENOENT): such a link is left out.
  for (const [p, n] of m) if (n.kind === 'symlink' && n.target !== '') symlinkSync(withCanary(n.target, canary), path.join(root, p));
}

/** Fills a canary directory whose names are those of the trees, so that writes escaping into it are seen. */
export function plantCanary(dir: string): void {
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'a'), 'canary a\n');
  mkdirSync(path.join(dir, 'b'));
  writeFileSync(path.join(dir, 'b', 'a'), 'canary b/a\n');
  mkdirSync(path.join(dir, 'c'));
  mkdirSync(path.join(dir, 'c', 'c'));
  writeFileSync(path.join(dir, 'c', 'c', 'b'), 'canary c/c/b\n', { mode: 0o600 });
  symlinkSync('a', path.join(dir, 'l'));
}

/** Every object below dir (not following links): inode, mode, links, owner, size, times and content; sorted. */
export function snapshot(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = rel ? path.join(dir, rel) : dir;
    const st = lstatSync(abs);
    let extra = '';
    if (st.isFile()) extra = createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 16);
    if (st.isSymbolicLink()) extra = '-> ' + readlinkSync(abs);
    out.push(`${rel || '.'} ino=${st.ino} mode=${st.mode.toString(8)} nlink=${st.nlink} uid=${st.uid} gid=${st.gid} size=${st.size} mtime=${st.mtimeMs} ctime=${st.ctimeMs} ${extra}`);
    if (!st.isDirectory()) return;
    for (const n of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (!skip(r)) walk(r);
    }
  };
  walk('');
  return out;
}

/**
 * What the names of the alphabet are in every ancestor of dir up to '/' (absent, or their inode and times):
 * a write that escapes above the sandbox shows up here.
 */
export function ancestorsState(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    for (const n of [...NAMES, 'x', 'canary']) {
      const p = path.join(d, n);
      try {
        const st = lstatSync(p);
        out.push(`${p} ino=${st.ino} mtime=${st.mtimeMs} ctime=${st.ctimeMs}`);
      } catch {
        out.push(`${p} absent`);
      }
    }
    if (d === '/') break;
  }
  return out;
}

/** True when abs is root or below it, lexically. */
export function lexicallyInside(root: string, abs: string): boolean {
  return abs === root || abs.startsWith(root + '/');
}

/** The realpath of the deepest existing ancestor of abs (abs itself when it exists; its parent when it is a link not to follow). */
export function realAncestor(abs: string, follow = true): string {
  const start = !follow && lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink() ? path.dirname(abs) : abs;
  for (let p = start; ; p = path.dirname(p)) {
    try {
      return realpathSync(p);
    } catch {
      if (p === '/') throw new Error(`no ancestor of ${abs} exists`);
    }
  }
}

/** Throws unless every existing component of rel below root is a real directory (the last one may be anything but, unless lastMaySymlink, a symlink). */
export function assertPhysical(root: string, rel: string, lastMaySymlink: boolean): void {
  if (rel === '') return;
  const cs = rel.split('/');
  if (cs.some((c) => c === '' || c === '.' || c === '..')) throw new Error(`resolved path ${JSON.stringify(rel)} is not clean`);
  for (let i = 0; i < cs.length; i++) {
    const p = path.join(root, ...cs.slice(0, i + 1));
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    const last = i === cs.length - 1;
    if (!last && !st.isDirectory()) throw new Error(`component /${cs.slice(0, i + 1).join('/')} of resolved path /${rel} is not a real directory`);
    if (last && st.isSymbolicLink() && !lastMaySymlink) throw new Error(`resolved path /${rel} is a symlink although it was followed`);
  }
}

/**
 * An oracle for in-root resolution: resolves paths with the kernel inside a chroot of root (real root or a
 * user namespace's root only). Needs a static busybox; undefined when it cannot run here.
 */
export class ChrootOracle {
  private constructor(private readonly busybox: string) {}

  /** Sets the oracle up below work (busybox copied there once), or undefined when chroot is not possible. */
  static create(work: string): ChrootOracle | undefined {
    if (process.getuid?.() !== 0 || !existsSync('/bin/busybox') || process.env.FUZZ_ORACLE === '0') return undefined;
    const bb = path.join(work, 'busybox');
    copyFileSync('/bin/busybox', bb);
    const probe = path.join(work, 'probe');
    const o = new ChrootOracle(bb);
    try {
      mkdirSync(probe);
      o.install(probe);
      if (o.resolve(probe, [{ p: '/', follow: true }])[0] !== lstatSync(probe).ino) return undefined;
    } catch {
      return undefined;
    }
    return o;
  }

  /** Puts busybox at /bin/busybox in root (the trees never use the name 'bin'). */
  install(root: string): void {
    mkdirSync(path.join(root, 'bin'));
    try {
      linkSync(this.busybox, path.join(root, 'bin', 'busybox'));
    } catch {
      copyFileSync(this.busybox, path.join(root, 'bin', 'busybox'));
    }
  }

  /** The kernel's answer for each path inside the chroot: the inode it finds (stat, or lstat without follow), or undefined. */
  resolve(root: string, queries: { p: string; follow: boolean }[]): (number | undefined)[] {
    const asPath = (p: string): string => (p.startsWith('/') ? p : '/' + p);
    const inodes = new Map<string, number>();
    // One chroot and two busybox stats for all paths (lists in FOLLOW and NOFOLLOW, one per line); each prints
    // 'F|N INODE NAME' for the paths it finds. No /dev in there, so errors are closed off.
    const script = 'set -f; IFS="\n"; exec 2>&-; [ -z "$FOLLOW" ] || /bin/busybox stat -L -c "F %i %n" $FOLLOW; [ -z "$NOFOLLOW" ] || /bin/busybox stat -c "N %i %n" $NOFOLLOW; exit 0';
    const list = (follow: boolean): string => queries.filter((q) => q.follow === follow).map((q) => asPath(q.p)).join('\n');
    const r = spawnSync('chroot', [root, '/bin/busybox', 'sh', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: process.env.PATH, FOLLOW: list(true), NOFOLLOW: list(false) } });
    if (r.error) throw r.error;
    for (const line of r.stdout.split('\n')) {
      const m = /^([FN]) (\d+) (.*)$/.exec(line);
      if (m) inodes.set(`${m[1] === 'F'}:${m[3]}`, Number(m[2]));
    }
    return queries.map((q) => inodes.get(`${q.follow}:${asPath(q.p)}`));
  }
}
