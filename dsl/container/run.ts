import { closeSync, constants as fsc, existsSync, lstatSync, mkdirSync, openSync, promises as fsp, rmdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { BadInputError } from '../core/errors.js';
import { isMissing } from '../core/fsutil.js';
import { envWithPath } from '../core/which.js';
import { InRoot, type Located } from '../layer/inroot.js';
import { runInRoot, type Bind, type RunResult } from '../sandbox/run.js';
import { parseVolume, RUN_VOLUME_OPTIONS } from '../sandbox/volume.js';
import type { ContainerRecord } from '../store/containers.js';
import { editEnv } from './config.js';
import { homeOf, resolveUser } from './users.js';

/** Options of a run step. */
export interface RunOptions {
  env?: string[];
  workingdir?: string;
  user?: string;
  /** `HOST:CTR[:ro]` binds. */
  volumes?: string[];
  tmpfs?: string[];
  /** `id=ID,src=FILE`: FILE at /run/secrets/ID for this step only, never in a layer or the history. */
  secrets?: string[];
  network?: 'host' | 'none';
  pid?: 'private' | 'host';
  stdio?: 'inherit' | 'pipe';
  /** The command's standard input: text, bytes or a stream (default: empty). */
  input?: string | Buffer | NodeJS.ReadableStream;
  /** Emit no output events (the output is still collected). */
  quiet?: boolean;
  /** Receives the command's standard output as it comes (a script's pipe()). */
  onStdout?: (d: Buffer) => void;
  /** Receives the command's standard error as it comes (a Dockerfile RUN's log). */
  onStderr?: (d: Buffer) => void;
  stepId?: string;
  /** Directory for the step's scratch files (the store's tmp dir). */
  scratchDir: string;
}

/**
 * Finds argv0 in the root the way execvp would, with the container's PATH: 'found', 'not-executable' (a
 * candidate is there but may not be run: execvp's EACCES, status 126) or 'missing' (status 127).
 */
function findCommand(r: InRoot, argv0: string, env: string[], cwd: string): Promise<'found' | 'not-executable' | 'missing'> {
  const candidates = argv0.includes('/')
    ? [path.posix.resolve(cwd, argv0)]
    : (env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '').split(':').filter(Boolean).map((d) => path.posix.join(d, argv0));
  return (async () => {
    let denied = false;
    for (const c of candidates) {
      try {
        const loc = r.locate(c, { follow: true });
        if (!loc.stat) continue;
        if (!loc.stat.isFile()) {
          denied = true;
          continue;
        }
        await fsp.access(loc.path, fsc.X_OK);
        return 'found';
      } catch (err) {
        // As execvp: a candidate that is missing or not executable by us is skipped; any other failure is not "not found".
        if ((err as NodeJS.ErrnoException).code === 'EACCES') denied = true;
        else if (!isMissing(err)) throw err;
      }
    }
    return denied ? 'not-executable' : 'missing';
  })();
}

/**
 * Mount points a step creates in the tree, each located by the in-root resolver and pinned by its parent
 * directory's descriptor; removed after the step when they are still the same, still empty objects (the step
 * may have replaced their parents by symlinks meanwhile: the pinned parents are not fooled by that).
 */
class Scaffold {
  private made: { loc: Located; ino: number; dev: number; dir: boolean }[] = [];
  /** Parent directories' times before anything was made in them, restored at cleanup. */
  private times = new Map<string, { atime: Date; mtime: Date }>();
  constructor(readonly r: InRoot) {}

  private keepTimes(loc: Located): void {
    if (this.times.has(loc.dir)) return;
    const st = statSync(loc.dir);
    this.times.set(loc.dir, { atime: st.atime, mtime: st.mtime });
  }

  /** The plain host path of a located object, for mount(8): every component was verified and nothing runs in the tree yet. */
  host(loc: Located): string {
    return path.join(this.r.root, loc.rel);
  }

  /**
   * Ensures p is a directory (made when missing, parents too); undefined when something else is there. Without
   * follow, a symlink at p counts as something else (for the top-level /proc, /dev and /sys mount points).
   */
  dir(p: string, follow = true): Located | undefined {
    const loc = this.r.locate(p, { follow });
    if (loc.stat) return loc.stat.isDirectory() ? loc : undefined;
    const parent = this.r.locate(path.posix.dirname('/' + loc.rel), { follow: true });
    if (!parent.stat) {
      if (!this.dir(path.posix.dirname('/' + loc.rel))) return undefined;
    } else if (!parent.stat.isDirectory()) return undefined;
    const at = this.r.locate('/' + loc.rel);
    this.keepTimes(at);
    mkdirSync(at.path, { mode: 0o755 });
    const st = lstatSync(at.path);
    this.made.push({ loc: at, ino: st.ino, dev: st.dev, dir: true });
    return { ...at, stat: st };
  }

  /** Ensures p is a regular file (an empty one made when missing and its directory exists); undefined otherwise. */
  file(p: string): Located | undefined {
    const loc = this.r.locate(p, { follow: true });
    if (loc.stat) return loc.stat.isFile() ? loc : undefined;
    if (!loc.dir) return undefined;
    this.keepTimes(loc);
    closeSync(openSync(loc.path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o644));
    const st = lstatSync(loc.path);
    this.made.push({ loc, ino: st.ino, dev: st.dev, dir: false });
    return { ...loc, stat: st };
  }

  /** Removes what the step left empty and unchanged; restores the parents' times. */
  async cleanup(): Promise<void> {
    for (const m of this.made.reverse()) {
      try {
        const st = lstatSync(m.loc.path);
        if (st.ino !== m.ino || st.dev !== m.dev) continue;
        if (m.dir) rmdirSync(m.loc.path);
        else if (st.isFile() && st.size === 0) unlinkSync(m.loc.path);
      } catch {
        // Best effort: kept when the step put something there (ENOTEMPTY) or took it away; a scaffold left
        // behind shows as a pending change (`cairn diff`), never as a wrong answer.
      }
    }
    // Best effort as well: a parent's times not restored only show as a changed time in the next layer.
    for (const [dir, t] of this.times) await fsp.utimes(dir, t.atime, t.mtime).catch(() => undefined);
  }
}

/** Runs argv in a mounted container root with the container's config applied; resolves to the status. */
export async function runInContainer(rec: ContainerRecord, root: string, argv: string[], o: RunOptions): Promise<RunResult> {
  if (argv.length === 0) throw new BadInputError('no command given to run', { hint: 'usage: cairn run CTR [--] CMD [ARG…]' });
  const rc = rec.config.config ?? {};
  const ids = await resolveUser(root, o.user ?? rc.User);
  let env = envWithPath(rc.Env);
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${(await homeOf(root, ids.uid)) || '/'}`);
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${rec.name.slice(0, 63)}`);
  env = editEnv(env, o.env ?? []);
  const cwd = o.workingdir || rc.WorkingDir || '/';
  const r = InRoot.open(root);
  const scaffold = new Scaffold(r);
  try {
    // The working directory is made like buildah makes it, and stays (it is not scaffolding).
    r.mkdirp(cwd);
    const found = await findCommand(r, argv[0], env, cwd);
    if (found === 'missing') return { status: 127, stdout: '', stderr: `cairn run: command not found in the container: ${argv[0]}\n`, notFound: found };
    if (found === 'not-executable') return { status: 126, stdout: '', stderr: `cairn run: ${argv[0]} is not an executable file in the container\n`, notFound: found };
    const mountPoints = {
      proc: scaffold.dir('/proc', false) !== undefined,
      dev: scaffold.dir('/dev', false) !== undefined,
      sys: scaffold.dir('/sys', false) !== undefined,
    };
    const binds: Bind[] = [];
    // As buildah: the host's name service files, and the container's name in /etc/hostname when the image has
    // none; an image without /etc (scratch plus a static binary) gets one for the step.
    const hostname = !r.locate('/etc/hostname', { follow: true }).stat;
    if (scaffold.dir('/etc')) {
      for (const f of ['/etc/resolv.conf', '/etc/hosts']) {
        // A minimal root (a chroot, a slim pod image) may have neither: nothing to bind then, as `exec` does.
        if (!existsSync(f)) continue;
        const t = scaffold.file(f);
        if (t) binds.push({ source: f, target: scaffold.host(t), ro: true });
      }
      const t = hostname ? scaffold.file('/etc/hostname') : undefined;
      if (t) binds.push({ source: '', content: `${rec.name.slice(0, 63)}\n`, target: scaffold.host(t), ro: true });
    }
    for (const v of o.volumes ?? []) binds.push(await volumeBind(v, scaffold));
    for (const sec of o.secrets ?? []) binds.push(await secretBind(sec, scaffold));
    const tmpfs: string[] = [];
    for (const t of o.tmpfs ?? []) {
      const h = scaffold.dir(t);
      if (!h) throw new BadInputError(`--tmpfs ${t}: something other than a directory is there in the container`);
      tmpfs.push(scaffold.host(h));
    }
    return await runInRoot({
      root, argv, env, cwd, uid: ids.uid, gid: ids.gid,
      network: o.network ?? 'host', pid: o.pid ?? 'private',
      binds, tmpfs, mountPoints,
      stdio: o.stdio ?? 'inherit', input: o.input, quiet: o.quiet, onStdout: o.onStdout, onStderr: o.onStderr, stepId: o.stepId, scratchDir: o.scratchDir,
    });
  } finally {
    await scaffold.cleanup();
    r.close();
  }
}

