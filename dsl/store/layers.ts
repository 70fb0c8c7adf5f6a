import { promises as fsp } from 'node:fs';
import { isMissing, makeDirs } from '../core/fsutil.js';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BadInputError, NotFoundError } from '../core/errors.js';
import type { XattrFlavor } from '../layer/entry.js';
import type { Compression } from '../layer/compress.js';
import type { BlobStore } from './blobs.js';
import { uniqueSuffix } from '../core/unique.js';
import { digestHex } from '../oci/digest.js';
import type { LayerRef } from './containers.js';
import type { StorePaths } from './paths.js';
import { readDirOrEmpty, readJson, writeJsonAtomic } from '../core/atomic.js';
import { crashPoint } from '../core/crash.js';

/**
 * How a layer with no blob is re-made: by packing the tree of layer `dir` (a diffID) with times clamped to
 * `timestamp`. The tar writer is deterministic, so the bytes, and the diffID, come out the same every time.
 */
export interface PackedLayer {
  dir: string;
  size: number;
  timestamp?: number;
  /**
   * 'fixed': whiteouts and opaque markers with the one fixed header (docs/decisions.md, "Same layers from both
   * storage drivers"). Absent in records written before that: their markers took the header of the overlayfs
   * whiteout, and are packed again that way so the bytes still match their diffID.
   */
  markers?: 'fixed';
}

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
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** A new temporary directory beside the layers. */
  async tempDir(): Promise<string> {
    await makeDirs(this.paths.layers);
    const d = path.join(this.paths.layers, `.tmp-${uniqueSuffix()}`);
    await fsp.mkdir(d);
    return d;
  }

  /** Moves a finished tree into place as the layer diffID (dropping it when that layer exists already). */
  async adopt(diffID: string, tree: string): Promise<string> {
    const dst = this.dir(diffID);
    crashPoint('store.layer.before-adopt');
    try {
      await fsp.rename(tree, dst);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await this.discard(tree);
    }
    return dst;
  }

  /**
   * Removes a tree without waiting for it: renamed aside at once, deleted by a detached `rm -rf` (and by gc,
   * should that be killed). Deleting ten thousand files takes seconds on some filesystems.
   */
  async discard(tree: string): Promise<void> {
    const aside = path.join(this.paths.layers, `.trash-${uniqueSuffix()}`);
    try {
      await fsp.rename(tree, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      await fsp.rm(tree, { recursive: true, force: true });
      return;
    }
    const { spawn } = await import('node:child_process');
    spawn('rm', ['-rf', aside], { detached: true, stdio: 'ignore' }).on('error', () => undefined).unref();
  }

  private packedFile(diffID: string): string {
    return path.join(this.paths.layers, `${digestHex(diffID)}.packed.json`);
  }

  /** Records that layer diffID has no blob and is re-made from a tree (see PackedLayer). */
  async recordPacked(diffID: string, p: PackedLayer): Promise<void> {
    await writeJsonAtomic(this.packedFile(diffID), p);
  }

  /** How layer diffID is re-made, when it has no blob. */
  async packed(diffID: string): Promise<PackedLayer | undefined> {
    return readJson<PackedLayer>(this.packedFile(diffID));
  }

  /** Packs the tree of a packed layer into a tar stream that must hash to diffID. */
  private async repack(diffID: string, p: PackedLayer): Promise<Readable> {
    const [{ scanUpper }, { packEntries }, { verified }] = await Promise.all([
      import('../layer/scan.js'), import('../layer/tarwriter.js'), import('./verify-stream.js'),
    ]);
    const tar = packEntries(await scanUpper(this.dir(p.dir), this.flavor, { legacyMarkers: p.markers !== 'fixed' }), { timestamp: p.timestamp });
    return verified(tar, { digest: diffID, size: p.size }, 'layer');
  }

  /** The uncompressed tar of a layer: its blob decompressed, or its tree packed again. */
  async openTar(l: LayerRef): Promise<Readable> {
    if (await this.blobs.has(l.digest)) {
      const { decompress } = await import('../layer/compress.js');
      return decompress(this.blobs.open(l.digest));
    }
    const p = await this.packed(l.diffID);
    if (!p) throw new NotFoundError(`layer ${l.diffID} has neither a blob nor a tree in the store`, { hint: 'pull or build the image again' });
    return this.repack(l.diffID, p);
  }

  /** The layer's blob as its descriptor gives it (a packed layer's blob is its uncompressed tar). */
  async openBlob(l: LayerRef): Promise<Readable> {
    if (await this.blobs.has(l.digest)) return this.blobs.open(l.digest);
    return this.openTar(l);
  }

  /** The layer in compression comp: itself when it is already, else a compressed blob made once and kept. */
  async compressed(l: LayerRef, comp: Compression): Promise<LayerRef> {
    const [{ compressionOfMediaType, layerMediaType }, { compressor }, { pipeline }] = await Promise.all([
      import('../layer/compress.js'), import('../delta/compress.js'), import('node:stream/promises'),
    ]);
    if ((compressionOfMediaType(l.mediaType) ?? 'none') === comp) return l;
    const cache = path.join(this.paths.layers, `${digestHex(l.diffID)}.${comp}.json`);
    const known = await readJson<LayerRef>(cache);
    if (known && (await this.blobs.has(known.digest))) return known;
    const tar = await this.openTar(l);
    const z = compressor(comp);
    const [, blob] = await Promise.all([pipeline(tar, z), this.blobs.put(z)]);
    const ref: LayerRef = { diffID: l.diffID, digest: blob.digest, size: blob.size, mediaType: layerMediaType(comp) };
    await writeJsonAtomic(cache, ref);
    return ref;
  }

  /** Extracts a layer (verifying its diffID) unless already present; returns its directory. */
  async ensure(layer: LayerRef): Promise<string> {
    if (await this.has(layer.diffID)) return this.dir(layer.diffID);
    const [{ extractLayer }, { HashCounter }, { pipeline }] = await Promise.all([import('../layer/extract.js'), import('./hash.js'), import('node:stream/promises')]);
    const tmp = await this.tempDir();
    try {
      const hc = new HashCounter();
      const tar = await this.openTar(layer);
      await Promise.all([extractLayer(hc, tmp, { whiteouts: 'overlay', flavor: this.flavor }), pipeline(tar, hc)]);
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
    await makeDirs(d);
    return d;
  }

  /** DiffIDs of all extracted layers (an unreadable layers directory throws: a listing never fails open). */
  async list(): Promise<string[]> {
    return (await readDirOrEmpty(this.paths.layers)).filter((n) => /^[0-9a-f]{64}$/.test(n)).map((n) => 'sha256:' + n);
  }

  /** DiffIDs of all layers recorded as packed from a tree. */
  async listPacked(): Promise<string[]> {
    return (await readDirOrEmpty(this.paths.layers)).filter((n) => /^[0-9a-f]{64}\.packed\.json$/.test(n)).map((n) => 'sha256:' + n.slice(0, 64));
  }

  /** Removes an extracted layer and what the store knows of it. */
  async remove(diffID: string): Promise<void> {
    const hex = digestHex(diffID);
    await fsp.rm(this.dir(diffID), { recursive: true, force: true });
    for (const suffix of ['packed', 'gzip', 'zstd', 'none']) await fsp.rm(path.join(this.paths.layers, `${hex}.${suffix}.json`), { force: true });
  }
}
