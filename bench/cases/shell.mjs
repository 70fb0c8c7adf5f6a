// `cairn shell` in a real terminal (a private tmux server): time to the prompt, keystroke echo while a step
// streams 10,000 lines; and that the CLI verbs' start-up does not pay for the shell (they never load its screen).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { log } from '../log.mjs';
import { hyperfine } from '../hyperfine.mjs';
import { median } from '../stats.mjs';
import { have, sh, shq } from '../sh.mjs';
import { BASE } from './base.mjs';

/** Warm-up and measured starts of `cairn shell` for the prompt's time. */
const PROMPT_RUNS = { warmup: 2, runs: 7 };
/** Keys typed (one at a time, each timed to its echo) while the step streams. */
const KEYS = 'abcdefghijklmnopqrst';
/** The streaming step: 10,000 lines, paced so it outlasts the typing (a pause of 10 ms every 100 lines). */
const STREAM = 'i=0; while [ $i -lt 10000 ]; do echo l$i; i=$((i+1)); [ $((i%100)) = 0 ] && sleep 0.01; done';
/** The container the keystroke measurement uses. */
const CTR = 'bench-shell';
/** The status line's first column when the shell is idle (a spinner frame while a step runs). */
const IDLE = '● ';
const SPINNER = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /;
/** Files whose opening means a verb loaded the shell's screen (Ink and React are bundled into shell-ui.js). */
const UI_FILES = /shell-ui\.js|node_modules\/(ink|react|react-reconciler|yoga-layout)\//;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A private tmux server (its socket in dir) holding one 100×30 session that runs command, driven through one
 * control-mode client: a command is a write on its stdin and a reply on its stdout, no process per poll (a
 * spawn costs 10–60 ms on a busy 2-core machine, more than what is measured).
 */
class Tmux {
  constructor(dir, name, env, command) {
    mkdirSync(dir, { recursive: true });
    this.name = name;
    this.env = { ...env, TMUX_TMPDIR: dir, CI: 'false' };
    delete this.env.TMUX;
    delete this.env.TMUX_PANE;
    this.tmux(['new-session', '-d', '-s', 'b', '-x', '100', '-y', '30', command]);
    this.client = spawn('tmux', ['-L', name, '-C', 'attach', '-t', 'b'], { env: this.env, stdio: ['pipe', 'pipe', 'ignore'] });
    this.waiting = [];
    this.block = undefined;
    let buf = '';
    this.client.stdout.setEncoding('utf8');
    this.client.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.line(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    this.closed = new Promise((r) => this.client.on('close', r));
    // A command sent before the client is attached fails ("no current client"): commands wait for it.
    this.attached = new Promise((r) => (this.onAttach = r));
    // Output notifications are not needed (the screen is read with capture-pane): the client reads less.
    this.ready = this.cmd('refresh-client -f no-output');
  }

  /** Runs a tmux command as a separate client (setup and teardown only). */
  tmux(args) {
    return sh('tmux', ['-L', this.name, ...args], { env: this.env });
  }

  /** One line of the control client: replies are framed by %begin / %end (or %error) with the command's number. */
  line(l) {
    if (this.block) {
      if (l.startsWith(`%end ${this.block.id}`) || l.startsWith(`%error ${this.block.id}`)) {
        const { lines } = this.block;
        const failed = l.startsWith('%error');
        this.block = undefined;
        const w = this.waiting.shift();
        if (failed) w?.reject(new Error(`tmux: ${lines.join(' ')}`));
        else w?.resolve(lines);
      } else this.block.lines.push(l);
      return;
    }
    if (l.startsWith('%session-changed')) this.onAttach();
    // A reply to a command of this client has flags 1 (the attach's own reply has 0); notifications are ignored.
    const m = /^%begin (\d+ \d+) (\d+)$/.exec(l);
    if (m && m[2] === '1') this.block = { id: m[1], lines: [] };
  }

  /** Sends a command (tmux's own syntax) and resolves with its reply's lines. */
  async cmd(text) {
    await this.attached;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.client.stdin.write(text + '\n');
    });
  }

  /** The pane's rows as text. */
  screen() {
    return this.cmd('capture-pane -p -t b');
  }

  /** Polls the screen every `every` ms until pred(rows) holds; resolves with the rows, or throws after timeout ms. */
  async until(pred, { every = 5, timeout = 30_000, what = 'the screen' } = {}) {
    const end = performance.now() + timeout;
    for (;;) {
      const rows = await this.screen();
      if (pred(rows)) return rows;
      if (performance.now() > end) throw new Error(`timed out waiting for ${what}; the screen:\n${rows.join('\n').trimEnd()}`);
      await sleep(every);
    }
  }

  /** Ends the server (and the shell in it) and the control client. */
  async kill() {
    spawnSync('tmux', ['-L', this.name, 'kill-server'], { env: this.env, stdio: 'ignore' });
    this.client.stdin.end();
    await Promise.race([this.closed, sleep(2000)]);
    this.client.kill();
  }
}

