import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BadInputError, NotFoundError } from '../core/errors.js';
import type { Place } from './model.js';

/*
 * The sources of a COPY or ADD without --from, found in the build context: each relative to the context's root
 * (a leading / too, as docker takes it), never outside it (`..`, or a symlink leading out), never a path
 * .dockerignore excludes. A directory with excluded entries below it is staged without them.
 */

/** What the context's .dockerignore excludes (ignore.ts). */
export interface ContextFilter {
  excluded(rel: string): boolean;
}

/** The build context: its real path, what is left out of it, and the digests of its files remembered by their stat. */
export interface BuildContext {
  dir: string;
  filter: ContextFilter;
  hashes?: import('./context-hashes.js').ContextHashes;
}

const at = (p: Place) => `${p.file}:${p.line}:${p.column}`;

/**
 * The context-relative paths a glob source matches (in glob's order, excluded ones left out), or undefined when rel is no
 * glob. glob.ts (and picomatch) is loaded only for a source with a glob character in it.
 */
export async function globMatches(ctx: BuildContext, rel: string): Promise<string[] | undefined> {
  if (!rel || !/[*?[]/.test(rel)) return undefined;
  const { glob, isGlob } = await import('../container/glob.js');
  if (!isGlob(rel)) return undefined;
  return (await glob(rel, ctx.dir)).map((m) => path.relative(ctx.dir, m)).filter((r) => !ctx.filter.excluded(r));
}

/** True for an http(s) URL source (ADD downloads it). */
export function isUrl(src: string): boolean {
  return /^https?:\/\//i.test(src);
}

/** The context-relative form of a source as written ('' for the root), or a BadInputError when it leaves the context. */
export function contextRelative(src: string, place: Place): string {
  const rel = path.posix.normalize(src.replace(/^\/+/, '') || '.');
  if (rel === '..' || rel.startsWith('../')) {
    throw new BadInputError(`${at(place)}: ${src} is outside the build context`, { hint: 'COPY and ADD take paths inside the context directory; make the context a directory above it' });
  }
  return rel === '.' ? '' : rel.replace(/\/$/, '');
}

/** Refuses a path whose real location (symlinks followed) is outside the context. */
async function checkInside(ctx: BuildContext, abs: string, src: string, place: Place): Promise<void> {
  let real: string;
  try {
    real = await fsp.realpath(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${at(place)}: ${src} does not exist in the build context`, { hint: `the context is ${ctx.dir}` });
    throw err;
  }
  if (real !== ctx.dir && !real.startsWith(ctx.dir + '/')) {
    throw new BadInputError(`${at(place)}: ${src} leads outside the build context (to ${real})`, { hint: 'COPY and ADD take files inside the context directory' });
  }
}

/** The context-relative paths below dir (a directory of the context at rel) that .dockerignore excludes. */
async function excludedBelow(ctx: BuildContext, rel: string): Promise<boolean> {
  const dir = path.join(ctx.dir, rel);
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (ctx.filter.excluded(r)) return true;
    if (e.isDirectory() && (await excludedBelow(ctx, r))) return true;
  }
  return false;
}

/**
 * The host paths to copy for the sources as written (URLs kept as they are): globs expanded in the context,
 * excluded matches left out; an excluded path named on its own, a missing one, or one outside the context
 * refused. A directory holding excluded entries is copied into stageDir without them (same base name); without
 * stageDir the sources are only checked.
 */
export async function contextSources(ctx: BuildContext, sources: string[], place: Place, stageDir?: () => Promise<string>): Promise<string[]> {
  const out: string[] = [];
  for (const src of sources) {
    if (isUrl(src)) {
      out.push(src);
      continue;
    }
    const rel = contextRelative(src, place);
    let rels: string[];
    const matches = await globMatches(ctx, rel);
    if (matches) {
      rels = matches;
      if (rels.length === 0) throw new NotFoundError(`${at(place)}: no file in the build context matches ${src}`, { hint: '.dockerignore may exclude what it would match' });
    } else {
      if (rel && ctx.filter.excluded(rel)) {
        throw new BadInputError(`${at(place)}: ${src} is excluded by .dockerignore`, { hint: 'remove its pattern from .dockerignore, or copy something else' });
      }
      rels = [rel];
    }
    for (const r of rels) {
      const abs = r ? path.join(ctx.dir, r) : ctx.dir;
      await checkInside(ctx, abs, src, place);
      const st = await fsp.lstat(abs);
      if (stageDir && st.isDirectory() && (await excludedBelow(ctx, r))) out.push(await stageFiltered(ctx, r, await stageDir()));
      else out.push(abs);
    }
  }
  return out;
}

/** Copies the context directory at rel into stage (under the same base name), leaving out what .dockerignore excludes. */
async function stageFiltered(ctx: BuildContext, rel: string, stage: string): Promise<string> {
  const from = rel ? path.join(ctx.dir, rel) : ctx.dir;
  const to = path.join(stage, path.basename(from));
  await fsp.cp(from, to, {
    recursive: true,
    preserveTimestamps: true,
    verbatimSymlinks: true,
    filter: (s) => {
      const r = path.relative(ctx.dir, s);
      return r === '' || r === rel || !ctx.filter.excluded(r);
    },
  });
  // fs.cp makes the top directory with the default mode: give it the source's.
  const st = await fsp.stat(from);
  await fsp.chmod(to, st.mode & 0o7777);
  await fsp.utimes(to, st.atime, st.mtime);
  return to;
}
