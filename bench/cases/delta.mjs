// Incremental image updates: `cairn fetch URL` of a new version with URL.cidx beside it, against zsync.
import { copyFileSync, cpSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { log } from '../log.mjs';
import { startNginx } from '../nginx.mjs';
import { sh } from '../sh.mjs';
import { randomBytes, writeTree } from '../tree.mjs';

/** The pair's tree: 100 MB in 5,000 files; 1% of them (every 100th) changed in the new version. */
const SPEC = { files: 5_000, dirs: 50, bytes: 100_000_000, seed: 11, version: 1 };

/** Changes every 100th file of dir (text: a few lines rewritten in the middle and one appended; binary: new bytes); their new total size. */
function changeOnePercent(dir) {
  let raw = 0;
  const w = String(SPEC.dirs - 1).length;
  for (let i = 0; i < SPEC.files; i += 100) {
    const file = path.join(dir, `d${String(i % SPEC.dirs).padStart(w, '0')}`, `f${String(i).padStart(5, '0')}.${i % 2 === 0 ? 'txt' : 'bin'}`);
    const old = readFileSync(file);
    let body;
    if (i % 2 === 0) {
      const mid = old.length >> 1;
      body = Buffer.concat([old.subarray(0, mid), Buffer.from(`changed line ${i}\nanother new line\n`), old.subarray(Math.min(old.length, mid + 40)), Buffer.from(`appended ${i}\n`)]);
    } else body = randomBytes(`changed${i}`, old.length);
    writeFileSync(file, body);
    raw += body.length;
  }
  return raw;
}

/**
 * Builds v1 and v2 images of the tree (from scratch + copy + commit), exports both (FILE.tar.gz + .cidx),
 * serves them with nginx, fetches v1 into an exec cache, then measures: the rebuild of v2 alone (throughput),
 * `cairn fetch` of v2 (bytes and requests from nginx's access log), and zsync for the same pair (zsyncmake on
 * v2, v1 as seed, with and without -Z, the better one).
 */
export async function deltaCase({ cairn, tmp }) {
  const dir = path.join(tmp, 'delta');
  const srv = path.join(dir, 'srv');
  mkdirSync(srv, { recursive: true });
  const env = { ...cairn.env, XDG_CONFIG_HOME: path.join(dir, 'config') };
  const build = path.join(dir, 'build-root');
  const fetchRoot = path.join(dir, 'fetch-root');
  const c = (root, args) => sh(cairn.bin, ['--root', root, ...args], { env });
  const t1 = path.join(dir, 't1');
  const t2 = path.join(dir, 't2');
  log('delta: writing the 100 MB tree and its 1%-changed copy');
  writeTree(t1, SPEC);
  cpSync(t1, t2, { recursive: true, preserveTimestamps: true });
  const raw = changeOnePercent(t2);
  const image = (tree, tag, out) => {
    const ctr = c(build, ['from', 'scratch']);
    c(build, ['copy', ctr, tree, '/data']);
    c(build, ['commit', ctr, tag]);
    c(build, ['rm', ctr]);
    c(build, ['export', tag, out]);
  };
  log('delta: exporting v1 and v2');
  const v1 = path.join(dir, 'v1.tar.gz');
  const v2 = path.join(dir, 'v2.tar.gz');
  image(t1, 'delta:1', v1);
  image(t2, 'delta:2', v2);
  rmSync(t1, { recursive: true, force: true });
  rmSync(t2, { recursive: true, force: true });
  const publish = (f) => {
    copyFileSync(f + '.cidx', path.join(srv, 'next'));
    renameSync(path.join(srv, 'next'), path.join(srv, 'img.tar.gz.cidx'));
    copyFileSync(f, path.join(srv, 'next'));
    renameSync(path.join(srv, 'next'), path.join(srv, 'img.tar.gz'));
  };
  const nginx = await startNginx(srv, path.join(dir, 'nginx'));
  try {
    const url = `${nginx.url}/img.tar.gz`;
    publish(v1);
    log('delta: cairn fetch of v1 (whole)');
    c(fetchRoot, ['fetch', url]);
    publish(v2);
    const size = statSync(v2).size;
    const indexSize = statSync(v2 + '.cidx').size;

    log('delta: rebuild of v2 alone (throughput)');
    const dist = path.join(path.dirname(path.dirname(cairn.bin)), 'dist', 'dsl', 'delta');
    const script = `
      const { fetchIndex, fetchUpdate } = await import(${JSON.stringify(pathToFileURL(path.join(dist, 'update.js')).href)});
      const { seedsUnder } = await import(${JSON.stringify(pathToFileURL(path.join(dist, 'seeds.js')).href)});
      const { events } = await import(${JSON.stringify(pathToFileURL(path.join(dist, '..', 'core', 'events.js')).href)});
      const warnings = [];
      events.on('event', (e) => e.type === 'warn' && warnings.push(e.text));
      const a = await fetchIndex(process.argv[1] + '.cidx');
      const seeds = await seedsUnder(process.argv[2]);
      const t0 = performance.now();
      const r = await fetchUpdate(process.argv[1], process.argv[3], a.index, seeds, { wholeHash: false });
      process.stdout.write(JSON.stringify({ seconds: (performance.now() - t0) / 1000, kind: r.kind, warnings }));`;
    const out = path.join(dir, 'rebuilt');
    const rb = JSON.parse(sh('node', ['--input-type=module', '-e', script, url, path.join(fetchRoot, 'exec'), out]));
    if (rb.kind !== 'rebuilt' || !readFileSync(out).equals(readFileSync(v2))) throw new Error(`the rebuild of v2 is not byte-identical (${rb.kind}: ${rb.warnings.join('; ')})`);
    rmSync(out);
    const speed = size / 1e6 / rb.seconds;

    log('delta: cairn fetch of v2');
    nginx.reset();
    const figures = JSON.parse(c(fetchRoot, ['fetch', '--json', url]));
    if (figures.kind !== 'rebuilt') throw new Error(`cairn fetch of v2 did not rebuild (${figures.kind})`);
    const hits = nginx.hits();
    const fileBytes = hits.filter((h) => h.uri === '/img.tar.gz').reduce((a, h) => a + h.bytes, 0);
    const idxBytes = hits.filter((h) => h.uri === '/img.tar.gz.cidx').reduce((a, h) => a + h.bytes, 0);
    const cairnTotal = fileBytes + idxBytes;

    log('delta: zsync of the same pair (with and without -Z)');
    const zs = [];
    for (const z of [false, true]) {
      const name = z ? 'img-Z.zsync' : 'img.zsync';
      sh('zsyncmake', [...(z ? ['-Z'] : []), '-u', 'img.tar.gz', '-o', path.join(srv, name), path.join(srv, 'img.tar.gz')]);
      const zout = path.join(dir, `zsync-out${z ? '-Z' : ''}`);
      nginx.reset();
      const r = sh('sh', ['-c', 'cd "$1" && zsync -q -i "$2" -o "$3" "$4"', 'sh', dir, v1, zout, `${nginx.url}/${name}`], { allowFail: true });
      const ok = r.status === 0 && readFileSync(zout).equals(readFileSync(v2));
      const bytes = nginx.hits().reduce((a, h) => a + h.bytes, 0);
      zs.push({ z, ok, bytes });
      rmSync(zout, { force: true });
      rmSync(zout + '.part', { force: true });
    }
    const good = zs.filter((x) => x.ok);
    const zbest = good.length ? Math.min(...good.map((x) => x.bytes)) : undefined;
    const runs = figures.runs ?? 0;
    const maxRequests = 2 + runs / 16;
    const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
    return {
      title: `incremental update: cairn fetch of a 100 MB tree image (${mb(size)} gzip) with 1% of its files changed (${mb(raw)} raw)`,
      rows: [
        { what: `cairn rebuild of v2 from v1's segments + range requests (${speed.toFixed(0)} MB/s)`, other: rb.seconds },
      ],
      notes: [
        `cairn fetch: ${mb(fileBytes)} of the file + ${mb(idxBytes)} of index in ${hits.length} requests (${runs} missing runs), ${mb(figures.reused)} reused`,
        ...zs.map((x) => `zsync${x.z ? ' -Z' : ''}: ${x.ok ? mb(x.bytes) : `failed or not byte-identical (${mb(x.bytes)} fetched)`}`),
        `index ${indexSize} bytes = ${((100 * indexSize) / size).toFixed(3)}% of the file`,
        'reconstruction: every segment read or downloaded, its hash checked, the file written; the sha256 of the whole file is compared with the index\'s by the signature check that follows (it hashes the file anyway)',
      ],
      goals: [
        { goal: 'delta: bytes downloaded (index included) ≤ zsync', measured: zbest ? cairnTotal / zbest : undefined, kind: 'ratio', target: 1.0, pass: zbest !== undefined && cairnTotal <= zbest },
        { goal: 'delta: bytes besides the index ≤ 1.5× raw changed files', measured: fileBytes / raw, kind: 'ratio', target: 1.5, pass: fileBytes <= 1.5 * raw },
        { goal: 'delta: index ≤ 0.2% of the file', measured: (100 * indexSize) / size, kind: '%', target: 0.2, pass: indexSize <= 0.002 * size },
        { goal: 'delta: HTTP requests ≤ 2 + missing runs / 16', measured: hits.length, kind: `requests (${runs} runs)`, target: Number(maxRequests.toFixed(2)), pass: hits.length <= maxRequests },
        { goal: 'delta: reconstruction ≥ 200 MB/s', measured: speed, kind: 'MB/s', target: 200, pass: speed >= 200 },
      ],
    };
  } finally {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
