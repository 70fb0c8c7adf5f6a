#!/usr/bin/env node
import { UsageError, asCairnError, isCairnError } from '../dsl/core/errors.js';
import { helpText, parseArgs } from './args.js';
import { attachLogger } from './log.js';
import type { VerbModule } from './verb.js';

const VERBS: Record<string, () => Promise<VerbModule>> = {
  from: () => import('./verbs/from.js'),
  mount: () => import('./verbs/mount.js'),
  umount: () => import('./verbs/umount.js'),
  unmount: () => import('./verbs/umount.js'),
  run: () => import('./verbs/run.js'),
  copy: () => import('./verbs/copy.js'),
  add: () => import('./verbs/copy.js'),
  config: () => import('./verbs/config.js'),
  checkpoint: () => import('./verbs/checkpoint.js'),
  rollback: () => import('./verbs/rollback.js'),
  diff: () => import('./verbs/diff.js'),
  commit: () => import('./verbs/commit.js'),
  push: () => import('./verbs/push.js'),
  export: () => import('./verbs/export.js'),
  pull: () => import('./verbs/pull.js'),
  images: () => import('./verbs/images.js'),
  containers: () => import('./verbs/containers.js'),
  inspect: () => import('./verbs/inspect.js'),
  tag: () => import('./verbs/tag.js'),
  rm: () => import('./verbs/rm.js'),
  rmi: () => import('./verbs/rmi.js'),
  unshare: () => import('./verbs/unshare.js'),
  build: () => import('./verbs/build.js'),
  'copy-image': () => import('./verbs/copy-image.js'),
  gc: () => import('./verbs/gc.js'),
  check: () => import('./verbs/check.js'),
  'install-alias': () => import('./verbs/install-alias.js'),
  exec: () => import('./verbs/exec.js'),
  key: () => import('./verbs/key.js'),
  verify: () => import('./verbs/verify.js'),
};

const VERSION = '0.1.0';

function usage(): string {
  return [
    'Usage: cairn [--root DIR] VERB [FLAGS] ARGS…',
    '',
    'Build OCI container images imperatively, with no daemon and no root.',
    '',
    'Verbs: ' + Object.keys(VERBS).filter((v) => v !== 'unmount' && v !== 'add').join(', '),
    '',
    'Run `cairn VERB --help` for a verb\'s flags and an example.',
    'Example: c=$(cairn from scratch) && cairn copy $c ./app /app && cairn commit $c myapp',
  ].join('\n') + '\n';
}

async function main(argv: string[]): Promise<number> {
  let root: string | undefined;
  let i = 0;
  while (i < argv.length && argv[i].startsWith('-')) {
    const a = argv[i];
    if (a === '--version' || a === '-v') {
      process.stdout.write(`cairn version ${VERSION}\n`);
      return 0;
    }
    if (a === '--help' || a === '-h') {
      process.stdout.write(usage());
      return 0;
    }
    if (a === '--root') root = argv[++i];
    else if (a.startsWith('--root=')) root = a.slice(7);
    else if (a === '--storage-driver' || a.startsWith('--storage-driver=')) {
      process.env.STORAGE_DRIVER = a.includes('=') ? a.split('=')[1] : argv[++i];
    } else {
      process.stderr.write(`cairn: unknown global flag ${a}\n${usage()}`);
      return 125;
    }
    i++;
  }
  const verb = argv[i];
  if (!verb) {
    process.stderr.write(usage());
    return 125;
  }
  const load = VERBS[verb];
  if (!load) {
    process.stderr.write(`cairn: unknown verb ${verb}\nRun \`cairn --help\` for the list of verbs.\n`);
    return 125;
  }
  const mod = await load();
  try {
    const p = parseArgs(mod.spec, argv.slice(i + 1));
    if (p.flags.help) {
      process.stdout.write(helpText(mod.spec));
      return 0;
    }
    const quiet = p.flags.quiet === true;
    attachLogger({ quiet });
    if (typeof p.flags.root === 'string') root = p.flags.root;
    const status = await mod.main(p, { root, quiet, json: p.flags.json === true });
    return typeof status === 'number' ? status : 0;
  } catch (err) {
    const e = asCairnError(err);
    process.stderr.write(`cairn ${verb}: ${e.message}\n`);
    if (e instanceof UsageError || e.name === 'UsageError') process.stderr.write(`Usage: cairn ${mod.spec.usage}\n`);
    else if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    if (process.env.CAIRN_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 125;
  }
}

/** Non-root users run verbs inside their cairn namespace; the `cairn` wrapper joins it directly when it exists. */
async function entry(argv: string[]): Promise<number> {
  if (process.getuid?.() !== 0 && !process.env.CAIRN_USERNS) {
    const { reexecInNamespace } = await import('../dsl/sandbox/pause.js');
    attachLogger({ quiet: false });
    return reexecInNamespace([process.argv[1], ...argv]);
  }
  return main(argv);
}

// Until the verb settles the status is a failure: a verb whose work never finished must not look successful.
process.exitCode = 125;
entry(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`cairn: ${isCairnError(err) ? err.message : String(err)}\n`);
    process.exitCode = 125;
  },
);
