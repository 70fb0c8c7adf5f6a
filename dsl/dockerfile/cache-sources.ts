import { createHash, type Hash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { glob, isGlob } from '../container/glob.js';
import { contextRelative, isUrl, type BuildContext } from './context-sources.js';
import type { Place } from './model.js';

/*
 * The content of what a COPY or ADD reads from the build context, as one digest for the step cache: every file
 * below each source (after .dockerignore), by sorted relative path, with its mode, size and bytes (streamed),
 * a symlink by its target. Times are left out: touching a file does not make its step run again.
 */

/** Feeds one path (and, for a directory, everything below it that is not excluded) into h. */
async function feed(ctx: BuildContext, rel: string, h: Hash): Promise<void> {
  const abs = rel ? path.join(ctx.dir, rel) : ctx.dir;
  const st = await fsp.lstat(abs).catch(() => undefined);
  if (!st) {
    h.update(`missing ${rel}\0`);
    return;
  }
  h.update(`${rel}\0${st.mode.toString(8)}\0${st.isFile() ? st.size : 0}\0`);
  if (st.isSymbolicLink()) h.update(`${await fsp.readlink(abs)}\0`);
  else if (st.isFile()) {
    for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  } else if (st.isDirectory()) {
    const names = (await fsp.readdir(abs)).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      if (!ctx.filter.excluded(r)) await feed(ctx, r, h);
    }
  }
}

/** The digest of the context content the sources (as expanded; URLs stand for themselves) name. */
export async function sourcesDigest(ctx: BuildContext, sources: readonly string[], place: Place): Promise<string> {
  const h = createHash('sha256');
  for (const src of sources) {
    h.update(`source ${src}\0`);
    // An ADD of a URL is keyed by the URL alone: what it serves is not fetched to decide (a changed download is not seen).
    if (isUrl(src)) continue;
    const rel = contextRelative(src, place);
    const rels = rel && isGlob(rel) ? (await glob(rel, ctx.dir)).map((m) => path.relative(ctx.dir, m)).filter((r) => !ctx.filter.excluded(r)).sort() : [rel];
    for (const r of rels) await feed(ctx, r, h);
  }
  return h.digest('hex');
}
