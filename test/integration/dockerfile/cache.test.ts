import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dfKit, type DfKit } from './kit.js';

/*
 * The step cache of `cairn build --layers`: what a rebuild takes from it (`--> Using cache`), what makes a step
 * and those after it run again, --no-cache, and --cache-to/--cache-from between two stores. Each RUN appends a
 * line to a cache mount, which the steps' keys never count: its lines say which RUN steps ran.
 */

let k: DfKit;
beforeAll(() => {
  k = dfKit();
});
afterAll(() => k.cleanup());

/** The steps of a build's log, each with whether it was taken from the cache. */
function steps(stderr: string): { text: string; cached: boolean }[] {
  const out: { text: string; cached: boolean }[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^STEP \d+\/\d+: (.*)$/.exec(line);
    if (m) out.push({ text: m[1], cached: false });
    else if (/^--> Using cache [0-9a-f]{12} \(cached\)$/.test(line) && out.length) out[out.length - 1].cached = true;
  }
  return out;
}

/** The names of the steps a build ran (FROM left out, it always runs). */
const ran = (stderr: string) => steps(stderr).filter((s) => !s.cached && !s.text.startsWith('FROM')).map((s) => s.text);

/** The lines the RUN steps appended to the cache mount `id` of the store at root. */
function runs(root: string, id: string): string[] {
  // A cache mount's directory is named by a digest of its id.
  const f = path.join(root, 'cache', 'dockerfile', createHash('sha256').update(id).digest('hex').slice(0, 32), 'runs');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
}

/** A Dockerfile whose RUN steps log themselves into the cache mount id. */
function dockerfile(base: string, id: string): string {
  const run = (what: string) => `RUN --mount=type=cache,target=/c,id=${id} echo ${what} >> /c/runs && echo ${what} > /${what}`;
  return `FROM ${base}
ARG V=1
COPY a /a
${run('r1-$V')}
ENV E=1
COPY b /b
${run('r2')}
RUN --mount=type=secret,id=tok test -f /run/secrets/tok
CMD ["/bin/cat", "/a"]
`;
}

function build(dir: string, extra: string[] = [], kit = k): { id: string; stderr: string; ms: number } {
  const t0 = Date.now();
  const r = kit.cairn(['build', '--layers', '--secret', `id=tok,src=${path.join(dir, '..', path.basename(dir) + '.tok')}`, ...extra, dir]);
  const ms = Date.now() - t0;
  expect(r.status, r.stderr).toBe(0);
  return { id: r.stdout.trim(), stderr: r.stderr, ms };
}

