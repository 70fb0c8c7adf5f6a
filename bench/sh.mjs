// Running commands for the bench: synchronous, with captured output, wall-clock timing and sh quoting.
import { spawnSync } from 'node:child_process';

/** Quotes a word for sh (single quotes unless it is plainly safe). */
export function shq(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** Runs cmd with args and returns its trimmed stdout; throws with the command and its stderr tail when it fails. */
export function sh(cmd, args = [], { env, input, allowFail = false } = {}) {
  const r = spawnSync(cmd, args, { env: env ?? process.env, input, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.signal === 'SIGINT' || r.signal === 'SIGTERM') throw Object.assign(new Error(`interrupted (${r.signal})`), { interrupted: true });
  if (r.status !== 0 && !allowFail) {
    const tail = (r.stderr || r.stdout || '').trim().split('\n').slice(-15).join('\n');
    throw new Error(`command failed (exit ${r.status ?? r.signal}): ${[cmd, ...args].map(shq).join(' ')}\n${tail}`);
  }
  return allowFail ? { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() } : r.stdout.trim();
}

/** Runs cmd with args like sh() and returns { seconds, stdout }: the wall time of that one run. */
export function timed(cmd, args = [], opts = {}) {
  const t0 = performance.now();
  const stdout = sh(cmd, args, opts);
  return { seconds: (performance.now() - t0) / 1000, stdout };
}

/** True when a command is on PATH. */
export function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${shq(cmd)}`], { stdio: 'ignore' }).status === 0;
}

/** Flushes dirty pages (sync), so one measurement's writes do not slow the next one down. */
export function flush() {
  spawnSync('sync', [], { stdio: 'ignore' });
}
