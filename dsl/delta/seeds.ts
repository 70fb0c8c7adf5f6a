import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { readDirOrEmpty } from '../core/atomic.js';
import { decodeIndex } from './cidx.js';
import type { Seed } from './plan.js';

/*
 * Where updates find segments to reuse: files kept with their index as `<dir>/<sha256 hex>/image` and
 * `image.cidx` (the exec cache keeps every image that came with an index this way: dsl/exec/fetch-url.ts).
 */

/** The name of a kept file in its directory. */
export const KEPT_FILE = 'image';
/** The name of its index. */
export const KEPT_INDEX = 'image.cidx';

/** The kept files below dir whose index matches them (size, and the sha256 the directory is named for). */
export async function seedsUnder(dir: string): Promise<Seed[]> {
  const out: Seed[] = [];
  for (const hex of await readDirOrEmpty(dir)) {
    if (!/^[0-9a-f]{64}$/.test(hex)) continue;
    const file = path.join(dir, hex, KEPT_FILE);
    try {
      const index = decodeIndex(await fsp.readFile(path.join(dir, hex, KEPT_INDEX)), file);
      const st = await fsp.stat(file);
      if (st.size === index.fileSize && index.fileSha256.toString('hex') === hex) out.push({ file, index });
    } catch {
      // No kept file, or a damaged index: nothing to reuse there (every segment read is checked anyway).
    }
  }
  return out;
}
