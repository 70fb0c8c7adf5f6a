import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { emit, step, warn } from './core/events.js';
import { BadInputError, CairnError } from './core/errors.js';
import type { Change } from './layer/entry.js';
import type { ContainerRecord } from './store/containers.js';
import type { Store } from './store/store.js';
import type { CheckpointOptions } from './container/checkpoint.js';
import type { CommitOptions } from './container/commit.js';
import type { ConfigEdits } from './container/config.js';
import type { Driver } from './container/drivers/driver.js';
import type { RunOptions } from './container/run.js';
import type { RunResult } from './sandbox/run.js';
import { Image, epochOption, type ExportCallOptions } from './api-image.js';
import type { ExportResult } from './container/export.js';
import type { PendingEntry } from './container/pending.js';
import type { LayerView } from './container/layer-view.js';
import { makeDirs } from './core/fsutil.js';

/*
 * The engine behind each method is loaded when the method is called (import()), not with this file: every
 * CLI verb loads the public API, and `cairn from` must not load what `run` or `commit` need.
 */

/** The outcome of a run step that exited non-zero. */
export class RunError extends CairnError {
  constructor(readonly status: number, readonly stdout: string, readonly stderr: string, command: string, why?: { message: string; hint: string }) {
    super(why?.message ?? `command exited ${status}: ${command}`, { hint: why?.hint ?? 'its output is above; the stderr property holds it too' });
  }
}

/** Why a command never started, in words (undefined when it ran). */
function notStarted(r: RunResult, argv0: string, template: boolean): { message: string; hint: string } | undefined {
  if (r.notFound === 'missing' && template) {
    return { message: `the container has no /bin/sh, which a template run needs (exit ${r.status})`, hint: "give the command as an array instead: c.run(['/path/to/cmd', 'arg'])" };
  }
  if (r.notFound === 'missing') return { message: `command not found in the container: ${argv0} (exit ${r.status})`, hint: "check the command's path, or the PATH of the image's config" };
  if (r.notFound === 'not-executable') return { message: `${argv0} is not an executable file in the container (exit ${r.status})`, hint: 'make it executable (copy --chmod 0755), or run it with its interpreter' };
  return undefined;
}

/** Options of Container.copy. */
export interface CopyCallOptions {
  chown?: string;
  /** The mode of every copied file: a number (0o755) or octal text as `--chmod` takes it ('0755'). */
  chmod?: number | string;
  /** A container name or image reference to copy from (paths are then inside it). */
  from?: string;
  withDeps?: boolean;
}

/** Options of Container.commit: CommitOptions, with the timestamp also as text (as `--timestamp` takes it). */
export type CommitCallOptions = Omit<CommitOptions, 'timestamp'> & { timestamp?: number | string };

/** What run returns: the command's status and its captured output (stdio 'pipe'). */
export interface RunOutput {
  status: number;
  stdout: string;
  stderr: string;
  /** Set when the command never started: not in the container (status 127), or not executable (126). */
  notFound?: 'missing' | 'not-executable';
}

/** A working container, as scripts and the CLI use it. */
export class Container {
  constructor(readonly store: Store, readonly id: string, readonly name: string) {}

  /** Opens an existing container by name or ID. */
  static async open(store: Store, nameOrId: string): Promise<Container> {
    const r = await store.containers.require(nameOrId);
    return new Container(store, r.id, r.name);
  }

  private async with<T>(fn: (rec: ContainerRecord, d: Driver) => Promise<T>, storeLock = true): Promise<T> {
    const { withContainer } = await import('./container/engine.js');
    return withContainer(this.store, this.id, fn, { storeLock });
  }

  /**
   * Runs fn with the tree mounted. The mount is left in place for the next verb (a mount and an unmount cost
   * more than most run steps); checkpoint, commit, rollback, umount and rm end it.
   */
  private async withRoot<T>(rec: ContainerRecord, d: Driver, fn: (root: string) => Promise<T>): Promise<T> {
    return fn(await d.mount(this.store, rec));
  }

