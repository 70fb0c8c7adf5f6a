import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { resolveInRoot } from '../dsl/index.js';
import { COMMAND_WORDS, flagOf, positionals, SHELL_VERBS, shellVerbNames } from './commands.js';
import { lineAt } from './line.js';
import type { VerbSpecLike } from './types.js';

/*
 * Tab completion: the verbs first, then a verb's flags, container and image names where a verb takes them, and
 * paths inside the current container for a command's arguments. Paths are read in the container's mounted tree,
 * resolved component by component the way the container sees them (an absolute symlink points into the
 * container, `..` stops at its root): never a host path outside it.
 */

/** What completion reads: the verbs and the store's names, and the current container's tree. */
export interface CompletionSource {
  /** The CLI's verbs (aliases included). */
  verbNames: string[];
  spec(verb: string): Promise<VerbSpecLike>;
  containers(): Promise<string[]>;
  images(): Promise<string[]>;
  /** The entries of a directory inside the current container (none without one). */
  listDir(dir: string): Promise<{ name: string; dir: boolean }[]>;
  /** Where relative paths start in the container (its working directory). */
  workdir?: string;
}

/** The most candidates offered. */
const MAX = 500;

/** Verbs whose first argument names an image or a container. */
const NAMES: Record<string, 'containers' | 'images' | 'both'> = {
  use: 'containers',
  from: 'images',
  commit: 'images',
  push: 'images',
  tag: 'images',
  rmi: 'images',
  inspect: 'both',
  export: 'both',
};

/** Flags whose value is a path in the container. */
const PATH_FLAGS = new Set(['workingdir', 'volume', 'tmpfs']);

/** The candidates for the word at cursor: where it starts, and what may replace it (sorted). */
export async function completeLine(line: string, cursor: number, src: CompletionSource): Promise<{ start: number; candidates: string[] }> {
  const at = lineAt(line, cursor);
  const done = (all: string[]) => ({ start: at.start, candidates: [...new Set(all.filter((c) => c.startsWith(at.prefix)))].sort().slice(0, MAX).map(escape) });
  if (at.afterOp) return { start: at.start, candidates: await paths(at.prefix, src) };
  if (at.before.length === 0) return done(shellVerbNames(src.verbNames));
  const verb = at.before[0];
  if (verb === 'help') return at.before.length === 1 ? done(shellVerbNames(src.verbNames)) : done([]);
  if (verb === 'use') return at.before.length === 1 ? done(await src.containers()) : done([]);
  if (verb in SHELL_VERBS) return done([]);
  if (!src.verbNames.includes(verb) || COMMAND_WORDS.has(verb)) return { start: at.start, candidates: await paths(at.prefix, src) };
  const spec = await src.spec(verb);
  const args = at.before.slice(1);
  const prev = args[args.length - 1];
  const prevFlag = prev !== undefined && !prev.includes('=') ? flagOf(spec, prev) : undefined;
  // The command of `run` has begun: its words are paths in the container.
  if (verb === 'run' && (positionals({ ...spec, stopAfter: 1 }, args).at.length > 0 || args.includes('--'))) {
    return { start: at.start, candidates: await paths(at.prefix, src) };
  }
  if (prevFlag?.takesValue) {
    if (prevFlag.name === 'from') return done([...(await src.containers()), ...(await src.images())]);
    if (PATH_FLAGS.has(prevFlag.name) && verb !== 'run') return { start: at.start, candidates: await paths(at.prefix, src) };
    return done([]);
  }
  if (at.prefix.startsWith('-')) return done(flagNames(spec));
  const names = NAMES[verb];
  if (names && positionals(spec, args).at.length === 0) {
    const list = names === 'containers' ? await src.containers() : names === 'images' ? [...(await src.images()), ...(verb === 'from' ? ['scratch'] : [])] : [...(await src.containers()), ...(await src.images())];
    return done(list);
  }
  if (verb === 'run') return { start: at.start, candidates: await paths(at.prefix, src) };
  return done([]);
}

/** A verb's flags as they are typed: --name for each, and the aliases. */
export function flagNames(spec: VerbSpecLike): string[] {
  const out = ['--help', '-h', '--quiet', '-q'];
  for (const [name, f] of Object.entries(spec.flags)) out.push(`--${name}`, ...(f.alias ?? []));
  return out;
}

/** Escapes the characters a shell line would split or expand. */
function escape(word: string): string {
  return word.replace(/([\s'"\\$`*?[\]#&|;<>(){}!~])/g, '\\$1');
}

/** Paths in the container that start with prefix (directories end in /; dotfiles only for a prefix naming them). */
async function paths(prefix: string, src: CompletionSource): Promise<string[]> {
  if (prefix.startsWith('-')) return [];
  const slash = prefix.lastIndexOf('/');
  const dirPart = slash >= 0 ? prefix.slice(0, slash + 1) : '';
  const base = prefix.slice(slash + 1);
  const dir = path.posix.resolve(src.workdir || '/', dirPart || '.');
  let entries: { name: string; dir: boolean }[];
  try {
    entries = await src.listDir(dir);
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.name.startsWith(base) && (base.startsWith('.') || !e.name.startsWith('.')))
    .map((e) => dirPart + e.name + (e.dir ? '/' : ''))
    .sort()
    .slice(0, MAX)
    .map(escape);
}

/** The entries of dir inside the container whose tree is at root, each with whether it is (or links to) a directory. */
export async function listInRoot(root: string, dir: string): Promise<{ name: string; dir: boolean }[]> {
  const host = await resolveInRoot(root, dir, { follow: true });
  const names = await fsp.readdir(host, { withFileTypes: true });
  return Promise.all(
    names.slice(0, 5000).map(async (d) => {
      if (!d.isSymbolicLink()) return { name: d.name, dir: d.isDirectory() };
      const inner = path.posix.join(dir, d.name);
      const isDir = await resolveInRoot(root, inner, { follow: true }).then((h) => fsp.stat(h)).then((s) => s.isDirectory(), () => false);
      return { name: d.name, dir: isDir };
    }),
  );
}
