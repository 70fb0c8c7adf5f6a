import { promises as fsp, constants as fsc } from 'node:fs';
import path from 'node:path';
import { BadInputError, NotFoundError } from '../errors.js';
import { lstatOrUndefined } from '../fsutil.js';
import { resolveInRoot } from '../layer/safepath.js';
import { runInRoot, type Bind, type RunResult } from '../sandbox/run.js';
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
  input?: string | Buffer;
  stepId?: string;
  /** Directory for the step's scratch files (the store's tmp dir). */
  scratchDir: string;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

async function exists(p: string): Promise<boolean> {
  return (await lstatOrUndefined(p)) !== undefined;
}

/** Finds argv0 in the root the way execvp would, with the container's PATH. */
async function findCommand(root: string, argv0: string, env: string[], cwd: string): Promise<boolean> {
  const candidates = argv0.includes('/')
    ? [path.posix.resolve(cwd, argv0)]
    : (env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '').split(':').filter(Boolean).map((d) => path.posix.join(d, argv0));
  for (const c of candidates) {
    try {
      await fsp.access(await resolveInRoot(root, c), fsc.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/** Mount points a step creates in the tree; removed after the step when they are still empty. */
class Scaffold {
  made: { p: string; dir: boolean }[] = [];
  /** Parent directories' times before anything was made in them, restored at cleanup. */
  times = new Map<string, { atime: Date; mtime: Date }>();
  private async keepTimes(p: string): Promise<void> {
    const parent = path.dirname(p);
    if (this.times.has(parent)) return;
    try {
      const st = await fsp.stat(parent);
      this.times.set(parent, { atime: st.atime, mtime: st.mtime });
    } catch {
      /* made by us */
    }
  }
  async dir(p: string): Promise<boolean> {
    if (await exists(p)) return (await fsp.lstat(p)).isDirectory();
    await this.keepTimes(p);
    await fsp.mkdir(p, { recursive: true });
    this.made.push({ p, dir: true });
    return true;
  }
  async file(p: string): Promise<boolean> {
    if (await exists(p)) return (await fsp.lstat(p)).isFile();
    if (!(await exists(path.dirname(p)))) return false;
    await this.keepTimes(p);
    await fsp.writeFile(p, '');
    this.made.push({ p, dir: false });
    return true;
  }
  async cleanup(): Promise<void> {
    for (const m of this.made.reverse()) {
      try {
        if (m.dir) await fsp.rmdir(m.p);
        else if ((await fsp.stat(m.p)).size === 0) await fsp.unlink(m.p);
      } catch {
        /* kept: the step put something there */
      }
    }
    for (const [dir, t] of this.times) await fsp.utimes(dir, t.atime, t.mtime).catch(() => undefined);
  }
}

/** Runs argv in a mounted container root with the container's config applied; resolves to the status. */
export async function runInContainer(rec: ContainerRecord, root: string, argv: string[], o: RunOptions): Promise<RunResult> {
  if (argv.length === 0) throw new BadInputError('no command given to run', { hint: 'usage: cairn run CTR [--] CMD [ARG…]' });
  const rc = rec.config.config ?? {};
  const ids = await resolveUser(root, o.user ?? rc.User);
  let env = rc.Env?.length ? [...rc.Env] : [DEFAULT_PATH];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${(await homeOf(root, ids.uid)) || '/'}`);
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.push(`HOSTNAME=${rec.name.slice(0, 63)}`);
  env = editEnv(env, o.env ?? []);
  const cwd = o.workingdir || rc.WorkingDir || '/';
  const scaffold = new Scaffold();
  try {
    const cwdHost = await resolveInRoot(root, cwd);
    if (!(await exists(cwdHost))) await fsp.mkdir(cwdHost, { recursive: true });
    if (!(await findCommand(root, argv[0], env, cwd))) {
      return { status: 127, stdout: '', stderr: `cairn run: command not found in the container: ${argv[0]}\n` };
    }
    const mountPoints = {
      proc: await scaffold.dir(path.join(root, 'proc')),
      dev: await scaffold.dir(path.join(root, 'dev')),
      sys: await scaffold.dir(path.join(root, 'sys')),
    };
    const binds: Bind[] = [];
    for (const f of ['/etc/resolv.conf', '/etc/hosts']) {
      const t = await resolveInRoot(root, f);
      if (await scaffold.file(t)) binds.push({ source: f, target: t, ro: true });
    }
    for (const v of o.volumes ?? []) binds.push(await volumeBind(root, v, scaffold));
    for (const sec of o.secrets ?? []) binds.push(await secretBind(root, sec, scaffold));
    const tmpfs: string[] = [];
    for (const t of o.tmpfs ?? []) {
      const h = await resolveInRoot(root, t);
      await scaffold.dir(h);
      tmpfs.push(h);
    }
    return await runInRoot({
      root, argv, env, cwd, uid: ids.uid, gid: ids.gid,
      network: o.network ?? 'host', pid: o.pid ?? 'private',
      binds, tmpfs, mountPoints,
      stdio: o.stdio ?? 'inherit', input: o.input, stepId: o.stepId, scratchDir: o.scratchDir,
    });
  } finally {
    await scaffold.cleanup();
  }
}

/** Parses and prepares one `HOST:CTR[:ro|rw]` volume. */
async function volumeBind(root: string, spec: string, scaffold: Scaffold): Promise<Bind> {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1] || (parts[2] && !/^(ro|rw|z|Z)(,(ro|rw|z|Z))*$/.test(parts[2]))) {
    throw new BadInputError(`invalid --volume ${spec}`, { hint: 'use HOST:CONTAINER[:ro]' });
  }
  const source = path.resolve(parts[0]);
  let st;
  try {
    st = await fsp.stat(source);
  } catch {
    throw new NotFoundError(`--volume source ${source} does not exist`, { hint: 'create it first, or fix the path' });
  }
  const target = await resolveInRoot(root, parts[1]);
  if (st.isDirectory()) await scaffold.dir(target);
  else await scaffold.file(target);
  return { source, target, ro: (parts[2] ?? '').split(',').includes('ro') };
}

/** Parses and prepares one `id=ID,src=FILE` secret, bound read-only at /run/secrets/ID. */
async function secretBind(root: string, spec: string, scaffold: Scaffold): Promise<Bind> {
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
  await scaffold.dir(await resolveInRoot(root, '/run'));
  await scaffold.dir(await resolveInRoot(root, '/run/secrets'));
  const target = await resolveInRoot(root, `/run/secrets/${id}`);
  if (!(await scaffold.file(target))) throw new BadInputError(`secret ${id}: /run/secrets/${id} exists in the container and is not a file`);
  return { source, target, ro: true };
}
