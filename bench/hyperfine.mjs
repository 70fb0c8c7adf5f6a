// Repeated timings through hyperfine, read back from its JSON export.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { flush, shq } from './sh.mjs';

/** Warm-up and timed runs for every hyperfine measurement. */
export const HYPERFINE_RUNS = { warmup: 2, runs: 10 };

/**
 * Times a shell command with hyperfine (warm-up 2, 10 runs; prepare runs before each run) and returns
 * { mean, stddev, median, min, max } in seconds. Its progress goes to stderr; it throws if a run fails. The
 * disk is synced first (untimed), so a case's timings do not pay for the writes of the case before it.
 */
export function hyperfine(name, command, { prepare, env, tmpDir, runs = HYPERFINE_RUNS.runs, warmup = HYPERFINE_RUNS.warmup } = {}) {
  const json = path.join(tmpDir, `hyperfine-${name.replace(/\W+/g, '_')}.json`);
  const args = ['--style', 'basic', '--warmup', String(warmup), '--runs', String(runs), '--export-json', json, '--command-name', name];
  if (prepare) args.push('--prepare', prepare);
  args.push(command);
  flush();
  const r = spawnSync('hyperfine', args, { env: env ?? process.env, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    // Show why: one more prepare + run with its output captured.
    const again = spawnSync('sh', ['-c', `${prepare ?? 'true'}; ${command}`], { env: env ?? process.env, encoding: 'utf8' });
    const why = `${again.stderr ?? ''}`.trim().split('\n').slice(-10).join('\n');
    throw new Error(`hyperfine failed (exit ${r.status}): hyperfine ${args.map(shq).join(' ')}\nre-run once: exit ${again.status}${why ? `, stderr:\n${why}` : ''}`);
  }
  const res = JSON.parse(readFileSync(json, 'utf8')).results[0];
  return { mean: res.mean, stddev: res.stddev, median: res.median, min: res.min, max: res.max };
}
