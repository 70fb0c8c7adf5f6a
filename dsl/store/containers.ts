import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { History, ImageConfig } from '../oci/types.js';
import { BadInputError, CairnError, ConflictError, NotFoundError } from '../core/errors.js';
import { crashPoint } from '../core/crash.js';
import { compareIsoDates } from '../core/timestamp.js';
import { readDirOrEmpty, readJson, writeJsonAtomic } from '../core/atomic.js';
import { withLocks } from './lock.js';
import type { StorePaths } from './paths.js';
import { makeDirs } from '../core/fsutil.js';

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
  /** created_by lines of the steps before the one whose entry carries the layer: history entries with no layer of their own (historyPerStep). */
  steps?: string[];
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
  /** One history entry per pending line (as buildah's Dockerfile builds), not one joined entry per checkpoint. */
  historyPerStep?: boolean;
  /** True while the user holds a `cairn mount` of the container. */
  mounted?: boolean;
  /** Manifest annotations (`config --annotation`), written at commit. */
  annotations?: Record<string, string>;
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

/** Throws unless rec, read from file, is a well-formed record of container id. */
export function checkContainerRecord(rec: unknown, id: string, file: string): ContainerRecord {
  const r = rec as ContainerRecord;
  const ok = !!r && typeof r === 'object' && r.id === id && typeof r.name === 'string' && Array.isArray(r.baseLayers) && Array.isArray(r.checkpoints)
    && Array.isArray(r.pending) && typeof r.created === 'string' && (r.driver === 'overlay' || r.driver === 'copy');
  if (!ok) throw new CairnError(`the container record ${file} is malformed`, { kind: 'malformed', hint: 'run `cairn check` to find what is broken in the store' });
  return r;
}

/**
 * The working-container records of a store. A container exists once its name is published: the symlink
 * `containers/names/NAME → ID`, made only after the record `containers/ID/container.json` is complete, so a
 * name never points at a container being created, and N verbs creating containers at once get N names.
 * A record whose name does not point back at it is one a killed `from` left unpublished: invisible to
 * list() and find() by name, reported and removed by `cairn check --repair` and `cairn gc`.
 */
export class ContainerRecords {
  constructor(readonly paths: StorePaths) {}

  /** The record file of a container. */
  file(id: string): string {
    if (!ID_RE.test(id)) throw new BadInputError(`invalid container ID ${id}`);
    return path.join(this.paths.container(id), 'container.json');
  }

  /** The directory of name links. */
  get namesDir(): string {
    return path.join(this.paths.containers, 'names');
  }

  /** The record of container id, if any (a malformed or unreadable one throws). */
  async get(id: string): Promise<ContainerRecord | undefined> {
    const file = this.file(id);
    const rec = await readJson<unknown>(file);
    return rec === undefined ? undefined : checkContainerRecord(rec, id, file);
  }

