import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { download } from '../core/fetch.js';
import { makeDirs } from '../core/fsutil.js';
import { seedsUnder } from '../delta/seeds.js';
import { fetchIndex, fetchUpdate } from '../delta/update.js';

/*
 * `tarball:URL`: the file downloaded into a private directory below the store's tmp, then read as
 * tarball:PATH. When the server publishes URL.cidx, segments held by the files the store's exec cache kept
 * (<root>/exec, the parent of tmpDir) are reused and only the rest is fetched by range requests.
 */

/** A downloaded tarball and how to remove it. */
export interface FetchedTarball {
  file: string;
  remove(): Promise<void>;
}

/** Downloads url (rebuilt from cached segments when it has an index) into a new directory below tmpDir. */
export async function fetchTarball(url: string, tmpDir: string): Promise<FetchedTarball> {
  await makeDirs(tmpDir, 0o700);
  const dir = await fsp.mkdtemp(path.join(tmpDir, 'tarball-url-'));
  const remove = (): Promise<void> => fsp.rm(dir, { recursive: true, force: true });
  const file = path.join(dir, path.basename(new URL(url).pathname) || 'tarball');
  try {
    const ans = await fetchIndex(url + '.cidx');
    if (ans.kind === 'index') await fetchUpdate(url, file, ans.index, await seedsUnder(path.join(path.dirname(tmpDir), 'exec')));
    else await download(url, file);
    return { file, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
