import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import {
  asCairnError, container as openContainer, events as engineEvents, inspect, interruptSteps, store as openStore,
  NotFoundError, UsageError, type CairnEvent, type PendingEntry,
} from '../dsl/index.js';
import { helpFor, notFoundHint, planLine, SHELL_VERBS, type Plan } from './commands.js';
import { completeLine, listInRoot } from './complete.js';
import { defaultHistoryFile, History } from './history.js';
import { parseLine, quoteWord } from './line.js';
import { saveFormat, saveText } from './save.js';
import { changesBetween } from './step-changes.js';
import { StepOutput } from './step-output.js';
import { type ShellStatus, type StepRecord, type TerminalHandoff, type VerbContextLike, type VerbModuleLike, type VerbTable } from './types.js';

/*
 * The shell's state and what a line does (no React): the current container, the steps entered and what each
 * did, the status line. A line runs the CLI's own verb module with the current container filled in (see
 * commands.ts), its result lines and the engine's output events collected as the step's output; steps that can
 * change the tree are bracketed by Container.pending() to record what they changed. The UI (shell/ui/) and the
 * plain runner (script.ts) render the events.
 */

/** Options of Session.open. */
export interface SessionOptions {
  verbs: VerbTable;
  root?: string;
  /** A container to use, or an image to start a container from. */
  start?: string;
  handoff: TerminalHandoff;
  /** Default ${XDG_DATA_HOME:-~/.local/share}/cairn/shell_history; null keeps no file. */
  historyFile?: string | null;
}

/** Verbs whose step may change the container's tree: their changes are recorded. */
const TREE_VERBS = new Set(['run', 'copy', 'add', 'enter']);


/** What the session keeps of a step besides its record. */
interface StepMeta {
  /** The container it applied to. */
  container?: string;
  /** The container's checkpoint count when it ran (a rollback to N undoes the steps at N and above). */
  segment: number;
}

/** A REPL session over the engine: emits SessionEvents (shell/types.ts). */
export class Session extends EventEmitter {
  readonly history: History;
  private readonly verbs: VerbTable;
  private readonly root?: string;
  private readonly handoff: TerminalHandoff;
  private records: StepRecord[] = [];
  private meta = new Map<number, StepMeta>();
  private current?: { name: string; image?: string };
  /** The container a `commit --rm` removed: still what `save` saves. */
  private removed?: { name: string; image?: string };
  private lastImage?: string;
  private st: ShellStatus = { checkpoints: 0, pendingPaths: 0, pendingBytes: 0, mounted: false, busy: false };
  private running?: StepRecord;
  private readonly out = new StepOutput((rec, line) => this.emit('output', rec, line));
  private interrupting = false;
  /** Drops an interrupt request no step took (the step ended before holding signals). */
  private dropInterrupt: () => void = () => undefined;
  private dirty = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Containers the session mounted to complete paths (unmounted at close). */
  private mountedForPaths = new Set<string>();
  private readonly onEngine = (ev: CairnEvent) => this.engineEvent(ev);
  /** The pending changes read at the end of the last step, and of which container. */
  private last?: { name: string; entries: PendingEntry[] };

  private constructor(opts: SessionOptions) {
    super();
    this.verbs = opts.verbs;
    this.root = opts.root;
    this.handoff = opts.handoff;
    this.history = new History(opts.historyFile === undefined ? defaultHistoryFile() : opts.historyFile);
    engineEvents.on('event', this.onEngine);
  }

  /** Opens a session; with start, uses that container or makes one from that image (a step of its own). */
  static async open(opts: SessionOptions): Promise<Session> {
    const s = new Session(opts);
    if (opts.start) await s.exec(await startLine(opts.start, opts.root));
    return s;
  }

  /** The status line now. */
  status(): ShellStatus {
    return { ...this.st, busy: !!this.running };
  }

  /** The steps entered so far (blank and comment lines are not steps). */
  steps(): readonly StepRecord[] {
    return this.records;
  }

