import { sync, UsageError, type SyncCallOptions, type SyncResult } from '../../dsl/index.js';
import { bool, list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';
import { REGISTRY_FLAGS, SIDE_REGISTRY_FLAGS, registryOptions, sideRegistryOptions } from '../registry-flags.js';

/** `cairn sync`: copy every image of a repository, a YAML list or a directory of OCI layouts, like skopeo sync. */
export const spec: VerbSpec = {
  name: 'sync',
  usage:
    'sync [--src docker|yaml|dir] [--dest docker|dir] [--tag-regex RE]… [--scoped] [--keep-going] [--dry-run] [--signature-policy FILE] ' +
    '[--creds USER:PASS] [--authfile FILE] [--tls-verify=false] [--cert-dir DIR] [--src-creds USER:PASS] [--dest-creds USER:PASS] [--src-tls-verify=false] [--dest-tls-verify=false] [--platform OS/ARCH] SRC DEST',
  summary:
    'Copy every image of SRC (a registry repository, all its tags or one; a skopeo sync YAML file; a directory of OCI layouts) to DEST (a registry prefix, or a directory ' +
    'holding one OCI layout per repository), skipping tags DEST already holds; prints one line per image.',
  example: 'cairn sync --tag-regex "^1\\." docker://registry.example.com/team/app docker://mirror.example.com/team',
  flags: {
    src: { kind: 'string', help: 'what SRC is: docker (default for docker://…), yaml (default for *.yaml), dir', arg: 'TYPE' },
    dest: { kind: 'string', help: 'what DEST is: docker (default for docker://…), dir (default otherwise)', arg: 'TYPE' },
    'tag-regex': { kind: 'list', help: 'only tags matching this regular expression (repeatable: any of them)', arg: 'RE' },
    scoped: { kind: 'bool', help: 'keep the source registry and repository path under DEST (DEST/host/ns/app)' },
    'keep-going': { kind: 'bool', help: 'go on after an image fails, and fail at the end' },
    'dry-run': { kind: 'bool', help: 'tell what would be copied, copying nothing' },
    all: { kind: 'bool', help: 'every platform of a multi-platform image (not supported yet: refused)' },
    'signature-policy': { kind: 'string', help: 'judge registry sources by this signature policy file', arg: 'FILE' },
    ...REGISTRY_FLAGS,
    ...SIDE_REGISTRY_FLAGS,
  },
  min: 2,
  max: 2,
};

/** One line for an image: what was done, source → destination, and the digest. */
function line(r: SyncResult): string {
  return `${r.action} ${r.src} -> ${r.dest}${r.digest ? ` ${r.digest}` : ''}${r.error ? `: ${r.error}` : ''}`;
}

/** Syncs, printing a line per image as it is done. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  for (const [flag, allowed] of [['src', ['docker', 'yaml', 'dir']], ['dest', ['docker', 'dir']]] as const) {
    const v = str(p, flag);
    if (v !== undefined && !(allowed as readonly string[]).includes(v)) throw new UsageError(`--${flag} ${v}: must be ${allowed.join(', ')}`);
  }
  const tagRegex = list(p, 'tag-regex');
  const { creds, authfile, tlsVerify, certDir, platform } = registryOptions(p);
  await sync(p.args[0], p.args[1], {
    srcType: str(p, 'src') as SyncCallOptions['srcType'],
    destType: str(p, 'dest') as SyncCallOptions['destType'],
    tagRegex: tagRegex.length ? tagRegex : undefined,
    scoped: bool(p, 'scoped'),
    keepGoing: bool(p, 'keep-going'),
    dryRun: bool(p, 'dry-run'),
    all: bool(p, 'all'),
    signaturePolicy: str(p, 'signature-policy'),
    creds,
    authfile,
    tlsVerify,
    certDir,
    platform,
    src: sideRegistryOptions(p, 'src'),
    dest: sideRegistryOptions(p, 'dest'),
    onImage: (r) => ctx.out(line(r)),
  });
}
