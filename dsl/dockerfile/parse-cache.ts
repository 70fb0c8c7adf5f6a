import { createHash } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { readJson, writeJsonAtomic } from '../core/atomic.js';
import { BUILD_ID } from '../core/build-id.js';
import type { Dockerfile } from './model.js';

/*
 * Parsed Dockerfiles remembered by their text: STORE/cache/dockerfile-parsed/BUILD/KEY.json holds the model
 * parse.ts made (plain data), BUILD a digest of the running build's ID, KEY the sha256 of the name messages give
 * the file and the text. A rebuild of an unchanged Dockerfile then loads no parser: dockerfile-ast's first parse
 * costs more than the rest of a fully cached rebuild's own work. Only a parse that succeeded is kept; an
 * unbundled cairn (no build ID) keeps none, as its parser may change under the same text. No other build can
 * read an entry, so a build that parses drops the entries of the others (those of an older cairn).
 */

/**
 * The model of a Dockerfile's text (file: its name in messages), from the cache of the store at root when it is
 * there (build: the running build's ID; tests give one).
 */
export async function parseRemembered(text: string, file: string, root: string, build = BUILD_ID): Promise<Dockerfile> {
  if (build === undefined) return (await import('./parse.js')).parseDockerfile(text, file);
  const all = path.join(root, 'cache', 'dockerfile-parsed');
  const mine = createHash('sha256').update(build).digest('hex').slice(0, 16);
  const key = createHash('sha256').update(`${file}\0${text}`).digest('hex');
  const cached = path.join(all, mine, `${key}.json`);
  const known = await readJson<Dockerfile>(cached).catch(() => undefined);
  if (known && known.file === file && Array.isArray(known.stages) && Array.isArray(known.globalArgs)) return known;
  const df = (await import('./parse.js')).parseDockerfile(text, file);
  // Not kept (nor anything dropped) when the store cannot take it (read-only, full): the build goes on.
  const others = (await readdir(all).catch(() => [] as string[])).filter((n) => n !== mine);
  await Promise.all(others.map((n) => rm(path.join(all, n), { recursive: true, force: true }))).catch(() => undefined);
  await writeJsonAtomic(cached, df).catch(() => undefined);
  return df;
}
