import { logout, UsageError } from '../../dsl/index.js';
import { bool, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn logout`: remove stored registry credentials, as podman logout. */
export const spec: VerbSpec = {
  name: 'logout',
  usage: 'logout [--authfile FILE] [--all] REGISTRY',
  summary:
    'Remove the credentials login stored for a registry (HOST[:PORT] or HOST[:PORT]/NAMESPACE) from the auth file or its credential helper; ' +
    '--all removes every entry of the auth file (and erases the hosts of its credHelpers from their helpers).',
  example: 'cairn logout registry.example.com',
  flags: {
    authfile: { kind: 'string', help: 'the auth file to edit (default $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)', arg: 'FILE' },
    all: { kind: 'bool', alias: ['-a'], help: 'remove the credentials of every registry' },
  },
  min: 0,
  max: 1,
};

/** Logs out. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const all = bool(p, 'all');
  if (all && p.args.length) throw new UsageError('--all takes no registry');
  if (!all && !p.args.length) throw new UsageError('logout needs a registry, or --all');
  const r = await logout(p.args[0], { authfile: str(p, 'authfile'), all });
  if (!ctx.quiet) process.stderr.write(all ? `removed the credentials of every registry from ${r.file}\n` : `removed the credentials of ${r.removed.join(', ')}\n`);
}
