import { afterAll, beforeAll } from 'vitest';
import { restoreEnv } from './env.js';

/*
 * A set-up file of the tiers whose files share a worker process (isolate: false in vitest.config.ts, which
 * saves a process start and an import of the engine per file): what a file changes of the process (its
 * environment, working directory, umask, signal listeners) is put back when it ends, so the next file of
 * the worker starts as a file of its own would.
 */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

let env: Record<string, string | undefined> = {};
let cwd = '';
let umask = 0;
let listeners = new Map<string, Set<unknown>>();

beforeAll(() => {
  env = { ...process.env };
  cwd = process.cwd();
  umask = process.umask();
  listeners = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
});

afterAll(() => {
  restoreEnv(env);
  if (process.cwd() !== cwd) process.chdir(cwd);
  process.umask(umask);
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (!listeners.get(s)!.has(l)) process.off(s, l as () => void);
});