  /** Runs a line; resolves when it is done (never rejects for a failing step: the record says so). Lines run one at a time. */
  exec(line: string): Promise<StepRecord> {
    const next = this.queue.then(() => this.execNow(line));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Stops the running step (its whole process group), as Ctrl-C would; the shell stays. */
  interrupt(): void {
    if (!this.running) return;
    this.interrupting = true;
    // Kept until a step holds signals: a Ctrl-C while the step is still being set up (verb loading, lock, mount) stops it too.
    this.dropInterrupt = interruptSteps('SIGINT', { keep: true });
  }

  /** Tab candidates for the word at cursor. */
  complete(line: string, cursor: number): Promise<{ start: number; candidates: string[] }> {
    return completeLine(line, cursor, {
      verbNames: Object.keys(this.verbs.verbs),
      spec: async (v) => (await this.verbs.verbs[v]()).spec,
      containers: async () => (await (await openStore({ root: this.root })).containers.list()).map((r) => r.name),
      images: async () => (await (await openStore({ root: this.root })).images.list()).flatMap((r) => r.names),
      listDir: (dir) => this.listDir(dir),
      workdir: undefined,
    }).catch(() => ({ start: cursor, candidates: [] }));
  }

  /** Whether leaving would lose work: pending changes, or steps since the last commit. */
  hasUncommittedWork(): boolean {
    return !!this.current && (this.st.pendingPaths > 0 || this.dirty);
  }

  /** Ends the session: stops listening to the engine, ends the mounts made for completion. */
  async close(): Promise<void> {
    await this.queue;
    engineEvents.off('event', this.onEngine);
    for (const name of this.mountedForPaths) await openContainer(name, { root: this.root }).then((c) => c.unmount()).catch(() => undefined);
    this.mountedForPaths.clear();
  }

  private async execNow(line: string): Promise<StepRecord> {
    const rec: StepRecord = { n: 0, line, verb: '', status: 'running', output: [], omitted: 0 };
    let plan: Plan;
    try {
      const parsed = parseLine(line);
      plan = await planLine(parsed, {
        container: this.current?.name,
        image: this.lastImage,
        verbNames: Object.keys(this.verbs.verbs),
        spec: async (v) => (await this.verbs.verbs[v]()).spec,
      });
    } catch (err) {
      // A line that does not parse: said as its verb's (a command's: run's).
      const first = line.trim().split(/[\s'"]/)[0];
      const verb = first in SHELL_VERBS || first in this.verbs.verbs ? first : 'run';
      plan = { kind: 'error', verb, message: asCairnError(err).message, hint: asCairnError(err).hint };
    }
    if (plan.kind === 'none') return { ...rec, status: 'ok' };
    rec.n = this.records.length + 1;
    rec.verb = plan.verb;
    this.records.push(rec);
    this.meta.set(rec.n, { container: this.current?.name, segment: this.st.checkpoints });
    this.running = rec;
    this.interrupting = false;
    const t0 = performance.now();
    this.emit('step-start', rec);
    this.emit('status', this.status());
    let before: PendingEntry[] | undefined;
    try {
      if (plan.kind === 'error') this.fail(rec, `cairn ${plan.verb}: ${plan.message}${plan.hint ? `\n  hint: ${plan.hint}` : ''}`);
      else if (plan.kind === 'shell') await this.shellVerb(rec, plan.verb, plan.args);
      else {
        // The pending changes read after the last step are this one's before (a step costs one scan, not two).
        const cur = this.current;
        if (TREE_VERBS.has(plan.verb) && cur) before = this.last?.name === cur.name ? this.last.entries : await this.pending(cur.name).catch(() => undefined);
        await this.cliVerb(rec, plan);
      }
    } catch (err) {
      const e = asCairnError(err);
      const usage = e instanceof UsageError || e.name === 'UsageError';
      const spec = plan.kind === 'verb' ? (await this.verbs.verbs[plan.verb]?.().catch(() => undefined))?.spec : undefined;
      this.fail(rec, `cairn ${rec.verb}: ${e.message}${usage && spec ? `\nUsage: ${spec.usage}` : e.hint ? `\n  hint: ${e.hint}` : ''}`);
    }
    this.out.flush(rec);
    if (rec.verb === 'from' && rec.status === 'running') this.meta.set(rec.n, { container: this.current?.name, segment: 0 });
    const after = await this.refreshStatus();
    if (before && after) rec.changes = changesBetween(before, after);
    if (rec.status === 'running') rec.status = 'ok';
    if (this.interrupting && rec.status !== 'ok') rec.status = 'interrupted';
    rec.ms = performance.now() - t0;
    this.running = undefined;
    this.interrupting = false;
    this.dropInterrupt();
    this.emit('step-end', rec);
    this.emit('status', this.status());
    return rec;
  }

  private fail(rec: StepRecord, error: string, exitCode?: number): void {
    rec.status = 'failed';
    rec.error = error;
    if (exitCode !== undefined) rec.exitCode = exitCode;
  }

  /** Runs a CLI verb's module with the plan's argv. */
  private async cliVerb(rec: StepRecord, plan: Extract<Plan, { kind: 'verb' }>): Promise<void> {
    const mod: VerbModuleLike = await this.verbs.verbs[plan.verb === 'enter' ? 'run' : plan.verb]();
    const p = this.verbs.parse(mod.spec, plan.argv);
    if (p.flags.help) return this.out.text(rec, await helpFor(this.verbs, [plan.verb]));
    let result = '';
    const ctx: VerbContextLike = {
      root: typeof p.flags.root === 'string' ? p.flags.root : this.root,
      quiet: p.flags.quiet === true,
      json: p.flags.json === true,
      out: (text) => {
        result = text;
        this.out.text(rec, text);
      },
      stdio: plan.terminal ? 'inherit' : 'pipe',
      embedded: true,
    };
    const call = () => mod.main(p, ctx);
    const status = plan.terminal ? await this.handoff(call) : await call();
    const code = typeof status === 'number' ? status : 0;
    if (plan.verb === 'run' || plan.verb === 'enter') rec.exitCode = code;
    if (code !== 0) {
      const hint = plan.bare && code === 127 ? notFoundHint(String(p.rest[p.rest[0] === '--' ? 1 : 0] ?? ''), Object.keys(this.verbs.verbs)) : undefined;
      this.fail(rec, `exit status ${code}${hint ? `\n  hint: ${hint}` : ''}`, code);
      return;
    }
    await this.afterVerb(rec, plan.verb, p.args, p.flags, result.trim());
  }

  /** What a successful verb changes of the session's state. */
  private async afterVerb(rec: StepRecord, verb: string, args: string[], flags: Record<string, unknown>, result: string): Promise<void> {
    switch (verb) {
      case 'from':
        this.current = { name: result, image: args[0] };
        this.dirty = false;
        return;
      case 'commit':
        this.lastImage = result;
        this.dirty = false;
        if (flags.rm === true) [this.removed, this.current] = [this.current, undefined];
        return;
      case 'rollback': {
        // Finished steps are on the screen already: say here which of them this undid (save leaves them out).
        const undone = await this.markUndone();
        if (undone.length > 0) this.out.text(rec, `undid step${undone.length === 1 ? '' : 's'} ${undone.join(', ')}: save leaves ${undone.length === 1 ? 'it' : 'them'} out`);
        return;
      }
      case 'run': case 'copy': case 'add': case 'config': case 'checkpoint': case 'enter':
        this.dirty = true;
        return;
      default:
        return;
    }
  }

  /** After a rollback: the steps of the container it took back (tree steps and checkpoints at or above its new count) are undone; returns their numbers. */
  private async markUndone(): Promise<number[]> {
    if (!this.current) return [];
    const undone: number[] = [];
    const c = await openContainer(this.current.name, { root: this.root });
    const count = (await c.record()).checkpoints.length;
    for (const r of this.records) {
      const m = this.meta.get(r.n);
      if (!m || m.container !== this.current.name || r.status !== 'ok' || r.undone) continue;
      if ((TREE_VERBS.has(r.verb) || r.verb === 'checkpoint') && m.segment >= count) {
        r.undone = true;
        undone.push(r.n);
      }
    }
    return undone;
  }

  /** The shell's own verbs (enter is run -t sh: a CLI verb plan). */
  private async shellVerb(rec: StepRecord, verb: string, args: string[]): Promise<void> {
    switch (verb) {
      case 'use': {
        if (args.length !== 1) throw new UsageError('use takes one container: use CTR');
        const c = await openContainer(args[0], { root: this.root });
        const r = await c.record();
        this.current = { name: c.name, image: r.from };
        this.dirty = false;
        this.meta.set(rec.n, { container: c.name, segment: r.checkpoints.length });
        this.out.text(rec, `${c.name} (from ${r.from})`);
        return;
      }
      case 'layers': {
        const c = await openContainer(this.current!.name, { root: this.root });
        rec.layers = await c.layers();
        return;
      }
      case 'help':
        return this.out.text(rec, await helpFor(this.verbs, args));
      case 'save':
        return this.save(rec, args);
      case 'exit': {
        if (args.length > 1 || (args[0] !== undefined && !/^\d+$/.test(args[0]))) throw new UsageError('exit takes a status number: exit [N]');
        if (args[0] !== undefined) rec.exitCode = Number(args[0]);
        return;
      }
      default:
        throw new UsageError(`unknown shell verb ${verb}`);
    }
  }

  private async save(rec: StepRecord, args: string[]): Promise<void> {
    if (args.length !== 1) throw new UsageError('save takes one file: save FILE.cairn or save FILE.build.mjs');
    const format = saveFormat(args[0]);
    if (!format) throw new UsageError(`save writes FILE.cairn or FILE.build.mjs, not ${args[0]}`);
    const target = this.current ?? this.removed;
    if (!target) throw new UsageError('no container yet: start with `from IMAGE`');
    const mine = this.records.filter((r) => r !== rec && this.meta.get(r.n)?.container === target.name);
    const saved = await saveText(mine, format, this.verbs, { base: target.image });
    writeFileSync(args[0], saved.text, { mode: format === 'cairn' ? 0o755 : 0o644 });
    this.out.text(rec, `saved ${saved.steps} step${saved.steps === 1 ? '' : 's'} to ${args[0]}`);
    for (const l of saved.skipped) this.emit('warn', `save left out an interactive step: ${l}`);
  }

  /** The pending changes of a container. */
  private async pending(name: string): Promise<PendingEntry[]> {
    return (await openContainer(name, { root: this.root })).pending();
  }

  /** Reads the current container's state into the status line; returns its pending changes. */
  private async refreshStatus(): Promise<PendingEntry[] | undefined> {
    const cur = this.current;
    this.last = undefined;
    if (!cur) {
      this.st = { checkpoints: 0, pendingPaths: 0, pendingBytes: 0, mounted: false, busy: false };
      return undefined;
    }
    try {
      const c = await openContainer(cur.name, { root: this.root });
      const [r, pending] = await Promise.all([c.record(), c.pending()]);
      this.st = {
        container: c.name, image: r.from, checkpoints: r.checkpoints.length, pendingPaths: pending.length,
        pendingBytes: pending.reduce((n, e) => n + e.size, 0), mounted: !!r.mounted, busy: false,
      };
      this.last = { name: cur.name, entries: pending };
      return pending;
    } catch (err) {
      if (asCairnError(err) instanceof NotFoundError) this.current = undefined;
      else this.emit('warn', `cannot read the state of ${cur.name}: ${asCairnError(err).message}`);
      this.st = { container: this.current?.name, image: this.current?.image, checkpoints: 0, pendingPaths: 0, pendingBytes: 0, mounted: false, busy: false };
      return undefined;
    }
  }

  /** Entries of a directory in the current container's tree, for completion (mounting it when it is not). */
  private async listDir(dir: string): Promise<{ name: string; dir: boolean }[]> {
    if (!this.current || this.running) return [];
    const name = this.current.name;
    const where = async () => ((await inspect(name, { root: this.root, type: 'container' })) as { mountPoint: string | null }).mountPoint;
    let root = await where();
    if (!root) {
      await (await openContainer(name, { root: this.root })).mount();
      this.mountedForPaths.add(name);
      root = await where();
    }
    return root ? listInRoot(root, dir) : [];
  }

  /** The engine's events: a running step's output and progress, and warnings. */
  private engineEvent(ev: CairnEvent): void {
    if (ev.type === 'warn') {
      this.emit('warn', ev.text);
      return;
    }
    const rec = this.running;
    if (!rec) return;
    if (ev.type === 'progress') this.emit('progress', rec, { done: ev.done, total: ev.total, unit: ev.unit });
    else if (ev.type === 'output') this.out.data(rec, ev.data);
  }
}

/** The line that starts a session at start: `use CTR` when such a container exists, else `from IMAGE`. */
export async function startLine(start: string, root?: string): Promise<string> {
  const exists = await (await openStore({ root })).containers.find(start);
  return `${exists ? 'use' : 'from'} ${quoteWord(start)}`;
}
