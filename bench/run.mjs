// `npm run bench`: cairn side by side with buildah on the same workloads; prints ratios and a goals summary.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildahTool } from './buildah.mjs';
import { cairnTool, snapshotCairn } from './cairn.mjs';
import { debianTar } from './debian.mjs';
import { log } from './log.mjs';
import { unmountUnder } from './mounts.mjs';
import { printSection, printSummary } from './report.mjs';
import { have, sh } from './sh.mjs';
import { benchTree, TREE_SPEC } from './tree.mjs';
import { importBase } from './cases/base.mjs';
import { copyCase } from './cases/copy.mjs';
import { commitCase, scaleCase } from './cases/commit.mjs';
import { fromCase } from './cases/from.mjs';
import { runCase } from './cases/run.mjs';
import { memoryCase } from './cases/memory.mjs';
import { rootlessCase } from './cases/rootless.mjs';
import { flatCase } from './cases/flat.mjs';
import { shellCase } from './cases/shell.mjs';
import { registryCase } from './cases/registry.mjs';
import { dockerfileCase } from './cases/dockerfile.mjs';
import { deltaCase } from './cases/delta.mjs';
import { gzipCase } from './cases/gzip.mjs';

// Node.js reads all of NODE_EXTRA_CA_CERTS at start-up (tens of ms). The `cairn` wrapper drops it for every verb
// that speaks no TLS; the node -e 0 floor printed beside cairn's times must start the same way.
delete process.env.NODE_EXTRA_CA_CERTS;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(repo, '.cache');

/** The cases in order, with the goals each one decides (listed as ERROR in the summary if it crashes). */
const CASES = [
  { name: 'floors', fn: scaleCase, goals: [] },
  { name: 'copy', fn: copyCase, goals: ['copy: cairn ≤ 1.0× cp -a'] },
  { name: 'commit', fn: commitCase, goals: ['checkpoint + commit: cairn ≤ 1.3× tar | sha256sum'] },
  { name: 'from', fn: fromCase, goals: ['from (Debian minbase, 170 MB): cairn ≤ 120 ms', 'from (Debian + tree, 370 MB): cairn ≤ 120 ms'] },
  { name: 'flat', fn: flatCase, goals: ['export: ≤ 1.2× tar | gzip', 'verify: ≥ 300 MB/s', 'cached exec: < 120 ms'] },
  {
    name: 'registry',
    fn: registryCase,
    goals: ['registry push (200 MB, 2 layers): cairn ≤ 1.0× skopeo', 'registry pull (200 MB, 2 layers): cairn ≤ 1.0× skopeo'],
  },
  {
    name: 'gzip',
    fn: gzipCase,
    goals: ['push 378 MB to oci: with gzip: cairn ≤ 1.0× buildah push', 'chunked gzip size overhead ≤ 6% vs gzip at its level', 'index ≤ 0.2% of the file'],
  },
  { name: 'run', fn: runCase, goals: ['run CTR true: cairn ≤ 0.4× buildah'] },
  { name: 'dockerfile', fn: dockerfileCase, goals: ['dockerfile cold build: cairn ≤ 0.7× buildah', 'dockerfile cached rebuild: cairn ≤ 0.2× buildah'] },
  {
    name: 'shell',
    fn: shellCase,
    goals: ['shell: prompt within 400 ms of cairn shell', 'shell: keystroke echo p95 ≤ 50 ms while a step streams 10,000 lines', 'CLI verbs load nothing of the shell (strace: from, images)'],
  },
  {
    name: 'delta',
    fn: deltaCase,
    goals: ['delta: bytes downloaded (index included) ≤ zsync', 'delta: bytes besides the index ≤ 1.5× raw changed files', 'delta: index ≤ 0.2% of the file', 'delta: HTTP requests ≤ 2 + missing runs / 16', 'delta: reconstruction ≥ 200 MB/s'],
  },
  { name: 'memory', fn: memoryCase, goals: ['memory during a 1 GB commit: cairn < 200 MiB', 'memory reading a 1 GB layer: cairn < 200 MiB'] },
  {
    name: 'rootless',
    fn: rootlessCase,
    goals: ['rootless from: within 1.2× of root', 'rootless run CTR true: within 1.2× of root', 'rootless copy (200 MB tree): within 1.2× of root', 'rootless checkpoint: within 1.2× of root'],
  },
];

/** The cases named on the command line (`node bench/run.mjs shell from`: only those, in the bench's order), else all. */
function selectCases(names) {
  const unknown = names.filter((n) => !CASES.some((c) => c.name === n));
  if (unknown.length) throw new Error(`no bench case ${unknown.join(', ')} (cases: ${CASES.map((c) => c.name).join(', ')})`);
  return names.length ? CASES.filter((c) => names.includes(c.name)) : CASES;
}

