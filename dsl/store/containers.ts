import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { History, ImageConfig } from '../image/types.js';
import { BadInputError, ConflictError, NotFoundError } from '../errors.js';
import { readJson, writeJsonAtomic } from './atomic.js';
import type { StorePaths } from './paths.js';

/** A layer as images and containers reference it: its diffID and the blob that carries it. */
export interface LayerRef {
  diffID: string;
  digest: string;
  size: number;
  mediaType: string;
}

/** A sealed checkpoint of a working container. */
export interface CheckpointRecord extends LayerRef {
  message: string;
  createdBy: string;
  created: string;
  /** The timestamp its file times were clamped to, when it was sealed reproducibly. */
  timestamp?: number;
}

/** The storage driver of a working container. */
export type DriverName = 'overlay' | 'copy';

/** A working container: base image, checkpoints, pending changes (on disk) and the config being edited. */
export interface ContainerRecord {
  id: string;
  name: string;
  /** The image reference the container was made from, as given. */
  from: string;
  /** The base image's ID, when it has one. */
  imageId?: string;
  driver: DriverName;
  baseLayers: LayerRef[];
  /** The config being edited (its rootfs and history are rebuilt at commit). */
  config: ImageConfig;
  /** The base image's history entries. */
  baseHistory: History[];
  checkpoints: CheckpointRecord[];
  /** created_by lines of the verbs applied since the last checkpoint. */
  pending: string[];
  /** True while the user holds a `cairn mount` of the container. */
  mounted?: boolean;
  created: string;
}

const ID_RE = /^[0-9a-f]{64}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Throws unless name is a valid container name. */
export function checkContainerName(name: string): string {
  if (!NAME_RE.test(name) || name.length > 128) {
    throw new BadInputError(`invalid container name ${JSON.stringify(name)}`, { hint: 'use letters, digits, "_", "." and "-", starting with a letter or digit' });
  }
  return name;
}

/** The working-container records of a store. */
export class ContainerRecords {
  constructor(readonly paths: StorePaths) {}

  /** The record file of a container. */
  file(id: string): string {
    if (!ID_RE.test(id)) throw new BadInputError(`invalid container ID ${id}`);
    return path.join(this.paths.container(id), 'container.json');
  }

  /** All container records, oldest first. */
  async list(): Promise<ContainerRecord[]> {
    let ids: string[];
    try {
      ids = await fsp.readdir(this.paths.containers);
    } catch {
      return [];
    }
    const recs = await Promise.all(ids.filter((n) => ID_RE.test(n)).map((id) => readJson<ContainerRecord>(this.file(id))));
    return recs.filter((r): r is ContainerRecord => !!r).sort((a, b) => a.created.localeCompare(b.created));
  }

  private nameLink(name: string): string {
    return path.join(this.paths.containers, 'names', checkContainerName(name));
  }

  /**
   * Reserves a name for container id: a symlink `names/NAME → ID`, made atomically, so two verbs can never
   * take one name. A link left by a container that no longer exists is taken over. False when taken.
   */
  async reserveName(name: string, id: string): Promise<boolean> {
    const link = this.nameLink(name);
    await fsp.mkdir(path.dirname(link), { recursive: true });
    try {
      await fsp.symlink(id, link);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await fsp.readlink(link).catch(() => undefined);
    if (holder && ID_RE.test(holder) && (await readJson<ContainerRecord>(this.file(holder)))) return false;
    await fsp.rm(link, { force: true });
    return this.reserveName(name, id);
  }

  /** Frees a name (only when it still points at id). */
  async releaseName(name: string, id: string): Promise<void> {
    const link = this.nameLink(name);
    if ((await fsp.readlink(link).catch(() => undefined)) === id) await fsp.rm(link, { force: true });
  }

  /** Finds a container by name, full ID or unique ID prefix. */
  async find(nameOrId: string): Promise<ContainerRecord | undefined> {
    if (NAME_RE.test(nameOrId) && nameOrId.length <= 128) {
      const id = await fsp.readlink(this.nameLink(nameOrId)).catch(() => undefined);
      const rec = id && ID_RE.test(id) ? await readJson<ContainerRecord>(this.file(id)) : undefined;
      if (rec && rec.name === nameOrId) return rec;
    }
    if (ID_RE.test(nameOrId)) {
      const rec = await readJson<ContainerRecord>(this.file(nameOrId));
      if (rec) return rec;
    }
    if (!/^[0-9a-f]{3,64}$/.test(nameOrId)) return undefined;
    const all = await this.list();
    const hits = all.filter((r) => r.id.startsWith(nameOrId));
    if (hits.length > 1) throw new ConflictError(`container ID prefix ${nameOrId} is ambiguous`, { hint: 'give the container name' });
    return hits[0];
  }

  /** Like find, but throws NotFoundError. */
  async require(nameOrId: string): Promise<ContainerRecord> {
    const r = await this.find(nameOrId);
    if (!r) throw new NotFoundError(`container ${nameOrId} not found`, { hint: 'see `cairn containers`' });
    return r;
  }

  /** Re-reads a record by ID (after taking its lock). */
  async reload(id: string): Promise<ContainerRecord> {
    const r = await readJson<ContainerRecord>(this.file(id));
    if (!r) throw new NotFoundError(`container ${id} was removed`);
    return r;
  }

  /** Writes a record atomically. */
  async save(rec: ContainerRecord): Promise<void> {
    await writeJsonAtomic(this.file(rec.id), rec);
  }
}
