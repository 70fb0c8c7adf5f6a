import path from 'node:path';
import { promises as fsp } from 'node:fs';
import { emit, step, warn } from './core/events.js';
import { BadInputError, NotFoundError } from './core/errors.js';
import type { Change } from './layer/entry.js';
import type { ContainerRecord } from './store/containers.js';
import type { Store } from './store/store.js';
import type { CheckpointOptions } from './container/checkpoint.js';
import type { CommitOptions } from './container/commit.js';
import type { ConfigEdits } from './container/config.js';
import type { Driver } from './container/drivers/driver.js';
import { RunOutput, RunPromise, runSettings, templateText, type Interpolation, type RunCallOptions, type StepControl } from './api-run.js';
import { shq } from './core/shquote.js';
import { EXPORT_OPTIONS, Image, epochOption, type ExportCallOptions } from './api-image.js';
import type { ExportResult } from './container/export.js';
import type { PendingEntry } from './container/pending.js';
import type { LayerView } from './container/layer-view.js';
import { makeDirs } from './core/fsutil.js';
import { checkOptions, keyValues, type OptionKind } from './core/options.js';

/*
 * The engine behind each method is loaded when the method is called (import()), not with this file: every
 * CLI verb loads the public API, and `cairn from` must not load what `run` or `commit` need.
 */

/** Options of Container.copy. */
export interface CopyCallOptions {
  /** Owner of every copied file, `USER[:GROUP]` (names from the container's /etc/passwd, or numbers). */
  chown?: string;
  /** The mode of every copied file: a number (0o755) or octal text as `--chmod` takes it ('0755'). */
  chmod?: number | string;
  /** Copy from another container or image instead of the host (paths are then inside it): a Container, an Image, or a name or reference. */
  from?: string | Container | Image;
  /** With every ELF program copied, the dynamic loader and every shared library it needs (the whitelist way). */
  withDeps?: boolean;
  /** Libraries the programs load with dlopen (sonames or paths), copied with their own libraries (needs withDeps). */
  extraLibs?: readonly string[];
}

/** What Container.config takes: ConfigEdits, with env, labels and annotations also as objects. */
export type ConfigCallEdits = Omit<ConfigEdits, 'env' | 'labels' | 'annotations'> & {
  env?: readonly string[] | Readonly<Record<string, string>>;
  labels?: readonly string[] | Readonly<Record<string, string>>;
  annotations?: readonly string[] | Readonly<Record<string, string>>;
};

const CONFIG_OPTIONS: Readonly<Record<keyof ConfigEdits, OptionKind>> = {
  env: 'strings-or-map', entrypoint: 'string-or-strings', cmd: 'string-or-strings', workingdir: 'string', user: 'string', labels: 'strings-or-map',
  ports: 'strings', volumes: 'strings', author: 'string', stopSignal: 'string', annotations: 'strings-or-map', arch: 'string', os: 'string',
  healthcheck: 'string', shell: 'string', onbuild: 'strings',
};

const COMMIT_OPTIONS: Readonly<Record<keyof CommitCallOptions, OptionKind>> = { names: 'strings', squash: 'boolean', timestamp: 'number-or-string', format: ['oci', 'docker'] };

const COPY_OPTIONS: Readonly<Record<keyof CopyCallOptions, OptionKind>> = {
  chown: 'string', chmod: 'number-or-string', withDeps: 'boolean', extraLibs: 'strings',
  from: (v) => (typeof v === 'string' || v instanceof Container || v instanceof Image ? undefined : 'must be a Container, an Image, or a name or reference'),
};

/** Options of Container.commit: CommitOptions, with the timestamp also as text (as `--timestamp` takes it). */
export type CommitCallOptions = Omit<CommitOptions, 'timestamp' | 'progress'> & { timestamp?: number | string };

