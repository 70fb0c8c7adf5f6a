import os from 'node:os';
import { defineConfig } from 'vitest/config';

/**
 * The test tiers (docs/testing.md): unit (pure, in-process, seconds), integration (the CLI, namespaces,
 * mounts), interop (peers check our output), stress (crash harness, load), system (changes the host: users,
 * /etc/subuid; CI only, or CAIRN_SYSTEM_TESTS=1). `npm test` runs unit + integration.
 */
const tier = (name: string, extra: object = {}) => ({ extends: true, test: { name, include: [`test/${name}/**/*.test.ts`], ...extra } });

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // Transformed modules are kept on disk (node_modules/.experimental-vitest-cache, keyed by content and config)
    // for the next run: on a second run the unit tier reports 5 s of transform and import, not 12 s.
    experimental: { fsModuleCache: true },
    hookTimeout: 120_000,
    pool: 'forks',
    // Most of a test's time is spent waiting on the processes it starts: one file per core (vitest's default
    // keeps one core free, which on two cores runs the files one at a time).
    maxWorkers: os.availableParallelism(),
    globalSetup: ['test/kit/setup.ts'],
    // The unit tier shares each worker's process and module cache between its files (isolate: false): importing
    // the engine again for every file was a third of the tier's time. test/kit/isolate.ts puts back what a file
    // changed of the process (environment, working directory, umask, signal listeners). The other tiers keep a
    // fresh process per file (test/integration/shell's files keep state in modules). The stress tier also runs
    // the unit tier's fuzz targets ten times as long (test/stress/fuzz.test.ts).
    projects: [
      tier('unit', { isolate: false, setupFiles: ['test/kit/isolate.ts'] }),
      tier('integration'),
      tier('interop'),
      tier('stress', { env: { FUZZ_SCALE: '10' } }),
      tier('system'),
    ],
  },
});