/** Parses and prepares one `HOST:CTR[:ro|rw|z|Z,…]` volume. */
async function volumeBind(spec: string, scaffold: Scaffold): Promise<Bind> {
  const v = await parseVolume(spec, RUN_VOLUME_OPTIONS);
  const isDir = v.stat.isDirectory();
  const target = isDir ? scaffold.dir(v.target) : scaffold.file(v.target);
  if (!target) throw new BadInputError(`--volume ${spec}: the container has something else at ${v.target}`, { hint: `a ${isDir ? 'directory' : 'file'} can only be mounted on a ${isDir ? 'directory' : 'file'}` });
  return { source: v.source, target: scaffold.host(target), ro: v.ro };
}

/** Parses and prepares one `id=ID,src=FILE` secret, bound read-only at /run/secrets/ID. */
async function secretBind(spec: string, scaffold: Scaffold): Promise<Bind> {
  const kv = Object.fromEntries(spec.split(',').map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
  const id = kv.id;
  const src = kv.src ?? kv.source;
  if (!id || !src || !/^[A-Za-z0-9._-]+$/.test(id) || id.startsWith('.')) {
    throw new BadInputError(`invalid --secret ${spec}`, { hint: 'use id=ID,src=FILE (ID of letters, digits, ".", "_", "-")' });
  }
  const source = path.resolve(src);
  try {
    await fsp.access(source, fsc.R_OK);
    if (!(await fsp.stat(source)).isFile()) throw new Error('not a file');
  } catch {
    throw new BadInputError(`secret ${id}: ${source} is not a readable file`, { hint: 'check the path and its permissions' });
  }
  if (!scaffold.dir('/run/secrets')) throw new BadInputError(`secret ${id}: /run/secrets is not a directory in the container`);
  const target = scaffold.file(`/run/secrets/${id}`);
  if (!target) throw new BadInputError(`secret ${id}: /run/secrets/${id} exists in the container and is not a file`);
  return { source, target: scaffold.host(target), ro: true };
}