/** Installs a Debian package for a missing tool (hyperfine), or throws. */
function need(cmd, pkg = cmd) {
  if (have(cmd)) return;
  log(`installing ${pkg} (apt-get install -y ${pkg})…`);
  sh('apt-get', ['install', '-y', pkg]);
}

/** The first line of a command's output, or "?" when it fails. */
function version(cmd, args) {
  try {
    return sh(cmd, args).split('\n')[0];
  } catch {
    return '?';
  }
}

/** The 1-minute load average against the core count, with a warning when the machine is busy. */
function loadLine() {
  const l = os.loadavg()[0];
  const n = os.cpus().length;
  return `1-min load average ${l.toFixed(2)} on ${n} cores${l > n * 0.75 ? ' (BUSY: other processes are competing; expect noisy times, compare the ratios)' : ''}`;
}

/** Prints the report's header: machine, tools, workload, storage drivers. */
function printHeader({ buildah, base, debian, tree }) {
  const lines = [
    'cairn vs buildah: benchmark report',
    '',
    `machine   ${os.cpus().length} cores, Linux ${os.release()}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, node ${process.version}`,
    `tools     ${version('buildah', ['--version'])}; ${version('hyperfine', ['--version'])}`,
    `cairn     ${path.relative(repo, path.join(repo, 'dist'))}/ as compiled when the bench started (copied, so concurrent rebuilds do not interfere)`,
    `storage   buildah: ${buildah.driver}${buildah.fallback ? ' (FALLBACK: overlay did not work here, so buildah uses vfs)' : ''} in its own graphroot; cairn: ${base.cairnDriver} driver, own --root`,
    `base      ${path.relative(repo, debian)}: mmdebstrap --variant=minbase bookworm, ${(statSync(debian).size / 1e6).toFixed(1)} MB tar`,
    `tree      ${path.relative(repo, tree)}: ${TREE_SPEC.files.toLocaleString('en')} files in ${TREE_SPEC.dirs} dirs, ${(TREE_SPEC.bytes / 1e6).toFixed(0)} MB (sizes 250 B–120 KB; half text-like, half random)`,
    `load      ${loadLine()}`,
    `ratios    cairn time / buildah time: below 1 means cairn is faster`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Runs every case, prints the report, cleans the temp dir; returns the exit code (1 when a case crashed). */
async function main() {
  const started = performance.now();
  const cases = selectCases(process.argv.slice(2));
  need('hyperfine');
  need('buildah');
  const debian = debianTar(cacheDir);
  const tree = benchTree(cacheDir);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-'));
  log(`temp dir ${tmp}`);
  let cairn;
  let buildah;
  let crashed = false;
  const goals = [];
  try {
    buildah = buildahTool(path.join(tmp, 'buildah'));
    cairn = cairnTool(snapshotCairn(repo, path.join(tmp, 'app')), path.join(tmp, 'cairn'));
    const ctx = { cairn, buildah, tree, debianTar: debian, tmp, repo };
    const base = importBase(ctx);
    printHeader({ buildah, base, debian, tree });
    printSection(base);
    for (const c of cases) {
      try {
        const res = await c.fn(ctx);
        printSection(res);
        goals.push(...(res.goals ?? []));
      } catch (err) {
        if (err.interrupted) throw err;
        crashed = true;
        log(`case ${c.name} crashed: ${err.stack ?? err}`);
        process.stdout.write(`\n■ ${c.name}: ERROR\n  ${String(err.message).split('\n').join('\n  ')}\n`);
        goals.push(...c.goals.map((goal) => ({ goal, error: true })));
      }
    }
    printSummary(goals);
    process.stdout.write(`\n  total bench time ${((performance.now() - started) / 1000).toFixed(0)} s; at the end: ${loadLine()}\n`);
  } finally {
    log('cleaning up…');
    for (const t of [cairn, buildah]) {
      try {
        t?.teardown();
      } catch (err) {
        log(`teardown of ${t.name} failed: ${err.message}`);
      }
    }
    unmountUnder(tmp);
    rmSync(tmp, { recursive: true, force: true });
  }
  return crashed ? 1 : 0;
}

process.on('SIGINT', () => log('interrupted, cleaning up…'));
main().then(
  (code) => process.exit(code),
  (err) => {
    log(`bench crashed: ${err.stack ?? err}`);
    process.exit(err.interrupted ? 130 : 1);
  },
);
