// The interactive shell's screen (shell/ui) over a real Session (shell/session.ts) of a store, drawn into a test
// terminal (term.ts): what the screen tests drive.
import { helpText, parseArgs } from '../../bin/args.js';
import { VERB_MODULES } from '../../bin/verb-modules.js';
import type { Session } from '../../shell/session.js';
import { afterAll } from 'vitest';
import { cliKit, type CliKit } from './cli.js';
import { ctrl, type TermKit } from './term.js';
import { tinyRootfsTar } from './tiny.js';

/** A shell screen running over a session in a test terminal. */
export interface Shell {
  term: TermKit;
  session: Session;
  /** The exit status, once the user left. */
  done: Promise<number>;
  busy(): boolean;
  /** Leaves the shell (Ctrl-C a running step, Ctrl-D, `y` to the question) and closes the session. */
  leave(): Promise<number>;
}

/** Opens the interactive screen (shell/ui/run.tsx) over a session of the store at root, drawn into term. */
export async function openShell(root: string, term: TermKit): Promise<Shell> {
  // Ink draws only the last frame in CI (is-in-ci, read when ink is imported); chalk colours only what it
  // thinks is a terminal: the tests want frames, and colours unless NO_COLOR says otherwise.
  process.env.CI = 'false';
  process.env.FORCE_COLOR ??= '1';
  const [{ runInteractive, uiHandoff }, { Session }] = await Promise.all([import('../../shell/ui/run.js'), import('../../shell/session.js')]);
  const session = await Session.open({ verbs: { verbs: VERB_MODULES, parse: parseArgs, help: helpText }, root, handoff: uiHandoff, historyFile: null });
  const done = runInteractive(session, { stdin: term.stdin, stdout: term.stdout, stderr: term.stderr });
  let left = false;
  void done.then(() => (left = true));
  const busy = () => session.status().busy;
  return {
    term,
    session,
    done,
    busy,
    async leave() {
      try {
        if (!left && busy()) {
          term.type(ctrl('c'));
          await term.waitFor(() => !busy(), 10_000, 'the step to end');
        }
        if (!left) {
          term.type(ctrl('u') + ctrl('d'));
          await Promise.race([done, term.waitFor((r) => r.join(' ').replace(/\s+/g, ' ').includes('leave anyway? [y/N]'), 10_000, 'the question')]);
          if (!left) term.type('y');
        }
        return await done;
      } catch (err) {
        // A test that failed before leaving reports its own error: this one goes to the log.
        console.error(`leaving the shell: ${(err as Error).message}`);
        return -1;
      } finally {
        await session.close();
        term.dispose();
      }
    },
  };
}

/**
 * The fixtures of a screen test file: a fresh store per call of store() (so container names never depend on the
 * tests before), all removed after the file, and the tiny image's archive (tiny()).
 */
export function screenFixtures(): { store(): string; tiny(): string } {
  const kits: CliKit[] = [];
  let archive: string | undefined;
  afterAll(() => kits.forEach((k) => k.cleanup()));
  return {
    store() {
      const k = cliKit('cairn-ui-');
      kits.push(k);
      return k.root;
    },
    tiny: () => (archive ??= tinyRootfsTar()),
  };
}