/** The status line and the prompt row above it: the last non-blank row and the one before. */
function bottom(rows) {
  let i = rows.length - 1;
  while (i >= 0 && !rows[i].trim()) i--;
  return { status: rows[i] ?? '', prompt: (rows[i - 1] ?? '').trimEnd() };
}

/** The time from `cairn shell` starting to its status line on the screen, once. */
async function promptOnce(cairn, dir, n) {
  // sh waits for a line, then becomes cairn: the clock starts with the key that lets it go, tmux already up.
  let t;
  try {
    t = new Tmux(dir, `bench-shell-p${n}`, { ...cairn.env, XDG_DATA_HOME: dir }, `sh -c ${shq(`read _; exec ${cairn.shell(['shell'])}`)}`);
    await t.ready;
    const t0 = performance.now();
    await t.cmd('send-keys -t b Enter');
    await t.until((rows) => rows.some((r) => r.startsWith(IDLE)), { what: 'the status line' });
    return (performance.now() - t0) / 1000;
  } finally {
    await t?.kill();
  }
}

/** Median time to the prompt over PROMPT_RUNS, and every run. */
async function promptTime(cairn, tmp) {
  const dir = path.join(tmp, 'shell-prompt');
  const runs = [];
  for (let i = 0; i < PROMPT_RUNS.warmup + PROMPT_RUNS.runs; i++) {
    const s = await promptOnce(cairn, dir, i);
    if (i >= PROMPT_RUNS.warmup) runs.push(s);
  }
  rmSync(dir, { recursive: true, force: true });
  return { median: median(runs), runs };
}

/**
 * Keystroke echo: `cairn shell CTR`, a line that streams 10,000 lines, then KEYS typed one at a time while it
 * runs, each timed from send-keys to the prompt row showing it (polled every 2 ms). Returns the times in
 * seconds and whether the step was still streaming after the last key.
 */
