import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX, baseOf, joinRel, parentOf, sortByPath, type EntryType } from '../layer/entry.js';

/*
 * The dive view of a container, as pure analysis: the layers (base image layers, checkpoints, pending changes),
 * each given as the entries of its OCI changeset (tar form: '.wh.NAME' deletes NAME, '.wh..wh..opq' hides what the
 * layers below hold in its directory), are applied in order to a tree of the visible paths, each path owned by
 * the layer whose copy shows. What a layer adds, changes and deletes, which of its bytes a later layer overwrites
 * or deletes (wasted), and which cache directories it leaves behind follow from one pass. Reading the layers is
 * layer-read.ts's.
 */

/** One path a step or layer changed, with its size after the change (0 for a deletion). */
export interface ChangedPath {
  kind: 'A' | 'C' | 'D';
  path: string;
  size: number;
}

/** One layer of a container, the dive way: base image layers, checkpoints, then the pending changes. */
export interface LayerView {
  kind: 'base' | 'checkpoint' | 'pending';
  /** Checkpoint number (1…), for rollback. */
  index?: number;
  message?: string;
  diffID?: string;
  /** Bytes of the files it holds. */
  size: number;
  added: ChangedPath[];
  changed: ChangedPath[];
  deleted: ChangedPath[];
  /** Bytes of this layer that a later layer overwrites or deletes, with the paths. */
  wasted: { bytes: number; paths: string[] };
  /** Cache directories it leaves behind (/var/cache/apt, /root/.cache…) and their bytes. */
  caches: { path: string; bytes: number }[];
  /** What to do about the waste, in one line each (rollback N, or delete before the checkpoint). */
  suggestions: string[];
}

/** One entry of a layer's changeset, as a tar (or scanUpper) gives it: a relative path, its type, its size. */
export interface LayerItem {
  path: string;
  type: EntryType;
  size: number;
}

/** A layer to analyse: what it is, and its changeset. */
export interface LayerInput {
  kind: LayerView['kind'];
  index?: number;
  message?: string;
  diffID?: string;
  entries: LayerItem[];
}

/**
 * The cache directories a layer should not leave behind, and how to delete each. A '*' component matches any one
 * name; a pattern starting with '**' matches a directory of that name anywhere (reported as one, with the pattern).
 */
export const CACHE_DIRS: readonly { pattern: string; remedy: string }[] = [
  { pattern: '/var/cache/apt', remedy: 'apt-get clean' },
  { pattern: '/var/lib/apt/lists', remedy: 'rm -rf /var/lib/apt/lists/*' },
  { pattern: '/root/.cache', remedy: 'rm -rf /root/.cache, or pip --no-cache-dir' },
  { pattern: '/root/.npm', remedy: 'npm cache clean --force' },
  { pattern: '/home/*/.cache', remedy: 'rm -rf ~/.cache' },
  { pattern: '/tmp', remedy: 'rm -rf /tmp/*' },
  { pattern: '/var/tmp', remedy: 'rm -rf /var/tmp/*' },
  { pattern: '**/__pycache__', remedy: 'find / -name __pycache__ -prune -exec rm -rf {} +, or PYTHONDONTWRITEBYTECODE=1' },
];

/** A visible path of the tree being built: which layer's copy shows, and its bytes (regular files only). */
interface Node {
  owner: number;
  size: number;
  dir: boolean;
  children?: Map<string, Node>;
}

/** What one layer lost to later ones: bytes by the path in this layer (a deleted directory counts once), and by the layer that did it. */
interface Loss {
  bytes: number;
  byPath: Map<string, number>;
  byLayer: Map<number, { bytes: number; paths: Map<string, number> }>;
}

/** Bytes in a human unit: '812 B', '4.0 KB', '40 MB' (powers of 1024, as du -h). */
export function humanBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** How a layer is named in suggestions. */
function label(l: LayerInput, i: number, bases: number): string {
  if (l.kind === 'base') return `base layer ${i + 1}`;
  if (l.kind === 'checkpoint') return `checkpoint ${l.index ?? i - bases + 1}`;
  return 'the pending changes';
}

