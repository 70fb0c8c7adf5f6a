import { writeSync } from 'node:fs';
import os from 'node:os';
import { CairnError } from '../../dsl/core/errors.js';
import { ENV_VAR } from '../../dsl/sandbox/env.js';
import { execContext, launchCommand, launchText, type Launch } from '../../dsl/exec/launch.js';
import { execImage } from '../../dsl/exec/exec.js';
import { holdEntry } from '../../dsl/exec/cache.js';
import { defaultRoot } from '../../dsl/store/paths.js';
import { bool, list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn exec`: verify a flat signed image and become its process. */
export const spec: VerbSpec = {
  name: 'exec',
  usage: 'exec [--key PUB] [--signature-policy FILE] [--env K=V]… [--volume HOST:CTR[:ro]]… [--writable] [--insecure-skip-verify] FILE|URL [--] [CMD [ARG…]]',
  summary:
    'Verify a flat signed image (a file or an http(s) URL), unpack it once into a cache, and replace this process with ' +
    'its command in a private mount namespace with the image as a read-only root. As root the service keeps cairn\'s PID.',
  example: 'cairn exec --volume /srv/data:/data https://example.com/web.tar.gz',
  flags: {
    key: { kind: 'string', help: 'accept signatures by this key only (PEM file or identity string)', arg: 'PUB' },
    'signature-policy': { kind: 'string', help: 'also apply this signature policy file (a valid signature is always required)', arg: 'FILE' },
    env: { kind: 'list', alias: ['-e'], help: 'set an environment variable', arg: 'K=V' },
    volume: { kind: 'list', alias: ['-v'], help: 'bind a host path in', arg: 'HOST:CTR[:ro]' },
    writable: { kind: 'bool', help: 'a writable root (changes go to a tmpfs and vanish at exit)' },
    'insecure-skip-verify': { kind: 'bool', help: 'run an unsigned or untrusted image (with a warning)' },
  },
  min: 1,
  max: 1,
  stopAfter: 1,
};

/** Without the `cairn` wrapper (node run directly) there is no exec in place: run the chain as a child and pass its status. */
async function runChild({ argv, env }: Launch): Promise<number> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, [ENV_VAR]: env } });
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => child.kill(sig));
    child.on('error', (e) => {
      process.stderr.write(`cairn exec: cannot start ${argv[0]}: ${e.message}\n`);
      resolve(125);
    });
    child.on('close', (code, sig) => resolve(code ?? 128 + (sig ? os.constants.signals[sig] : 0)));
  });
}

/**
 * Prepares the start; in prepare mode (the `cairn` wrapper sets CAIRN_EXEC_FD) prints the final command,
 * as shell text, on that fd for the wrapper to eval; otherwise runs it as a child.
 */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  const cmd = p.rest[0] === '--' ? p.rest.slice(1) : p.rest;
  const fd = process.env.CAIRN_EXEC_FD;
  const hostUid = fd && process.env.CAIRN_EXEC_UID ? Number(process.env.CAIRN_EXEC_UID) : process.getuid!();
  const img = await execImage(p.args[0], { storeRoot: ctx.root ?? defaultRoot(), key: str(p, 'key'), signaturePolicy: str(p, 'signature-policy'), insecure: bool(p, 'insecure-skip-verify') });
  const launch = await launchCommand(img, {
    cmd,
    env: list(p, 'env'),
    volumes: list(p, 'volume'),
    writable: bool(p, 'writable'),
    context: execContext(hostUid),
    hostUid,
  });
  launch.argv = holdEntry(img, launch.argv);
  if (!fd) return runChild(launch);
  try {
    // `NAME=VALUE exec ARGV…`, evaluated by the wrapper: the environment stays out of every argv.
    writeSync(Number(fd), launchText(launch));
  } catch (err) {
    throw new CairnError(`cannot hand the command to the cairn wrapper (fd ${fd}): ${(err as Error).message}`, { hint: 'run cairn through its bin/cairn wrapper' });
  }
  return 0;
}