async function echoTimes(cairn, tmp) {
  const dir = path.join(tmp, 'shell-echo');
  cairn.run(['from', '--name', CTR, BASE]);
  const times = [];
  let streaming = false;
  let lines = 0;
  let t;
  try {
    t = new Tmux(dir, 'bench-shell-echo', { ...cairn.env, XDG_DATA_HOME: dir }, cairn.shell(['shell', CTR]));
    await t.ready;
    await t.until((rows) => bottom(rows).status.startsWith(`${IDLE}${CTR}`), { what: `the status line of ${CTR}` });
    await t.cmd(`send-keys -t b -l ${shq(STREAM)}`);
    await t.cmd('send-keys -t b Enter');
    // Typing starts once the step's output streams.
    await t.until((rows) => rows.some((r) => /^l\d+$/.test(r.trim())), { every: 2, what: 'the step\'s output' });
    let typed = '';
    for (const k of KEYS) {
      typed += k;
      const t0 = performance.now();
      await t.cmd(`send-keys -t b -l ${k}`);
      await t.until((rows) => bottom(rows).prompt === `❯ ${typed}`, { every: 2, timeout: 10_000, what: `the prompt to show ${typed}` });
      times.push((performance.now() - t0) / 1000);
      // The next key comes at another phase of the screen's frames.
      await sleep(7 + (times.length % 4) * 5);
    }
    const rows = await t.screen();
    streaming = SPINNER.test(bottom(rows).status);
    lines = Math.max(0, ...rows.map((r) => Number(/^l(\d+)$/.exec(r.trim())?.[1] ?? -1) + 1));
    // Clear the line, stop the step, wait for the prompt to be idle.
    await t.cmd('send-keys -t b C-u C-c');
    await t.until((r) => bottom(r).status.startsWith(IDLE), { what: 'the step to stop' });
  } finally {
    await t?.kill();
    for (const verb of ['umount', 'rm']) {
      const r = sh(cairn.bin, cairn.argv([verb, CTR]).slice(1), { env: cairn.env, allowFail: true });
      if (r.status !== 0 && verb === 'rm') log(`shell: cairn rm ${CTR} failed: ${r.stderr}`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return { times, streaming, lines };
}

/** The nearest-rank percentile p (0–100) of xs. */
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
}

/** The files argv opens (strace -f), that match re. */
function opened(argv, env, tmp, re) {
  const out = path.join(tmp, 'strace-shell.txt');
  sh('strace', ['-f', '-qq', '-e', 'trace=openat,open', '-o', out, ...argv], { env });
  const files = readFileSync(out, 'utf8').split('\n').filter((l) => re.test(l)).map((l) => /"([^"]+)"/.exec(l)?.[1] ?? l);
  rmSync(out, { force: true });
  return [...new Set(files)];
}

/**
 * `cairn shell` in tmux: the prompt's time (median of 7 after 2 warm-ups; goal ≤ 400 ms) with `node -e 0` as
 * the floor, keystroke echo while a step streams 10,000 lines (p95 of 20 keys; goal ≤ 50 ms), and the CLI
 * verbs: `cairn --version` and `cairn images` against `node -e 0`, and strace of `from` and `images` opening
 * nothing of the shell's screen (Ink, React: goal none).
 */
export async function shellCase({ cairn, tmp }) {
  for (const tool of ['tmux', 'strace']) {
    if (have(tool)) continue;
    log(`shell: installing ${tool} (apt-get install -y ${tool})…`);
    sh('apt-get', ['install', '-y', tool]);
  }
  log('shell: time to the prompt of cairn shell (tmux)…');
  const p = await promptTime(cairn, tmp);
  log('shell: keystroke echo while a step streams 10,000 lines…');
  const e = await echoTimes(cairn, tmp);
  log('shell: node -e 0, cairn --version, cairn images (hyperfine)…');
  const node = hyperfine('shell-node-e-0', `${shq(process.execPath)} -e 0`, { tmpDir: tmp });
  const version = hyperfine('cairn-version', `${cairn.shell(['--version'])} >/dev/null`, { env: cairn.env, tmpDir: tmp });
  const images = hyperfine('cairn-images', `${cairn.shell(['images'])} >/dev/null`, { env: cairn.env, tmpDir: tmp });
  log('shell: strace of cairn from and cairn images…');
  const c = cairn.run(['from', BASE]);
  cairn.run(['rm', c]);
  const ui = [
    ...opened(cairn.argv(['from', '--name', 'bench-shell-strace', BASE]), cairn.env, tmp, UI_FILES),
    ...opened(cairn.argv(['images']), cairn.env, tmp, UI_FILES),
  ];
  cairn.run(['rm', 'bench-shell-strace']);
  const p95 = percentile(e.times, 95);
  const ms = (s) => (s * 1000).toFixed(0);
  return {
    title: 'cairn shell in a terminal (tmux 100×30); CLI start-up against node -e 0 (hyperfine: warm-up 2, 10 runs, mean ± σ)',
    columns: ['cairn', 'node -e 0', 'cairn/node'],
    rows: [
      { what: `prompt of cairn shell (median of ${PROMPT_RUNS.runs})  vs  node -e 0`, cairn: p.median, buildah: node.mean, sd: { buildah: node.stddev }, runs: { 'cairn shell': p.runs } },
      { what: 'cairn --version  vs  node -e 0', cairn: version.mean, buildah: node.mean, sd: { cairn: version.stddev, buildah: node.stddev } },
      { what: 'cairn images  vs  node -e 0', cairn: images.mean, buildah: node.mean, sd: { cairn: images.stddev, buildah: node.stddev } },
      { what: `keystroke echo while a step streams 10,000 lines: p95 of ${e.times.length} keys`, other: p95 },
      { what: 'keystroke echo: median', other: median(e.times) },
      { what: 'keystroke echo: max', other: Math.max(...e.times) },
    ],
    notes: [
      `keys (ms, in order): ${e.times.map(ms).join(' ')}`,
      `the step was ${e.streaming ? `still streaming after the last key (at line ${e.lines.toLocaleString('en')} of 10,000)` : 'NOT streaming any more after the last key: the echo was not measured under load throughout'}`,
      `times include tmux: a key is sent and the screen read through a tmux control client; the screen is polled every 5 ms (prompt) or 2 ms (keys)`,
      `files of the shell's screen opened by cairn from / cairn images: ${ui.length ? ui.join(', ') : 'none'}`,
    ],
    goals: [
      { goal: 'shell: prompt within 400 ms of cairn shell', measured: p.median, kind: 'time', target: 0.4, pass: p.median <= 0.4 },
      { goal: 'shell: keystroke echo p95 ≤ 50 ms while a step streams 10,000 lines', measured: p95, kind: 'time', target: 0.05, pass: p95 <= 0.05 && e.streaming },
      { goal: 'CLI verbs load nothing of the shell (strace: from, images)', measured: ui.length, kind: 'files', target: 1, pass: ui.length === 0 },
    ],
  };
}