  /** The record as stored now. */
  async record(): Promise<ContainerRecord> {
    return this.store.containers.reload(this.id);
  }

  /**
   * Runs a command in the container. As a tagged template (`` c.run`apt-get install -y ${pkg}` ``) the text is
   * run by /bin/sh -c with every interpolation quoted; with an array it is the argv. Rejects with RunError on
   * a non-zero status unless opts.nothrow.
   */
  async run(cmd: TemplateStringsArray | string[], ...rest: unknown[]): Promise<RunOutput> {
    const [{ runInContainer }, { shq }, { holdSignals }, { crashPoint }] = await Promise.all([
      import('./container/run.js'), import('./core/shquote.js'), import('./sandbox/interrupt.js'), import('./core/crash.js'),
    ]);
    let argv: string[];
    let opts: Partial<RunOptions> & { nothrow?: boolean } = {};
    const template = Array.isArray(cmd) && 'raw' in cmd;
    if (template) {
      const t = cmd as TemplateStringsArray;
      let text = t[0];
      rest.forEach((v, i) => {
        text += (Array.isArray(v) ? v.map((x) => shq(String(x))).join(' ') : shq(String(v))) + t[i + 1];
      });
      argv = ['/bin/sh', '-c', text];
    } else {
      argv = cmd as string[];
      opts = (rest[0] as typeof opts) ?? {};
    }
    const text = argv[0] === '/bin/sh' && argv[1] === '-c' ? argv.slice(0, 2).join(' ') + ' ' + argv[2] : argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : shq(a))).join(' ');
    // Once the lock is held, a signal for cairn waits until the step is gone, its scaffolding removed and the lock released (interrupt.ts).
    let release = () => {};
    return this.with((rec, d) =>
      step('run', `${this.name}: ${text}`, (stepId) =>
        this.withRoot(rec, d, async (root) => {
          release = holdSignals();
          await makeDirs(this.store.paths.tmp);
          const r = await runInContainer(rec, root, argv, { stdio: 'pipe', stepId, ...opts, scratchDir: this.store.paths.tmp });
          crashPoint('run.step.before-record');
          // Only a step that succeeded is history; what a failed one changed stays pending, unnamed.
          if (r.status === 0) {
            rec.pending.push(text);
            await this.store.containers.save(rec);
          }
          if (r.status !== 0 && !opts.nothrow) throw new RunError(r.status, r.stdout, r.stderr, text, notStarted(r, argv[0], template));
          return r;
        }),
      ),
      false,
    ).finally(() => release());
  }

  /** Copies host paths (or, with opts.from, paths of another container or image) into the container. */
  async copy(src: string | string[], dest: string, opts: CopyCallOptions = {}): Promise<void> {
    return this.place('copy', src, dest, opts);
  }

  /**
   * As copy, and as buildah's add: a URL is fetched (mode 0600 unless opts.chmod), a local tar archive (plain,
   * gzip, bzip2, xz, zstd) is unpacked into dest with its own owners and modes.
   */
  async add(src: string | string[], dest: string, opts: CopyCallOptions = {}): Promise<void> {
    return this.place('add', src, dest, opts);
  }

  /** copy and add: the sources placed in the tree, then one history line. */
  private async place(verb: 'copy' | 'add', src: string | string[], dest: string, opts: CopyCallOptions): Promise<void> {
    const sources = Array.isArray(src) ? src : [src];
    if (sources.length === 0) throw new BadInputError(`${verb} needs at least one source`);
    if (verb === 'add' && opts.from) throw new BadInputError('add takes no --from', { hint: 'use copy --from to copy out of another container or image' });
    const [{ copyInto, parseMode }, { crashPoint }] = await Promise.all([import('./container/copy.js'), import('./core/crash.js')]);
    const mode = typeof opts.chmod === 'string' ? parseMode(opts.chmod) : opts.chmod;
    let stepId = '';
    const doCopy = (sourceRoot?: string) =>
      this.with((rec, d) =>
        this.withRoot(rec, d, async (root) => {
          const owner = opts.chown ? await (await import('./container/users.js')).resolveUser(root, opts.chown) : undefined;
          const o = {
            owner, mode, withDeps: opts.withDeps, workdir: rec.config.config?.WorkingDir,
            sourceRoot, contained: sourceRoot !== undefined,
            // A container the user mounted keeps its view; otherwise the next verb mounts it again.
            detachUpper: !rec.mounted && d.detachUpper ? () => d.detachUpper!(this.store, rec) : undefined,
            progress: { id: stepId, item: `${verb} → ${dest}` },
          };
          if (verb === 'add') {
            await makeDirs(this.store.paths.tmp);
            await (await import('./container/add.js')).addInto(root, sources, dest, { ...o, detachUpper: undefined, tmpDir: this.store.paths.tmp });
          } else await copyInto(root, sources, dest, o);
          const flags = [opts.chown && `--chown=${opts.chown}`, mode !== undefined && `--chmod=${mode.toString(8)}`, opts.from && `--from=${opts.from}`].filter(Boolean);
          // Host paths stay out of the image: an absolute source is named by its last component only, so the
          // same build in two checkouts gives the same history (and image ID).
          const named = opts.from ? sources : sources.map((x) => (x.startsWith('/') ? path.basename(x) || '/' : x));
          crashPoint('copy.before-record');
          rec.pending.push(`${verb.toUpperCase()} ${[...flags, ...named, dest].join(' ')}`);
          await this.store.containers.save(rec);
        }),
      );
    await step(verb, `${this.name}: ${sources.join(' ')} → ${dest}`, async (id) => {
      stepId = id;
      if (!opts.from) return doCopy();
      return withSourceRoot(this.store, opts.from, this.id, doCopy);
    });
  }

  /** Edits the image config the next commit writes. */
  async config(edits: ConfigEdits): Promise<void> {
    const { applyConfig, editMap } = await import('./container/config.js');
    await this.with(async (rec) => {
      const { config, createdBy } = applyConfig(rec.config, edits);
      rec.config = config;
      if (edits.annotations?.length) rec.annotations = editMap(rec.annotations, edits.annotations, '--annotation');
      if (createdBy) rec.pending.push(createdBy);
      await this.store.containers.save(rec);
    });
  }

  /** Seals pending changes into a layer; returns its diffID. */
  async checkpoint(message?: string, opts: Omit<CheckpointOptions, 'message'> = {}): Promise<string> {
    const { sealCheckpoint } = await import('./container/checkpoint.js');
    return step('checkpoint', this.name, (id) =>
      this.with(async (rec, d) => {
        // An empty layer is no boundary worth keeping: say so rather than seal one. The boundary asked for is
        // already there (the last layer), so this succeeds: a checkpoint run again (after a kill that had
        // sealed it, or in a make rule) finds its work done.
        if (!(await d.dirty(this.store, rec))) {
          warn(`nothing to seal: ${this.name} has no changes since its last checkpoint`);
          return rec.checkpoints.at(-1)?.diffID ?? rec.baseLayers.at(-1)?.diffID ?? '';
        }
        return (await sealCheckpoint(this.store, rec, d, { ...opts, message, progress: { id, item: `layer of ${this.name}` } })).diffID;
      }),
    );
  }

  /** Throws pending changes away, or goes back to checkpoint `to` (0: the base image). */
  async rollback(to?: number): Promise<void> {
    const { rollback } = await import('./container/checkpoint.js');
    await this.with((rec, d) => rollback(this.store, rec, d, to));
  }

  /** The pending changes since the last checkpoint. */
  async diff(): Promise<Change[]> {
    return this.with((rec, d) => d.changes(this.store, rec), false);
  }

  /**
   * The pending changes with each entry's size and a stamp that differs whenever the entry changed (cheap enough
   * to call before and after every step).
   */
  async pending(): Promise<PendingEntry[]> {
    const { pendingChanges } = await import('./container/pending.js');
    return this.with(async (rec, d) => (await pendingChanges(this.store, rec, d)).entries, false);
  }

  /** The container's layers, the dive way: base layers, checkpoints and pending changes, with their waste and caches. */
  async layers(): Promise<LayerView[]> {
    const { containerLayers } = await import('./container/layer-read.js');
    return this.with((rec, d) => containerLayers(this.store, rec, d), false);
  }

  /**
   * Mounts the root filesystem where host tools can use it, until unmount(); returns its path (for a rootless
   * user, the path through the namespace's pause process, which host tools outside the namespace can use).
   */
  async mount(): Promise<string> {
    const { hostVisiblePath } = await import('./sandbox/pause.js');
    return this.with(async (rec, d) => {
      const p = await d.mount(this.store, rec);
      rec.mounted = true;
      await this.store.containers.save(rec);
      return hostVisiblePath(p);
    });
  }

  /** Ends a mount made by mount(). */
  async unmount(): Promise<void> {
    await this.with(async (rec, d) => {
      await d.unmount(this.store, rec);
      rec.mounted = false;
      await this.store.containers.save(rec);
    });
  }

  /** Writes an image from the container; returns it. */
  async commit(name?: string | CommitCallOptions, opts: CommitCallOptions = {}): Promise<Image> {
    const given = typeof name === 'string' ? { ...opts, names: [name, ...(opts.names ?? [])] } : { ...(name ?? {}), ...opts };
    const o: CommitOptions = { ...given, timestamp: await epochOption(given.timestamp) };
    const { commitContainer } = await import('./container/commit.js');
    const rec = await step('commit', this.name, (id) => this.with((r, d) => commitContainer(this.store, r, d, { ...o, progress: { id, item: `layer of ${this.name}` } })));
    emit({ type: 'image', action: 'committed', id: rec.id, names: rec.names });
    return new Image(this.store, rec.id);
  }

  /** Writes the container's tree (pending changes included) as one flat tarball, signed unless opts.sign is false (docs/export.md). */
  async export(file: string, opts: ExportCallOptions = {}): Promise<ExportResult> {
    const o = { ...opts, timestamp: await epochOption(opts.timestamp) };
    const { exportContainer } = await import('./container/export.js');
    return step('export', `${this.name} → ${file}`, () => this.with((rec, d) => exportContainer(this.store, rec, d, file, o)));
  }

  /** Gives the container another name; resolves to the container under it (this object keeps the old name). */
  async rename(name: string): Promise<Container> {
    const { checkContainerName } = await import('./store/containers.js');
    checkContainerName(name);
    await this.with((rec) => this.store.containers.rename(rec, name));
    return new Container(this.store, this.id, name);
  }

  /** Removes the container and its pending changes. */
  async remove(): Promise<void> {
    await this.with(async (rec, d) => {
      await d.remove(this.store, rec);
      await this.store.containers.releaseName(rec.name, rec.id);
      emit({ type: 'container', action: 'removed', id: rec.id, name: rec.name, root: this.store.paths.root });
    });
  }
}

/** Runs fn with the root of a container (or a temporary container of an image) as a copy source. */
async function withSourceRoot<T>(store: Store, from: string, selfId: string, fn: (root: string) => Promise<T>): Promise<T> {
  const { createContainer, withContainer } = await import('./container/engine.js');
  const { resolveImage } = await import('./image/resolve.js');
  const existing = await store.containers.find(from);
  if (existing) {
    if (existing.id === selfId) throw new BadInputError('--from names the container being copied into', { hint: 'copy within a container with `cairn run CTR cp …`' });
    return withContainer(store, existing.id, async (rec, d) => {
      return fn(await d.mount(store, rec));
    });
  }
  const img = await resolveImage(store, from);
  const tmp = await createContainer(store, img, from, `cairn-copy-from-${selfId.slice(0, 12)}-${process.pid}`);
  try {
    return await withContainer(store, tmp.id, async (rec, d) => {
      const root = await d.mount(store, rec);
      try {
        return await fn(root);
      } finally {
        await d.remove(store, rec);
      }
    });
  } finally {
    const { driverFor } = await import('./container/drivers/select.js');
    await driverFor(tmp.driver).remove(store, tmp).catch(() => undefined);
    await store.containers.releaseName(tmp.name, tmp.id);
  }
}
