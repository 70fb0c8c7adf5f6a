import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliKit } from '../kit/cli.js';
import type { Nginx } from '../kit/nginx.js';
import { updateRig, type UpdateRig } from '../kit/update-rig.js';
import { peerOk } from '../kit/peers.js';

/*
 * An update of a 100 MB tree image with 1% of its files changed, exported with FILE.cidx and served by nginx. The
 * new version is built from a fresh copy of the tree (files keep their times, directories get new ones, as in a
 * rebuild), without SOURCE_DATE_EPOCH: `cairn fetch` downloads about the changed files (at most 1.5× their size
 * besides the index), in few requests, and the rebuilt file is byte-identical and verifies.
 */

const FILES = 5000;
const DIRS = 50;

/** Deterministic bytes: AES-128-CTR keystream for a label (incompressible). */
function random(label: string, size: number): Buffer {
  const key = createHash('sha256').update(label).digest();
  return createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32)).update(Buffer.alloc(size));
}

/** Text-like bytes (words in lines) for a label, which gzip shrinks a few times. */
function text(label: string, size: number): Buffer {
  const words = random(`${label}/words`, 2048).toString('hex').match(/.{1,7}/g)!;
  const pick = random(`${label}/pick`, size);
  const out: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const w = words[pick[i % pick.length] % words.length] + (i % 11 === 10 ? '\n' : ' ');
    out.push(w);
    n += w.length;
  }
  return Buffer.from(out.join('').slice(0, size));
}

/** File i's path below the tree and its content (even: text, odd: random; 4 to 36 KB, 100 MB in all). */
function file(i: number): { rel: string; body: Buffer } {
  const size = 4000 + ((i * 7919) % 32000);
  const rel = path.join(`d${String(i % DIRS).padStart(2, '0')}`, `f${String(i).padStart(5, '0')}`);
  return { rel, body: i % 2 ? random(`f${i}`, size) : text(`f${i}`, size) };
}

const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let rig: UpdateRig;
let dir: string;
let build: CliKit;
let fetcher: CliKit;
let nginx: Nginx;

beforeAll(async () => {
  rig = await updateRig('cairn-delta-tree-');
  ({ dir, build, fetcher, nginx } = rig);
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

/** Builds an image of tree as NAME and exports it to the server as tree.tar.gz (+ .cidx); the file's path there. */
function publish(tree: string, name: string): string {
  const c = build.ok(['from', 'scratch']).trim();
  build.ok(['copy', c, tree, '/data']);
  build.ok(['commit', '--rm', c, name]);
  return rig.publish(name, 'tree.tar.gz');
}

describe('cairn fetch of a 100 MB tree image with 1% of its files changed', () => {
  it('downloads at most 1.5× the changed files, in few requests, and rebuilds the file byte for byte', () => {
    const v1 = path.join(dir, 'v1');
    for (let i = 0; i < FILES; i++) {
      const { rel, body } = file(i);
      mkdirSync(path.join(v1, path.dirname(rel)), { recursive: true });
      writeFileSync(path.join(v1, rel), body);
      utimesSync(path.join(v1, rel), 1_600_000_000, 1_600_000_000);
    }
    publish(v1, 'tree:1');
    const url = `${nginx.url}/tree.tar.gz`;
    fetcher.ok(['fetch', url]);

    // The rebuild: a fresh copy (directories get new times), every 100th file changed.
    const v2 = path.join(dir, 'v2');
    peerOk('cp', ['-r', '--preserve=mode,timestamps', v1, v2]);
    for (const d of readdirSync(v2)) utimesSync(path.join(v2, d), 1_700_000_000, 1_700_000_000);
    let raw = 0;
    for (let i = 0; i < FILES; i += 100) {
      const { rel, body } = file(i);
      const changed = i % 200 ? random(`changed${i}`, body.length) : Buffer.concat([body.subarray(0, body.length >> 1), Buffer.from(`a changed line ${i}\n`), body.subarray(body.length >> 1)]);
      writeFileSync(path.join(v2, rel), changed);
      raw += changed.length;
    }
    const published = publish(v2, 'tree:2');
    const size = statSync(published).size;

    nginx.reset();
    const r = JSON.parse(fetcher.ok(['fetch', '--json', url]));
    expect(r.kind).toBe('rebuilt');
    expect(r.digest).toBe(`sha256:${sha(published)}`);
    expect(sha(path.join(fetcher.root, 'exec', sha(published), 'image'))).toBe(sha(published));
    const sent = nginx.hits().filter((h) => h.uri === '/tree.tar.gz').reduce((a, h) => a + h.bodyBytes, 0);
    expect(sent).toBe(r.downloaded);
    expect(r.downloaded).toBeLessThanOrEqual(1.5 * raw);
    expect(r.indexBytes).toBeLessThanOrEqual(0.002 * size);
    expect(r.requests).toBeLessThanOrEqual(2 + r.runs / 16);
    // The rebuilt image runs through the same verification as a whole download: cairn verify accepts it.
    fetcher.ok(['verify', published]);
  }, 600_000);
});