/** CACHE_DIRS as regular expressions over relative paths (a file below the directory matches). */
const CACHE_RES = CACHE_DIRS.map((c) => {
  const anywhere = c.pattern.startsWith('**/');
  const body = c.pattern.slice(anywhere ? 3 : 1).split('/').map((p) => (p === '*' ? '[^/]+' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
  return { re: new RegExp(anywhere ? `(?:^|/)${body}/` : `^(${body})/`), anywhere, ...c };
});

/** The cache directory path rel (no leading '/') lies in, if any, as CACHE_DIRS names it. */
export function cacheDirOf(rel: string): { path: string; remedy: string } | undefined {
  for (const c of CACHE_RES) {
    const m = c.re.exec(rel);
    if (m) return { path: c.anywhere ? c.pattern : '/' + m[1], remedy: c.remedy };
  }
  return undefined;
}

/** The paths of a map of bytes by path, the most bytes first. */
const byBytes = (m: Map<string, number>): string[] => [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([p]) => p);

const bySizeThenPath = (a: ChangedPath, b: ChangedPath): number => b.size - a.size || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Analyses layers (bottom first): what each adds, changes and deletes, wastes and leaves in caches, with suggestions. */
export function analyzeLayers(layers: LayerInput[]): LayerView[] {
  const root: Node = { owner: -1, size: 0, dir: true, children: new Map() };
  const losses: Loss[] = layers.map(() => ({ bytes: 0, byPath: new Map(), byLayer: new Map() }));
  const views: LayerView[] = [];

  const lookup = (rel: string): { parent: Node | undefined; node: Node | undefined } => {
    let parent: Node | undefined;
    let node: Node | undefined = root;
    for (const c of rel.split('/')) {
      parent = node;
      node = node?.children?.get(c);
      if (!node) return { parent: parent?.dir ? parent : undefined, node: undefined };
    }
    return { parent, node };
  };
  /** Charges a lost node and everything below it to the layers that own them, as lost by `by` at path `at`. */
  const lose = (node: Node, at: string, by: number, removed?: Set<string>, rel?: string): void => {
    if (removed && rel !== undefined) removed.add(rel);
    if (!node.dir && node.size > 0 && node.owner >= 0) {
      const l = losses[node.owner];
      l.bytes += node.size;
      l.byPath.set(at, (l.byPath.get(at) ?? 0) + node.size);
      let b = l.byLayer.get(by);
      if (!b) l.byLayer.set(by, (b = { bytes: 0, paths: new Map() }));
      b.bytes += node.size;
      b.paths.set(at, (b.paths.get(at) ?? 0) + node.size);
    }
    for (const [name, child] of node.children ?? []) lose(child, at, by, removed, rel === undefined ? undefined : joinRel(rel, name));
  };
  /** Makes the directories of rel's parent visible (a layer normally holds them; a hand-made tar may not). */
  const ensureParent = (rel: string, owner: number): Node => {
    let node = root;
    let at = '';
    for (const c of rel.split('/').slice(0, -1)) {
      at = joinRel(at, c);
      let next = node.children!.get(c);
      if (!next || !next.dir) {
        if (next) lose(next, '/' + at, owner);
        next = { owner, size: 0, dir: true, children: new Map() };
        node.children!.set(c, next);
      }
      node = next;
    }
    return node;
  };

  layers.forEach((layer, i) => {
    const entries = sortByPath([...layer.entries]);
    const view: LayerView = {
      kind: layer.kind, ...(layer.index !== undefined ? { index: layer.index } : {}), ...(layer.message !== undefined ? { message: layer.message } : {}),
      ...(layer.diffID !== undefined ? { diffID: layer.diffID } : {}),
      size: 0, added: [], changed: [], deleted: [], wasted: { bytes: 0, paths: [] }, caches: [], suggestions: [],
    };
    const files = entries.filter((e) => !baseOf(e.path).startsWith(WHITEOUT_PREFIX));
    const own = new Set(files.map((e) => e.path));
    const hasChildren = new Set(files.map((e) => parentOf(e.path)));
    // Deletions first: a layer's whiteouts and opaque markers apply to the layers below it only.
    const removed = new Set<string>();
    for (const e of entries) {
      const name = baseOf(e.path);
      if (!name.startsWith(WHITEOUT_PREFIX)) continue;
      const dir = parentOf(e.path);
      if (name === OPAQUE_WHITEOUT) {
        const { node } = dir === '' ? { node: root } : lookup(dir);
        if (!node?.dir) continue;
        for (const [n, child] of node.children!) {
          const rel = joinRel(dir, n);
          lose(child, '/' + rel, i, removed, rel);
          if (!own.has(rel)) view.deleted.push({ kind: 'D', path: '/' + rel, size: 0 });
        }
        node.children!.clear();
        continue;
      }
      const rel = joinRel(dir, name.slice(WHITEOUT_PREFIX.length));
      const { parent, node } = lookup(rel);
      if (!node || !parent) continue;
      lose(node, '/' + rel, i, removed, rel);
      parent.children!.delete(baseOf(rel));
      view.deleted.push({ kind: 'D', path: '/' + rel, size: 0 });
    }
    for (const e of files) {
      const isDir = e.type === 'directory';
      const size = e.type === 'file' ? e.size : 0;
      view.size += size;
      const parent = ensureParent(e.path, i);
      const name = baseOf(e.path);
      const prev = parent.children!.get(name);
      const wasThere = prev !== undefined || removed.has(e.path);
      if (prev && (!isDir || !prev.dir)) lose(prev, '/' + e.path, i);
      if (prev?.dir && isDir) prev.owner = i;
      else parent.children!.set(name, { owner: i, size, dir: isDir, ...(isDir ? { children: prev?.dir ? prev.children : new Map() } : {}) });
      if (isDir && (wasThere || hasChildren.has(e.path))) continue;
      (wasThere ? view.changed : view.added).push({ kind: wasThere ? 'C' : 'A', path: '/' + e.path, size });
    }
    views.push(view);
  });

  // Caches: what each layer's files still visible at the end leave in the known cache directories.
  const caches = layers.map(() => new Map<string, { bytes: number; remedy: string }>());
  const walk = (node: Node, rel: string): void => {
    for (const [name, child] of node.children ?? []) {
      const r = joinRel(rel, name);
      if (child.dir) walk(child, r);
      else if (child.size > 0 && child.owner >= 0) {
        const c = cacheDirOf(r);
        if (!c) continue;
        const m = caches[child.owner];
        const known = m.get(c.path);
        if (known) known.bytes += child.size;
        else m.set(c.path, { bytes: child.size, remedy: c.remedy });
      }
    }
  };
  walk(root, '');

  const bases = layers.filter((l) => l.kind === 'base').length;
  views.forEach((v, i) => {
    v.added.sort(bySizeThenPath);
    v.changed.sort(bySizeThenPath);
    v.deleted.sort(bySizeThenPath);
    const loss = losses[i];
    v.wasted = { bytes: loss.bytes, paths: byBytes(loss.byPath) };
    v.caches = [...caches[i]].map(([path, c]) => ({ path, bytes: c.bytes })).sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1));
    const name = label(layers[i], i, bases);
    const lines: { bytes: number; text: string }[] = [];
    for (const [path, c] of caches[i]) {
      const what = `${name} ${v.kind === 'pending' ? 'leave' : 'leaves'} ${humanBytes(c.bytes)} in ${path}`;
      const text = v.kind === 'checkpoint'
        ? `${what}: \`rollback ${(v.index ?? 1) - 1}\`, then delete it (${c.remedy}) in the same step before \`checkpoint\``
        : v.kind === 'pending'
          ? `${what}: delete it (${c.remedy}) before \`checkpoint\``
          : `${what}: it comes with the base image (deleting it in a later layer hides it but does not shrink the image)`;
      lines.push({ bytes: c.bytes, text });
    }
    for (const [by, b] of loss.byLayer) {
      const paths = byBytes(b.paths);
      const shown = paths.slice(0, 3).join(', ') + (paths.length > 3 ? `, +${paths.length - 3} more` : '');
      const what = `${humanBytes(b.bytes)} of ${name} is overwritten or deleted by ${label(layers[by], by, bases)} (${shown})`;
      const text = v.kind === 'checkpoint'
        ? `${what}: \`rollback ${(v.index ?? 1) - 1}\` and redo the step without them, so the image does not carry them twice`
        : `${what}: a later layer only hides them, the image still carries them`;
      lines.push({ bytes: b.bytes, text });
    }
    v.suggestions = lines.sort((a, b) => b.bytes - a.bytes).map((l) => l.text);
  });
  return views;
}
