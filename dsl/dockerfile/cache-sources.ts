import { createHash, type Hash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { contextRelative, globMatches, isUrl, type BuildContext } from './context-sources.js';
import type { Place } from './model.js';

/*
 * The content of what a COPY or ADD reads from the build context, as one digest for the step cache: every file
 * below each source (after .dockerignore), by sorted relative path, with its mode, size and bytes (streamed, or
 * their sha256 remembered by the file's stat: context-hashes.ts), a symlink by its target. Times are left out:
 * touching a file does not make its step run again.
 */

/** The hex sha256 of a file's bytes (streamed). */
async function fileDigest(abs: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The lstat of abs (bigint), undefined when it is missing. Synchronous, as the walk's readdir and readlink: a
 * context is hundreds of entries, and a call through the thread pool costs a rebuild more than the call itself.
 */
function lstatOf(abs: string): BigIntStats | undefined {
  try {
    return lstatSync(abs, { bigint: true });
  } catch {
    return undefined;
  }
}

/** Feeds one path (and, for a directory, everything below it that is not excluded) into h; abs: its host path. */
async function feed(ctx: BuildContext, rel: string, h: Hash, abs = rel ? path.join(ctx.dir, rel) : ctx.dir): Promise<void> {
  const st = lstatOf(abs);
  if (!st) {
    h.update(`missing ${rel}\0`);
    return;
  }
  h.update(`${rel}\0${st.mode.toString(8)}\0${st.isFile() ? st.size : 0}\0`);
  if (st.isSymbolicLink()) h.update(`${readlinkSync(abs)}\0`);
  else if (st.isFile()) {
    h.update(`sha256 ${ctx.hashes ? await ctx.hashes.digest(rel, abs, st) : await fileDigest(abs)}\0`);
  } else if (st.isDirectory()) {
    for (const n of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (!ctx.filter.excluded(r)) await feed(ctx, r, h, `${abs}/${n}`);
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
    const rels = (await globMatches(ctx, rel))?.sort() ?? [rel];
    for (const r of rels) await feed(ctx, r, h);
  }
  await ctx.hashes?.save();
  return h.digest('hex');
}