/** A working container, as scripts and the CLI use it. */
export class Container {
  /** @internal Made by from(), container() and containers(). */
  constructor(
    /** @internal The store the container is in. */
    readonly store: Store,
    /** The container's ID (64 hex digits). */
    readonly id: string,
    /** The container's name when this value was made (rename() gives a value under the new one). */
    readonly name: string,
  ) {}

  /** @internal Opens an existing container by name or ID (container() is the public way). */
  static async open(store: Store, nameOrId: string): Promise<Container> {
    const r = await store.containers.require(nameOrId);
    return new Container(store, r.id, r.name);
  }

  private async with<T>(fn: (rec: ContainerRecord, d: Driver) => Promise<T>, storeLock = true): Promise<T> {
    const { withContainer } = await import('./container/engine.js');
    return withContainer(this.store, this.id, fn, { storeLock }).catch(async (err) => Promise.reject((await this.removed(err)) ?? err));
  }

  /** The error to give for err when this container no longer exists (a value held after its container was removed). */
  private async removed(err: unknown): Promise<NotFoundError | undefined> {
    if (!(err instanceof NotFoundError) || (await this.store.containers.get(this.id))) return undefined;
    return new NotFoundError(`container ${this.name} (${this.id.slice(0, 12)}) was removed`, { hint: 'this value stands for a container that is gone: make a new one with from()' });
  }

  /**
   * Runs fn with the tree mounted. The mount is left in place for the next verb (a mount and an unmount cost
   * more than most run steps); checkpoint, commit, rollback, umount and rm end it.
   */
  private async withRoot<T>(rec: ContainerRecord, d: Driver, fn: (root: string) => Promise<T>): Promise<T> {
    return fn(await d.mount(this.store, rec));
  }

  /** @internal The record as stored now. */
  async record(): Promise<ContainerRecord> {
    return this.store.containers.reload(this.id).catch(async (err) => Promise.reject((await this.removed(err)) ?? err));
  }

  /**
   * Runs a command in the container. As a tagged template (`` c.run`apt-get install -y ${pkg}` ``) the text is
   * run by /bin/sh -c with every interpolation quoted; with an array it is the argv; with options alone
   * (`` c.run({ env: { A: '1' } })`…` ``) it returns the template function. The step resolves to its output, or
   * rejects with a RunError on a non-zero status unless .nothrow() (or the nothrow option).
   */
  run(pieces: TemplateStringsArray, ...values: Interpolation[]): RunPromise;
  run(argv: readonly string[] & { readonly raw?: never }, opts?: RunCallOptions): RunPromise;
  run(opts: RunCallOptions): (pieces: TemplateStringsArray, ...values: Interpolation[]) => RunPromise;
  run(cmd: TemplateStringsArray | readonly string[] | RunCallOptions, ...rest: unknown[]): RunPromise | ((pieces: TemplateStringsArray, ...values: Interpolation[]) => RunPromise) {
    const template = Array.isArray(cmd) && 'raw' in cmd;
    if (template) return this.step(['/bin/sh', '-c', templateText(cmd as TemplateStringsArray, rest)], {}, true);
    if (Array.isArray(cmd)) {
      if (cmd.length === 0 || !cmd.every((a) => typeof a === 'string')) {
        throw new BadInputError('run: the command must be a non-empty array of strings', { hint: "c.run(['ls', '-l', dir]) or c.run`ls -l ${dir}`" });
      }
      if (rest.length > 1) throw new BadInputError('run: an array command takes one options object', { hint: "c.run(['ls', '-l'], { workdir: '/srv' })" });
      return this.step([...cmd], rest[0] as RunCallOptions | undefined, false);
    }
    if (typeof cmd === 'object' && cmd !== null && rest.length === 0) {
      runSettings(cmd as RunCallOptions);
      return (pieces: TemplateStringsArray, ...values: Interpolation[]) => this.step(['/bin/sh', '-c', templateText(pieces, values)], cmd as RunCallOptions, true);
    }
    throw new BadInputError(`run: cannot run ${typeof cmd === 'string' ? 'a string' : String(cmd)}`, { hint: "use a template (c.run`ls -l ${dir}`) or an array (c.run(['ls', '-l', dir]))" });
  }