describe('the step cache (--layers)', () => {
  it('a rebuild of an unchanged Dockerfile takes every step from the cache, runs no RUN and gives the same image', () => {
    const dir = k.context({ Dockerfile: dockerfile(k.base, 'same'), a: 'a1\n', b: 'b1\n' });
    writeFileSync(dir + '.tok', 'secret-one\n');
    const first = build(dir, ['-t', 'localhost/cache-same']);
    expect(ran(first.stderr).length).toBe(8);
    expect(runs(k.root, 'same')).toEqual(['r1-1', 'r2']);
    const second = build(dir, ['-t', 'localhost/cache-same']);
    expect(ran(second.stderr)).toEqual([]);
    expect(steps(second.stderr).filter((s) => s.cached).length).toBe(8);
    expect(runs(k.root, 'same')).toEqual(['r1-1', 'r2']);
    expect(second.id).toBe(first.id);
    expect(k.inspect('localhost/cache-same').id).toBe(first.id);
    // The files are all there.
    expect(k.runIn('localhost/cache-same', ['cat', '/a', '/b', '/r1-1', '/r2'])).toBe('a1\nb1\nr1-1\nr2');
    console.log(`step cache: first build ${first.ms} ms, cached rebuild ${second.ms} ms (node start-up included)`);
  });

  it('-q, as buildah -q: stdout holds the ID, stderr only what RUN steps print on stderr (their stdout is dropped), cached or not', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN echo to-stdout; echo to-stderr >&2\nENV Q=1\n`, a: '' });
    const quiet = (extra: string[] = []) => {
      const r = k.cairn(['build', '--layers', '-q', ...extra, dir]);
      expect(r.status, r.stderr).toBe(0);
      return r;
    };
    const first = quiet();
    expect(first.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(first.stderr).toBe('to-stderr\n');
    const cached = quiet();
    expect(cached.stdout).toBe(first.stdout);
    expect(cached.stderr).toBe('');
    // Without -q the same rebuild names each step and says it was cached.
    const loud = build(dir);
    expect(steps(loud.stderr).filter((s) => s.cached).length).toBe(2);
  });

  it("a copied file's content invalidates its step and those after it, not those before; its mtime alone does not", () => {
    const dir = k.context({ Dockerfile: dockerfile(k.base, 'content'), a: 'a1\n', b: 'b1\n' });
    writeFileSync(dir + '.tok', 'secret\n');
    build(dir);
    utimesSync(path.join(dir, 'a'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    expect(ran(build(dir).stderr)).toEqual([]);
    writeFileSync(path.join(dir, 'b'), 'b2\n');
    const r = build(dir, ['-t', 'localhost/cache-content']);
    expect(ran(r.stderr)).toEqual(['COPY b /b', expect.stringContaining('echo r2'), 'RUN --mount=type=secret,id=tok test -f /run/secrets/tok', 'CMD ["/bin/cat", "/a"]']);
    expect(runs(k.root, 'content')).toEqual(['r1-1', 'r2', 'r2']);
    expect(k.runIn('localhost/cache-content', ['cat', '/a', '/b'])).toBe('a1\nb2');
    // A layer per step still: the result of a partly cached build has the layers of an uncached one.
    const fresh = build(dir, ['--no-cache', '-t', 'localhost/cache-content-fresh']);
    expect(k.inspect('localhost/cache-content').rootfs.diff_ids.length).toBe(k.inspect('localhost/cache-content-fresh').rootfs.diff_ids.length);
    expect(k.inspect('localhost/cache-content').history.map((h) => h.created_by)).toEqual(k.inspect('localhost/cache-content-fresh').history.map((h) => h.created_by));
    expect(fresh.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a build arg a step uses invalidates from that step; --no-cache runs every step', () => {
    const dir = k.context({ Dockerfile: dockerfile(k.base, 'args'), a: 'a1\n', b: 'b1\n' });
    writeFileSync(dir + '.tok', 'secret\n');
    build(dir);
    const r = build(dir, ['--build-arg', 'V=2']);
    // ARG V and COPY a come before V is used: taken from the cache.
    expect(steps(r.stderr).slice(1, 3).map((s) => s.cached)).toEqual([true, true]);
    expect(ran(r.stderr)[0]).toContain('echo r1-$V');
    expect(runs(k.root, 'args')).toEqual(['r1-1', 'r2', 'r1-2', 'r2']);
    const none = build(dir, ['--no-cache']);
    expect(ran(none.stderr).length).toBe(8);
    expect(none.stderr).not.toContain('Using cache');
    expect(runs(k.root, 'args').length).toBe(6);
  });

  it("a secret's content does not invalidate, and never reaches the cache records", () => {
    const dir = k.context({ Dockerfile: dockerfile(k.base, 'secret'), a: 'a1\n', b: 'b1\n' });
    writeFileSync(dir + '.tok', 'first-secret-value\n');
    build(dir);
    writeFileSync(dir + '.tok', 'second-secret-value\n');
    expect(ran(build(dir).stderr)).toEqual([]);
    const recs = path.join(k.root, 'cache', 'dockerfile-steps');
    const all = readdirSync(recs).map((f) => readFileSync(path.join(recs, f), 'utf8')).join('\n');
    expect(all).toContain('echo r2');
    expect(all).not.toContain('secret-value');
  });

  it('--cache-to a directory, then --cache-from it in another store: the steps are taken from it', () => {
    const dir = k.context({ Dockerfile: dockerfile(k.base, 'shared'), a: 'a1\n', b: 'b1\n' });
    writeFileSync(dir + '.tok', 'secret\n');
    const out = path.join(dir, '..', path.basename(dir) + '.cache');
    const first = build(dir, ['--cache-to', out]);
    expect(existsSync(path.join(out, 'index.json'))).toBe(true);
    const other = dfKit();
    try {
      const r = build(dir, ['--cache-from', out, '-t', 'localhost/cache-shared'], other);
      expect(ran(r.stderr)).toEqual([]);
      expect(runs(other.root, 'shared')).toEqual([]);
      expect(r.id).toBe(first.id);
      expect(other.runIn('localhost/cache-shared', ['cat', '/a', '/b', '/r2'])).toBe('a1\nb1\nr2');
    } finally {
      other.cleanup();
    }
  });
});
