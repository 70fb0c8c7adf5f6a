import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { CairnError, ConflictError, NotFoundError, BadInputError } from '../core/errors.js';
import { readDirOrEmpty, readJson, writeJsonAtomic } from '../core/atomic.js';
import { crashPoint } from '../core/crash.js';
import { compareIsoDates } from '../core/timestamp.js';
import { isDigest } from '../oci/digest.js';
import type { StorePaths } from './paths.js';

/** An image in the store: its ID (sha256 hex of the config), names, and manifest blob digest. */
export interface ImageRecord {
  id: string;
  names: string[];
  manifest: string;
  /** When the image entered the store. */
  created: string;
  /** The image's own creation time (its config's `created`), when it has one: what listings show. */
  imageCreated?: string;
}

/** The imageCreated field of a record for a config's `created`, when it is a date. */
export function createdOf(created: unknown): { imageCreated?: string } {
  return typeof created === 'string' && !Number.isNaN(Date.parse(created)) ? { imageCreated: created } : {};
}

const ID_RE = /^[0-9a-f]{64}$/;

/** Throws unless rec, read from file, is a well-formed image record for image id. */
export function checkImageRecord(rec: unknown, id: string, file: string): ImageRecord {
  const r = rec as ImageRecord;
  const ok = !!r && typeof r === 'object' && r.id === id && Array.isArray(r.names) && r.names.every((n) => typeof n === 'string') && isDigest(r.manifest) && typeof r.created === 'string';
  if (!ok) throw new CairnError(`the image record ${file} is malformed`, { kind: 'malformed', hint: 'run `cairn check` to find what is broken in the store' });
  return r;
}

/** The image records of a store (one JSON file each, written atomically). */
export class ImageRecords {
  constructor(readonly paths: StorePaths) {}

  private file(id: string): string {
    if (!ID_RE.test(id)) throw new BadInputError(`invalid image ID ${id}`);
    return path.join(this.paths.images, id + '.json');
  }

  /** All image records, newest first. Any record that cannot be read throws: a listing never fails open. */
  async list(): Promise<ImageRecord[]> {
    const names = (await readDirOrEmpty(this.paths.images)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n));
    const recs = await Promise.all(names.map((n) => this.get(n.slice(0, 64))));
    return recs.filter((r): r is ImageRecord => !!r).sort((a, b) => compareIsoDates(b.created, a.created));
  }

  /** The record with exactly this ID, if any (a malformed one throws). */
  async get(id: string): Promise<ImageRecord | undefined> {
    if (!ID_RE.test(id)) return undefined;
    const file = this.file(id);
    const rec = await readJson<unknown>(file);
    return rec === undefined ? undefined : checkImageRecord(rec, id, file);
  }

  /** Finds an image by normalized name, full ID, `sha256:` ID or unique ID prefix (at least 3 hex digits). */
  async find(nameOrId: string, normalized?: string): Promise<ImageRecord | undefined> {
    // A full ID is read directly, before names (as docker takes 64 hex digits): looking up by ID lists no store.
    const full = /^(?:sha256:)?([0-9a-f]{64})$/.exec(nameOrId);
    const direct = full ? await this.get(full[1]) : undefined;
    if (direct) return direct;
    const all = await this.list();
    const byName = all.find((r) => r.names.includes(nameOrId) || (normalized !== undefined && r.names.includes(normalized)));
    if (byName) return byName;
    const hex = nameOrId.replace(/^sha256:/, '');
    if (!/^[0-9a-f]{3,64}$/.test(hex)) return undefined;
    const hits = all.filter((r) => r.id.startsWith(hex));
    if (hits.length > 1) throw new ConflictError(`image ID prefix ${hex} is ambiguous`, { hint: 'give more digits of the ID' });
    return hits[0];
  }

  /** Like find, but throws NotFoundError. */
  async require(nameOrId: string, normalized?: string): Promise<ImageRecord> {
    const r = await this.find(nameOrId, normalized);
    if (!r) throw new NotFoundError(`image ${nameOrId} not found in the store`, { hint: 'see `cairn images`, or pull it first' });
    return r;
  }

  /** Writes a record (the caller holds the images lock). */
  async save(rec: ImageRecord): Promise<void> {
    await writeJsonAtomic(this.file(rec.id), rec);
  }

  /**
   * Records an image, moving the given names to it from any other image. The new record is saved first: killed
   * between the two steps, a name is on two images for a while (`cairn check` sees it), never on none.
   */
  async add(rec: ImageRecord): Promise<ImageRecord> {
    const existing = await this.get(rec.id);
    const names = [...new Set([...(existing?.names ?? []), ...rec.names])];
    const merged = { ...rec, names, created: existing?.created ?? rec.created };
    // An image recorded again as it is (a rebuild that reused every step) is not written again.
    if (!existing || JSON.stringify(merged) !== JSON.stringify(existing)) await this.save(merged);
    crashPoint('store.image.before-move-names');
    await this.moveNames(rec.names, rec.id);
    return merged;
  }

  /** Takes names away from every image other than keepId. */
  async moveNames(names: string[], keepId: string): Promise<void> {
    if (names.length === 0) return;
    for (const r of await this.list()) {
      if (r.id === keepId) continue;
      const left = r.names.filter((n) => !names.includes(n));
      if (left.length !== r.names.length) await this.save({ ...r, names: left });
    }
  }

  /** Removes a record. */
  async remove(id: string): Promise<void> {
    await fsp.rm(this.file(id), { force: true });
  }
}