  /** One run step: the argv, checked options, and whether it came from a template (for the error of a missing /bin/sh). */
  private step(argv: string[], opts: RunCallOptions | undefined, template: boolean): RunPromise {
    const settings = runSettings(opts);
    const text = argv[0] === '/bin/sh' && argv[1] === '-c' && argv.length === 3 ? `/bin/sh -c ${argv[2]}` : argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : shq(a))).join(' ');
    const exec = async (ctl: StepControl): Promise<RunOutput> => {
      const [{ runInContainer }, { holdSignals }, { crashPoint }] = await Promise.all([import('./container/run.js'), import('./sandbox/interrupt.js'), import('./core/crash.js')]);
      // Once the lock is held, a signal for cairn waits until the step is gone, its scaffolding removed and the lock released (interrupt.ts).
      let release = () => {};
      return this.with((rec, d) =>
        step('run', `${this.name}: ${text}`, (stepId) =>
          this.withRoot(rec, d, async (root) => {
            release = holdSignals();
            await makeDirs(this.store.paths.tmp);
            const r = await runInContainer(rec, root, argv, { ...settings, stdio: settings.stdio ?? 'pipe', stepId, input: ctl.input, quiet: ctl.quiet, onStdout: ctl.onStdout, onStderr: ctl.onStderr, scratchDir: this.store.paths.tmp });
            crashPoint('run.step.before-record');
            // Only a step that succeeded is history; what a failed one changed stays pending, unnamed.
            if (r.status === 0) {
              rec.pending.push(text);
              await this.store.containers.save(rec);
            }
            return new RunOutput(r.status, r.stdout, r.stderr, r.notFound);
          }),
        ),
        false,
      ).finally(() => release());
    };
    return new RunPromise(exec, { text, argv0: argv[0], template }, { nothrow: opts?.nothrow, quiet: opts?.quiet, input: settings.input });
  }

  /** Copies host paths (or, with opts.from, paths of another container or image) into the container. */
  async copy(src: string | readonly string[], dest: string, opts: CopyCallOptions = {}): Promise<void> {
    return this.place('copy', src, dest, opts);
  }

  /**
   * As copy, and as buildah's add: a URL is fetched (mode 0600 unless opts.chmod), a local tar archive (plain,
   * gzip, bzip2, xz, zstd) is unpacked into dest with its own owners and modes.
   */
  async add(src: string | readonly string[], dest: string, opts: CopyCallOptions = {}): Promise<void> {
    return this.place('add', src, dest, opts);
  }

  /** copy and add: the sources placed in the tree, then one history line. */
  private async place(verb: 'copy' | 'add', src: string | readonly string[], dest: string, given: CopyCallOptions): Promise<void> {
    checkOptions(verb, given, COPY_OPTIONS);
    const sources = Array.isArray(src) ? [...src] : [src];
    if (sources.length === 0 || !sources.every((x) => typeof x === 'string')) throw new BadInputError(`${verb} needs a source path or an array of them`);
    if (typeof dest !== 'string') throw new BadInputError(`${verb}: the destination must be a path in the container, not ${typeof dest}`);
    if (verb === 'add' && given.from) throw new BadInputError('add takes no --from', { hint: 'use copy --from to copy out of another container or image' });
    if (given.extraLibs?.length && !given.withDeps) throw new BadInputError(`${verb}: extraLibs needs withDeps`, { hint: 'give withDeps: true (--with-deps) with the libraries a program loads itself' });
    const source = given.from === undefined ? undefined : await this.copySource(given.from);
    const opts = { ...given, from: source?.key };
    const [{ copyInto, parseMode }, { crashPoint }] = await Promise.all([import('./container/copy.js'), import('./core/crash.js')]);
    const mode = typeof opts.chmod === 'string' ? parseMode(opts.chmod) : opts.chmod;
    let stepId = '';
    const doCopy = (sourceRoot?: string) =>
      this.with((rec, d) =>
        this.withRoot(rec, d, async (root) => {
          const owner = opts.chown ? await (await import('./container/users.js')).resolveUser(root, opts.chown) : undefined;
          const o = {
            owner, mode, withDeps: opts.withDeps, extraLibs: opts.extraLibs as string[] | undefined, workdir: rec.config.config?.WorkingDir,
            sourceRoot, contained: sourceRoot !== undefined,
            // A container the user mounted keeps its view; otherwise the next verb mounts it again.
            detachUpper: !rec.mounted && d.detachUpper ? () => d.detachUpper!(this.store, rec) : undefined,
            progress: { id: stepId, item: `${verb} → ${dest}` },
          };
          if (verb === 'add') {
            await makeDirs(this.store.paths.tmp);
            await (await import('./container/add.js')).addInto(root, sources, dest, { ...o, detachUpper: undefined, tmpDir: this.store.paths.tmp });
          } else await copyInto(root, sources, dest, o);
          const flags = [opts.chown && `--chown=${opts.chown}`, mode !== undefined && `--chmod=${mode.toString(8)}`, source && `--from=${source.label}`].filter(Boolean);
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

  /**
   * A copy source as the engine finds it (key: a name or reference; a Container or an Image by ID, checked to be
   * of this store and still there) and as the history names it (label: a container by its name, for the same
   * history in every build).
   */
  private async copySource(from: string | Container | Image): Promise<{ key: string; label: string }> {
    if (typeof from === 'string') return { key: from, label: from };
    if (from.store.paths.root !== this.store.paths.root) throw new BadInputError(`copy: the ${from instanceof Container ? 'container' : 'image'} to copy from is in another store (${from.store.paths.root})`);
    if (from instanceof Container) {
      const rec = await from.record();
      return { key: rec.id, label: rec.name };
    }
    const rec = await from.record();
    return { key: rec.id, label: rec.id };
  }

  /** Edits the image config the next commit writes (env, labels and annotations as `K=V` lists or objects). */
  async config(edits: ConfigCallEdits): Promise<void> {
    checkOptions('config', edits, CONFIG_OPTIONS);
    const e: ConfigEdits = { ...edits, env: keyValues(edits.env), labels: keyValues(edits.labels), annotations: keyValues(edits.annotations) } as ConfigEdits;
    const { applyConfig, editMap } = await import('./container/config.js');
    await this.with(async (rec) => {
      const { config, createdBy } = applyConfig(rec.config, e);
      rec.config = config;
      if (e.annotations?.length) rec.annotations = editMap(rec.annotations, e.annotations, '--annotation');
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
    if (typeof name !== 'string') checkOptions('commit', name, COMMIT_OPTIONS);
    checkOptions('commit', opts, COMMIT_OPTIONS);
    const given = typeof name === 'string' ? { ...opts, names: [name, ...(opts.names ?? [])] } : { ...(name ?? {}), ...opts };
    const o: CommitOptions = { ...given, timestamp: await epochOption(given.timestamp) };
    const { commitContainer } = await import('./container/commit.js');
    const rec = await step('commit', this.name, (id) => this.with((r, d) => commitContainer(this.store, r, d, { ...o, progress: { id, item: `layer of ${this.name}` } })));
    emit({ type: 'image', action: 'committed', id: rec.id, names: rec.names });
    return new Image(this.store, rec.id);
  }

  /** Writes the container's tree (pending changes included) as one flat tarball, signed unless opts.sign is false (docs/export.md). */
  async export(file: string, opts: ExportCallOptions = {}): Promise<ExportResult> {
    checkOptions('export', opts, EXPORT_OPTIONS);
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
