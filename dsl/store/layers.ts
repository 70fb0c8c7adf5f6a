import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { BadInputError } from '../errors.js';
import type { XattrFlavor } from '../layer/entry.js';
import type { BlobStore } from './blobs.js';
import { HashCounter } from './blobs.js';
import { digestHex } from './digest.js';
import type { LayerRef } from './containers.js';
import type { StorePaths } from './paths.js';

/** Extracted layers, each a directory in overlayfs lower-layer form, named by its diffID. */
export class LayerStore {
  constructor(readonly paths: StorePaths, readonly blobs: BlobStore, readonly flavor: XattrFlavor) {}

  /** The directory of an extracted layer. */
  dir(diffID: string): string {
    return this.paths.layer(digestHex(diffID));
  }

  /** True when the layer is extracted. */
  async has(diffID: string): Promise<boolean> {
    try {
      await fsp.access(this.dir(diffID));
      return true;
    } catch {
      return false;
    }
  }

  /** A new temporary directory beside the layers. */
  async tempDir(): Promise<string> {
    await fsp.mkdir(this.paths.layers, { recursive: true });
    const d = path.join(this.paths.layers, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    await fsp.mkdir(d);
    return d;
  }

  /** Moves a finished tree into place as the layer diffID (dropping it when that layer exists already). */
  async adopt(diffID: string, tree: string): Promise<string> {
    const dst = this.dir(diffID);
    try {
      await fsp.rename(tree, dst);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await fsp.rm(tree, { recursive: true, force: true });
    }
    return dst;
  }

  /** Extracts a layer's blob (verifying its diffID) unless already present; returns its directory. */
  async ensure(layer: LayerRef): Promise<string> {
    if (await this.has(layer.diffID)) return this.dir(layer.diffID);
    const [{ decompress }, { extractLayer }] = await Promise.all([import('../layer/compress.js'), import('../layer/extract.js')]);
    const tmp = await this.tempDir();
    try {
      const hc = new HashCounter();
      const plain = decompress(this.blobs.open(layer.digest));
      const tee = pipeline(plain, hc);
      await Promise.all([
        extractLayer(hc, tmp, { whiteouts: 'overlay', flavor: this.flavor }),
        tee,
      ]);
      if (hc.digest() !== layer.diffID) {
        throw new BadInputError(`layer ${layer.digest} does not match its diffID ${layer.diffID}`, { hint: 'the image is corrupt; pull it again' });
      }
      return await this.adopt(layer.diffID, tmp);
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** An empty directory usable as the lowest layer of an image with no layers. */
  async empty(): Promise<string> {
    const d = path.join(this.paths.layers, 'empty');
    await fsp.mkdir(d, { recursive: true });
    return d;
  }

  /** DiffIDs of all extracted layers. */
  async list(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.paths.layers)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => 'sha256:' + n);
    } catch {
      return [];
    }
  }

  /** Removes an extracted layer. */
  async remove(diffID: string): Promise<void> {
    await fsp.rm(this.dir(diffID), { recursive: true, force: true });
  }
}
