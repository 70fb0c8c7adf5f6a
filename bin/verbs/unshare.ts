import { spawn } from 'node:child_process';
import type { Parsed, VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { storeRoot } from '../../dsl/index.js';

/** `cairn unshare`: a shell (or command) inside cairn's namespaces. */
export const spec: VerbSpec = {
  name: 'unshare',
  usage: 'unshare [CMD [ARG…]]',
  summary: 'Run CMD (default: $SHELL) in the user and mount namespace cairn uses, where its mounts are visible and files keep their in-image owners.',
  example: 'cairn unshare sh -c \'ls -l $(cairn mount web)\'',
  flags: {},
  min: 0,
  max: Infinity,
  stopAfter: 0,
};

/** Runs the command and passes its status through. */
export async function main(p: Parsed, ctx: VerbContext): Promise<number> {
  const argv = p.rest[0] === '--' ? p.rest.slice(1) : p.rest;
  const cmd = argv.length ? argv : [process.env.SHELL || '/bin/sh'];
  const env = { ...process.env, CAIRN_ROOT: ctx.root ?? process.env.CAIRN_ROOT ?? (await storeRoot()) };
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: 'inherit', env });
    child.on('error', (e) => {
      process.stderr.write(`cairn unshare: cannot run ${cmd[0]}: ${e.message}\n`);
      resolve(125);
    });
    child.on('close', (code, sig) => resolve(code ?? (sig ? 128 + 15 : 1)));
  });
}
