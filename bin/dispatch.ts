import { UsageError, asCairnError, didYouMean, isCairnError, reexecInNamespace } from '../dsl/index.js';
import { helpText, parseArgs } from './args.js';
import { attachLogger } from './log.js';
import { out, type VerbModule } from './verb.js';

/*
 * Running one verb: its argv parsed by its spec, the logger attached, its result status, and any failure as the
 * one line (plus hint or usage) the CLI prints. Loaded by cairn.ts only once a verb is to run, beside the verb's
 * own module, so that `--version`, `--help` and a mistyped verb load none of the engine.
 */

/** Runs a verb with its arguments; resolves to the exit status (125 for a failure of cairn, printed). */
export async function runVerb(verb: string, mod: VerbModule, argv: string[], root: string | undefined): Promise<number> {
  try {
    const p = parseArgs(mod.spec, argv);
    if (p.flags.help) {
      process.stdout.write(helpText(mod.spec));
      return 0;
    }
    const quiet = p.flags.quiet === true;
    attachLogger({ quiet });
    if (typeof p.flags.root === 'string') root = p.flags.root;
    const status = await mod.main(p, { root, quiet, json: p.flags.json === true, out, stdio: 'inherit', embedded: false });
    return typeof status === 'number' ? status : 0;
  } catch (err) {
    printFailure(verb, err, mod.spec.usage);
    return 125;
  }
}

/** Prints a verb's failure: `cairn VERB: message`, then its usage (a usage error) or hint; the stack with CAIRN_DEBUG=1. */
export function printFailure(verb: string, err: unknown, usage: string): void {
  const e = asCairnError(err);
  process.stderr.write(`cairn ${verb}: ${e.message}\n`);
  if (e instanceof UsageError || e.name === 'UsageError') process.stderr.write(`Usage: cairn ${usage}\n`);
  else if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
  if (process.env.CAIRN_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
}

/** A normal user's verbs run inside their cairn namespace: runs this command again there; resolves to its status. */
export async function reexec(argv: string[]): Promise<number> {
  attachLogger({ quiet: false });
  try {
    return await reexecInNamespace([process.argv[1], ...argv]);
  } catch (err) {
    process.stderr.write(`cairn: ${isCairnError(err) ? err.message : String(err)}\n`);
    return 125;
  }
}

/** Says that verb is not one of names, with the closest one when there is one; returns the status (125). */
export function unknownVerb(verb: string, names: string[]): number {
  const near = didYouMean(verb, names);
  process.stderr.write(`cairn: unknown verb ${verb}${near ? `: did you mean \`${near}\`?` : ''}\n  hint: run \`cairn help\` for the list of verbs\n`);
  return 125;
}
