#!/usr/bin/env node
import { closeSync } from 'node:fs';
import { ALIASES, VERBS } from './verb-table.js';

/*
 * The `cairn` command: global flags, --version, --help and the verb's name are handled here with nothing else
 * loaded; a verb's run loads its module and the dispatcher (dispatch.ts: argv, logger, errors) side by side.
 */

const VERSION = '0.1.0';

function usage(): string {
  return [
    'Usage: cairn [--root DIR] VERB [FLAGS] ARGS…',
    '',
    'Build OCI container images imperatively, with no daemon and no root.',
    '',
    'Verbs: ' + Object.keys(VERBS).filter((v) => !ALIASES.has(v)).join(', '),
    '',
    'Run `cairn help VERB` (or `cairn VERB --help`) for a verb\'s flags and an example.',
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
  // As buildah: the command alone, or `help`, prints the usage and succeeds; `help VERB` is `VERB --help`.
  if (!verb || (verb === 'help' && !argv[i + 1])) {
    process.stdout.write(usage());
    return 0;
  }
  if (verb === 'version') {
    process.stdout.write(`cairn version ${VERSION}\n`);
    return 0;
  }
  if (verb === 'help') return main([...argv.slice(0, i), argv[i + 1], '--help']);
  const load = VERBS[verb];
  // The shell's rule for a mistyped verb (loaded only on this path).
  if (!load) return (await import('./dispatch.js')).unknownVerb(verb, Object.keys(VERBS));
  const [{ runVerb }, mod] = await Promise.all([import('./dispatch.js'), load()]);
  return runVerb(verb, mod, argv.slice(i + 1), root);
}

/** The verb of argv (after the global flags), or undefined. */
function verbOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root' || argv[i] === '--storage-driver') i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return undefined;
}

/**
 * argv with the verb a script file implies: `cairn FILE.build.mjs ARG…` (a `#!/usr/bin/env cairn` script) is
 * `cairn build FILE.build.mjs ARG…`, and `cairn FILE.cairn` is `cairn shell FILE.cairn`.
 */
function withScriptVerb(argv: string[]): string[] {
  const verb = verbOf(argv);
  if (verb === undefined || VERBS[verb] || !/\.(m?js|cairn)$/.test(verb)) return argv;
  const i = argv.indexOf(verb);
  return [...argv.slice(0, i), verb.endsWith('.cairn') ? 'shell' : 'build', ...argv.slice(i)];
}

/** Non-root users run verbs inside their cairn namespace; the `cairn` wrapper joins it directly when it exists. */
async function entry(given: string[]): Promise<number> {
  const argv = withScriptVerb(given);
  const verb = verbOf(argv);
  // Help, the version, a mistyped verb, and verbs that touch no store (verify, key) need no namespace: a
  // service user verifying a file starts no pause process.
  const local = verb === undefined || verb === 'help' || verb === 'version' || verb === 'verify' || verb === 'key' || !VERBS[verb];
  if (!local && process.getuid?.() !== 0 && !process.env.CAIRN_USERNS) return (await import('./dispatch.js')).reexec(argv);
  return main(argv);
}

// The namespaces the `cairn` wrapper (or reexec) held open to join them: closed before anything runs, so that no
// process this verb starts (a container's above all) inherits a way back into them.
const held = process.env.CAIRN_NS_FDS;
if (held !== undefined) {
  delete process.env.CAIRN_NS_FDS;
  for (const fd of held.split(',')) {
    try {
      if (/^\d+$/.test(fd) && Number(fd) > 2) closeSync(Number(fd));
    } catch {
      // Not open: nothing to close.
    }
  }
}

// The malloc tuning the `cairn` wrapper gave node alone (huge pages for its heap): what this verb starts gets the
// user's own GLIBC_TUNABLES back (=VALUE, or empty when the user had none).
const tunables = process.env.CAIRN_GLIBC_TUNABLES;
if (tunables !== undefined) {
  delete process.env.CAIRN_GLIBC_TUNABLES;
  if (tunables.startsWith('=')) process.env.GLIBC_TUNABLES = tunables.slice(1);
  else delete process.env.GLIBC_TUNABLES;
}

// Until the verb settles the status is a failure: a verb whose work never finished must not look successful.
process.exitCode = 125;
entry(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // Only a module that failed to load gets here: the dispatcher prints cairn's own failures.
    process.stderr.write(`cairn: ${String(err)}\n`);
    process.exitCode = 125;
  },
);
