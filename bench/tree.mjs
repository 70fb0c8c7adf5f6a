// The bench's generated file tree: deterministic content, many files of varied sizes, made once and cached.
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log } from './log.mjs';

/** The cached 200 MB tree's shape: 10,000 files in 100 directories, 200,000,000 bytes in all. */
export const TREE_SPEC = { files: 10_000, dirs: 100, bytes: 200_000_000, seed: 1, version: 2 };

/** A small deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic incompressible bytes: AES-128-CTR keystream for a label. */
export function randomBytes(label, size) {
  const key = createHash('sha256').update(`cairn-bench:${label}`).digest();
  const c = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return c.update(Buffer.alloc(size));
}

/** 1 MiB of text-like bytes (words from a small vocabulary, in lines), which gzip shrinks about 3-4×. */
function textBlock(seed) {
  const r = prng(seed);
  const words = Array.from({ length: 512 }, (_, i) => randomBytes(`w${i}`, 3 + (i % 9)).toString('base64').replace(/[^a-z]/gi, 'e').toLowerCase());
  let s = '';
  while (s.length < 1 << 20) {
    const n = 4 + Math.floor(r() * 12);
    const line = [];
    for (let i = 0; i < n; i++) line.push(words[Math.floor(r() * r() * words.length)]);
    s += line.join(' ') + '\n';
  }
  return Buffer.from(s.slice(0, 1 << 20));
}

/**
 * The file sizes of a spec: log-uniform between 256 B and 128 KiB, scaled so they sum to spec.bytes
 * (the last file takes the rounding), so small and large files both occur, like in a real tree.
 */
export function fileSizes(spec) {
  const r = prng(spec.seed);
  const raw = Array.from({ length: spec.files }, () => Math.exp(Math.log(256) + r() * Math.log(131072 / 256)));
  const k = spec.bytes / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((x) => Math.max(1, Math.floor(x * k)));
  sizes[sizes.length - 1] += spec.bytes - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

/**
 * Writes the tree of spec into dir (which must not exist): files `dNN/fNNNNN.{txt,bin}`, even-numbered
 * ones text-like (compressible), odd-numbered ones random (incompressible), modes 0644, fixed mtimes.
 */
export function writeTree(dir, spec, { mtime = 1_700_000_000 } = {}) {
  const sizes = fileSizes(spec);
  const text = textBlock(spec.seed);
  const rnd = randomBytes(`tree${spec.seed}`, 1 << 21);
  const r = prng(spec.seed + 7);
  const w = String(spec.dirs - 1).length;
  for (let d = 0; d < spec.dirs; d++) mkdirSync(path.join(dir, `d${String(d).padStart(w, '0')}`), { recursive: true });
  sizes.forEach((size, i) => {
    const isText = i % 2 === 0;
    const src = isText ? text : rnd;
    const off = Math.floor(r() * Math.max(1, src.length - size));
    const body = size <= src.length - off ? src.subarray(off, off + size) : randomBytes(`big${spec.seed}:${i}`, size);
    const file = path.join(dir, `d${String(i % spec.dirs).padStart(w, '0')}`, `f${String(i).padStart(5, '0')}.${isText ? 'txt' : 'bin'}`);
    writeFileSync(file, body, { mode: 0o644 });
    utimesSync(file, mtime, mtime);
  });
  return { files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), mtime };
}

/** Returns `<cacheDir>/bench-tree`, generating it (to a temp name, then renamed) unless its stamp matches TREE_SPEC. */
export function benchTree(cacheDir) {
  const dir = path.join(cacheDir, 'bench-tree');
  const stamp = `${dir}.stamp`;
  const want = JSON.stringify(TREE_SPEC);
  if (existsSync(dir) && existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return dir;
  log(`tree: generating ${TREE_SPEC.files} files, ${TREE_SPEC.bytes / 1e6} MB into ${dir} (once)…`);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  writeTree(tmp, TREE_SPEC);
  rmSync(stamp, { force: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  writeFileSync(stamp, want);
  return dir;
}
