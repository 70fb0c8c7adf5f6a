import { writeSync } from 'node:fs';
import { CairnError, UsageError, prepareExec, runExec } from '../../dsl/index.js';
import { bool, list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn exec`: verify a flat signed image and become its process. */
export const spec: VerbSpec = {
  name: 'exec',
  usage: 'exec [--key PUB] [--signature-policy FILE] [--entrypoint CMD|JSON] [--env K=V]… [--volume HOST:CTR[:ro]]… [--writable] [--insecure-skip-verify] FILE|URL [--] [CMD [ARG…]]',
  summary:
    'Verify a flat signed image (a file or an http(s) URL), unpack it once into a cache, and replace this process with ' +
    'its command in a private mount namespace with the image as a read-only root. As root the service keeps cairn\'s PID.',
  example: 'cairn exec --volume /srv/data:/data https://example.com/web.tar.gz',
  flags: {
    key: { kind: 'string', help: 'accept signatures by this key only (PEM file or identity string)', arg: 'PUB' },
    'signature-policy': { kind: 'string', help: 'also apply this signature policy file (a valid signature is always required)', arg: 'FILE' },
    entrypoint: { kind: 'string', help: 'run this program (or JSON array) instead of the image\'s Entrypoint and Cmd; "" for none', arg: 'CMD' },
    env: { kind: 'list', alias: ['-e'], help: 'set an environment variable', arg: 'K=V' },
    volume: { kind: 'list', alias: ['-v'], help: 'bind a host path in', arg: 'HOST:CTR[:ro]' },
    writable: { kind: 'bool', help: 'a writable root (changes go to a tmpfs and vanish at exit)' },
    'insecure-skip-verify': { kind: 'bool', help: 'run an unsigned or untrusted image (with a warning)' },
  },
  min: 1,
  max: 1,
  stopAfter: 1,
};

/**
 * Prepares the start; in prepare mode (the `cairn` wrapper sets CAIRN_EXEC_FD) prints the final command,
 * as shell text, on that fd for the wrapper to eval; otherwise (node run directly, no exec in place) runs
 * it as a child and passes its status.
 */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  const fd = process.env.CAIRN_EXEC_FD;
  const launch = await prepareExec(p.args[0], {
    root: ctx.root,
    key: str(p, 'key'),
    signaturePolicy: str(p, 'signature-policy'),
    insecure: bool(p, 'insecure-skip-verify'),
    cmd: p.rest[0] === '--' ? p.rest.slice(1) : p.rest,
    entrypoint: entrypointOf(str(p, 'entrypoint')),
    env: list(p, 'env'),
    volumes: list(p, 'volume'),
    writable: bool(p, 'writable'),
    hostUid: fd && process.env.CAIRN_EXEC_UID ? Number(process.env.CAIRN_EXEC_UID) : undefined,
  });
  if (!fd) return runExec(launch);
  try {
    // `NAME=VALUE exec ARGV…`, evaluated by the wrapper: the environment stays out of every argv.
    writeSync(Number(fd), launch.text);
  } catch (err) {
    throw new CairnError(`cannot hand the command to the cairn wrapper (fd ${fd}): ${(err as Error).message}`, { hint: 'run cairn through its bin/cairn wrapper' });
  }
  return 0;
}

/** --entrypoint as podman takes it: "" for none, a JSON array of strings, or one program. */
function entrypointOf(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (v === '') return [];
  if (!v.startsWith('[')) return [v];
  let a: unknown;
  try {
    a = JSON.parse(v);
  } catch {
    a = undefined;
  }
  if (!Array.isArray(a) || !a.every((x) => typeof x === 'string')) throw new UsageError(`--entrypoint ${v} is not a JSON array of strings`);
  return a;
}
