import { container, UsageError, whenInterrupted } from '../../dsl/index.js';
import { list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn run`: run a command in a container. */
export const spec: VerbSpec = {
  name: 'run',
  usage: 'run [--env K=V]… [--workingdir D] [--user U[:G]] [--volume HOST:CTR[:ro]]… [--tmpfs PATH]… [--secret id=ID,src=FILE]… [--network host|none] [--pid private|host] CTR [--] CMD [ARG…]',
  summary: 'Run a command in the container\'s root filesystem, with the image config\'s env, workdir and user; its exit status passes through.',
  example: 'cairn run web -- apt-get install -y nginx',
  flags: {
    env: { kind: 'list', alias: ['-e'], help: 'set an environment variable', arg: 'K=V' },
    workingdir: { kind: 'string', help: 'working directory in the container', arg: 'DIR' },
    user: { kind: 'string', help: 'user (and group) to run as', arg: 'U[:G]' },
    volume: { kind: 'list', alias: ['-v'], help: 'bind a host path in', arg: 'HOST:CTR[:ro]' },
    tmpfs: { kind: 'list', help: 'mount a tmpfs at PATH for this step', arg: 'PATH' },
    secret: { kind: 'list', help: 'FILE at /run/secrets/ID for this step only', arg: 'id=ID,src=FILE' },
    network: { kind: 'string', alias: ['--net'], help: 'host (default) or none', arg: 'MODE' },
    pid: { kind: 'string', help: 'private (default: no process outlives the step) or host', arg: 'MODE' },
    isolation: { kind: 'string', help: 'accepted for buildah compatibility (chroot)', arg: 'TYPE' },
    terminal: { kind: 'bool', alias: ['-t'], help: 'accepted for buildah compatibility' },
  },
  min: 1,
  max: 1,
  stopAfter: 1,
};

function mode<T extends string>(v: string | undefined, allowed: T[], flag: string): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`${flag} must be ${allowed.join(' or ')}`);
  return v as T;
}

/** Runs the command with the terminal passed through; returns its status. */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  const argv = p.rest[0] === '--' ? p.rest.slice(1) : p.rest;
  if (argv.length === 0) throw new UsageError('no command given');
  // Interrupted (Ctrl-C, SIGTERM, SIGHUP): once the step is gone and cleaned up, exit as `buildah run` does, 1.
  // In the shell the step ends and the shell stays: it stops steps with interruptSteps, which ends no process.
  if (!ctx.embedded) {
    await whenInterrupted((sig) => {
      process.stderr.write(`cairn run: interrupted by ${sig}: the step and all its processes were stopped\n`);
      process.exit(1);
    });
  }
  const c = await container(p.args[0], { root: ctx.root });
  const r = await c.run(argv, {
    stdio: ctx.stdio,
    nothrow: true,
    env: list(p, 'env'),
    workingdir: str(p, 'workingdir'),
    user: str(p, 'user'),
    volumes: list(p, 'volume'),
    tmpfs: list(p, 'tmpfs'),
    secrets: list(p, 'secret'),
    network: mode(str(p, 'network'), ['host', 'none'], '--network'),
    pid: mode(str(p, 'pid'), ['private', 'host'], '--pid'),
  });
  // Piped, the output went out as engine events, all but the message of a command that was never started.
  if (ctx.stdio === 'inherit') {
    if (r.stderr) process.stderr.write(r.stderr);
  } else if (r.notFound) ctx.out(r.stderr.trimEnd());
  return r.status;
}