  /** The ID a name link points at, if there is one. */
  async holder(name: string): Promise<string | undefined> {
    try {
      return await fsp.readlink(this.nameLink(name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'EINVAL') return '';
      throw err;
    }
  }

  /** True when rec's name is published and points at it. */
  async published(rec: ContainerRecord): Promise<boolean> {
    return NAME_RE.test(rec.name) && (await this.holder(rec.name)) === rec.id;
  }

  /** IDs of every container directory, published or not. */
  async ids(): Promise<string[]> {
    return (await readDirOrEmpty(this.paths.containers)).filter((n) => ID_RE.test(n));
  }

  /** All published container records, oldest first (any record that cannot be read throws: never fails open). */
  async list(): Promise<ContainerRecord[]> {
    const recs = await Promise.all((await this.ids()).map(async (id) => {
      const r = await this.get(id);
      return r && (await this.published(r)) ? r : undefined;
    }));
    return recs.filter((r): r is ContainerRecord => !!r).sort((a, b) => compareIsoDates(a.created, b.created));
  }

  private nameLink(name: string): string {
    return path.join(this.namesDir, checkContainerName(name));
  }

  /** True when the container a name link points at still exists (a record that cannot be read counts as existing). */
  private async alive(holder: string): Promise<boolean> {
    if (!ID_RE.test(holder)) return false;
    try {
      return (await readJson<unknown>(this.file(holder))) !== undefined;
    } catch {
      return true;
    }
  }

  /** Runs fn holding the lock that serializes taking over and freeing names. */
  private withNamesLock<T>(fn: () => Promise<T>): Promise<T> {
    return withLocks(this.paths.locks, [{ name: 'names' }], fn);
  }

  /**
   * Creates container rec in one atomic step: saves its record under the first free name of `names`, then
   * publishes that name with one symlink (taken over from a container that no longer exists, under a lock).
   * Sets rec.name and returns it; undefined when every name given is taken.
   */
  async create(rec: ContainerRecord, names: Iterable<string>): Promise<string | undefined> {
    await makeDirs(this.namesDir);
    for (const name of names) {
      const link = this.nameLink(name);
      const before = await this.holder(name);
      if (before !== undefined && (await this.alive(before))) continue;
      rec.name = name;
      await this.save(rec);
      crashPoint('store.name.before-publish');
      if (before === undefined) {
        try {
          await fsp.symlink(rec.id, link);
          return name;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          continue;
        }
      }
      // A link left by a container that is gone (a killed `cairn rm`): replaced under the lock, only if it is
      // still that same dead link, so two verbs never both take it.
      const took = await this.withNamesLock(async () => {
        if ((await this.holder(name)) !== before || (await this.alive(before))) return false;
        await fsp.rm(link, { force: true });
        crashPoint('store.name.before-takeover');
        try {
          await fsp.symlink(rec.id, link);
          return true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw err;
        }
      });
      if (took) return name;
    }
    return undefined;
  }

  /**
   * Renames container rec (the caller holds its lock): publishes the new name (taken over only from a container
   * that is gone), saves the record, then frees the old name. Killed between the steps, the container keeps its
   * old name, and the new one points at it until `cairn check --repair`.
   */
  async rename(rec: ContainerRecord, name: string): Promise<void> {
    const link = this.nameLink(name);
    if (name === rec.name) return;
    await this.withNamesLock(async () => {
      const before = await this.holder(name);
      if (before !== undefined && before !== rec.id && (await this.alive(before))) {
        throw new ConflictError(`the container name ${name} is already in use`, { hint: 'choose another name, or remove that container with `cairn rm`' });
      }
      if (before !== undefined) await fsp.rm(link, { force: true });
      await fsp.symlink(rec.id, link);
    });
    const old = rec.name;
    rec.name = name;
    await this.save(rec);
    await this.releaseName(old, rec.id);
  }

  /** Frees a name (only when it still points at id). */
  async releaseName(name: string, id: string): Promise<void> {
    const link = this.nameLink(name);
    await this.withNamesLock(async () => {
      if ((await this.holder(name)) === id) await fsp.rm(link, { force: true });
    });
  }

  /**
   * Removes a name link that points at no existing container (what a killed `cairn rm` leaves); true when it
   * did. The caller makes sure no container is being created meanwhile (it holds the store lock exclusively).
   */
  async dropDeadName(name: string): Promise<boolean> {
    return this.withNamesLock(async () => {
      const h = await this.holder(name);
      if (h === undefined || (await this.alive(h))) return false;
      await fsp.rm(this.nameLink(name), { force: true });
      return true;
    });
  }

  /** Names with their link targets, as found in the names directory. */
  async names(): Promise<{ name: string; holder: string }[]> {
    const out: { name: string; holder: string }[] = [];
    for (const n of await readDirOrEmpty(this.namesDir)) {
      if (!NAME_RE.test(n) || n.length > 128) {
        out.push({ name: n, holder: '' });
        continue;
      }
      const h = await this.holder(n);
      if (h !== undefined) out.push({ name: n, holder: h });
    }
    return out;
  }

  /** Finds a published container by name, full ID or unique ID prefix (an unpublished record by full ID only). */
  async find(nameOrId: string): Promise<ContainerRecord | undefined> {
    if (NAME_RE.test(nameOrId) && nameOrId.length <= 128) {
      const id = await this.holder(nameOrId);
      const rec = id && ID_RE.test(id) ? await this.get(id) : undefined;
      if (rec && rec.name === nameOrId) return rec;
    }
    if (ID_RE.test(nameOrId)) {
      const rec = await this.get(nameOrId);
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
    const r = await this.get(id);
    if (!r) throw new NotFoundError(`container ${id} was removed`);
    return r;
  }

  /** Writes a record atomically. */
  async save(rec: ContainerRecord): Promise<void> {
    await writeJsonAtomic(this.file(rec.id), rec);
  }
}
