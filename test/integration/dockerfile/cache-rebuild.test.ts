import { readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dfKit, type DfKit } from './kit.js';

/*
 * A fully cached rebuild (`cairn build --layers` of an unchanged Dockerfile) finds its result by the steps' keys
 * alone: it prints `--> Using cache … (cached)` for every step, gives the same image ID, and makes no container
 * and no layer. The content of copied files is remembered by stat, which a rewrite with the same size and the
 * old mtime put back cannot fool (its ctime changes).
 */

let k: DfKit;
beforeAll(() => {
  k = dfKit();
});
afterAll(() => k.cleanup());

function build(dir: string, tag: string): { id: string; stderr: string } {
  const r = k.cairn(['build', '--layers', '-t', tag, dir]);
  expect(r.status, r.stderr).toBe(0);
  return { id: r.stdout.trim(), stderr: r.stderr };
}

/** The number of `--> Using cache` lines and of STEP lines (FROM left out). */
function counts(stderr: string): { cached: number; steps: number } {
  const lines = stderr.split('\n');
  return {
    cached: lines.filter((l) => /^--> Using cache [0-9a-f]{12} \(cached\)$/.test(l)).length,
    steps: lines.filter((l) => /^STEP \d+\/\d+: /.test(l) && !/^STEP \d+\/\d+: FROM /.test(l)).length,
  };
}

/** Names and mtimes (ns) of a store directory's entries: what making a container or writing a layer changes. */
function snapshot(dir: string): string {
  const st = statSync(dir, { throwIfNoEntry: false, bigint: true });
  return st ? `${st.mtimeNs} ${readdirSync(dir).sort().join(',')}` : 'none';
}

describe('a fully cached rebuild', () => {
  it('takes every step from the cache, gives the same image ID, and makes no container and no layer', () => {
    const dir = k.context({
      Dockerfile: `FROM ${k.base}\nENV A=1\nWORKDIR /w\nCOPY f /w/f\nRUN echo hello-from-run && echo ran > /w/ran\nARG V=1\nUSER 1000\nCMD ["/bin/cat", "/w/f"]\n`,
      f: 'first\n',
    });
    const first = build(dir, 'localhost/rebuild:1');
    expect(counts(first.stderr).cached).toBe(0);
    expect(first.stderr.split('\n')).toContain('hello-from-run');
    const places = ['containers', 'layers', path.join('blobs', 'sha256')].map((d) => path.join(k.root, d));
    const before = places.map(snapshot);
    const second = build(dir, 'localhost/rebuild:1');
    expect(counts(second.stderr)).toEqual({ cached: 7, steps: 7 });
    expect(second.stderr.split('\n')).not.toContain('hello-from-run');
    expect(second.id).toBe(first.id);
    expect(places.map(snapshot)).toEqual(before);
    expect(k.inspect('localhost/rebuild:1').id).toBe(first.id);
    expect(k.runIn('localhost/rebuild:1', ['cat', '/w/f', '/w/ran'])).toBe('first\nran');
  });

  it('a copied file rewritten with the same size and its mtime put back runs its COPY again', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nCOPY f /f\nRUN cat /f > /g\n`, f: 'aaaa\n' });
    const f = path.join(dir, 'f');
    // An old mtime: the first build remembers the file's digest by its stat.
    utimesSync(f, 1_000_000_000, 1_000_000_000);
    const first = build(dir, 'localhost/rebuild:2');
    expect(build(dir, 'localhost/rebuild:2').id).toBe(first.id);
    writeFileSync(f, 'bbbb\n');
    utimesSync(f, 1_000_000_000, 1_000_000_000);
    const changed = build(dir, 'localhost/rebuild:2');
    expect(counts(changed.stderr)).toEqual({ cached: 0, steps: 2 });
    expect(changed.id).not.toBe(first.id);
    expect(k.runIn('localhost/rebuild:2', ['cat', '/f', '/g'])).toBe('bbbb\nbbbb');
  });

  it('a step that misses after cached ones continues from their state (env, workdir, PATH of the base)', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nENV A=one\nWORKDIR /w\nCOPY f ./f\nRUN echo "$A $(pwd) $PATH" > out\n`, f: '1\n' });
    build(dir, 'localhost/rebuild:3');
    writeFileSync(path.join(dir, 'f'), '22\n');
    const r = build(dir, 'localhost/rebuild:3');
    expect(counts(r.stderr)).toEqual({ cached: 2, steps: 4 });
    expect(k.runIn('localhost/rebuild:3', ['cat', '/w/out', '/w/f'])).toMatch(/^one \/w \/usr\/local\/sbin:.*\n22$/);
  });
});
