import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dfKit, type DfKit } from './kit.js';

/*
 * Stages, the context and secrets of `cairn build`: multi-stage builds into scratch, --target, .dockerignore,
 * RUN mounts (secret, cache, bind), and the failures a Dockerfile's mistakes give.
 */

let k: DfKit;
beforeAll(() => {
  k = dfKit();
});
afterAll(() => k.cleanup());

describe('stages', () => {
  it('builds a scratch final stage from files of an earlier stage (COPY --from, by name and by index)', () => {
    const dir = k.context({
      Dockerfile: `FROM ${k.base} AS build
RUN mkdir /out && echo built > /out/result && cp /bin/cat /out/cat
FROM ${k.base}
RUN echo second > /second
FROM scratch
COPY --from=build /out/result /result
COPY --from=1 /second /second
`,
    });
    const r = k.cairn(['build', '-t', 'localhost/df-multi', dir]);
    expect(r.status, r.stderr).toBe(0);
    const img = k.inspect('localhost/df-multi');
    // Scratch has no layer of its own: the stage's one layer holds only what was copied.
    expect(img.rootfs.diff_ids.length).toBe(1);
    // The result holds no shell: copy its files out through another container to look at them.
    const check = k.context({ Dockerfile: `FROM ${k.base}\nCOPY --from=localhost/df-multi /result /second /got/\n` });
    k.ok(['build', '-t', 'localhost/df-multi-check', check]);
    expect(k.runIn('localhost/df-multi-check', ['cat', '/got/result', '/got/second'])).toBe('built\nsecond');
    // The stages' containers are gone.
    expect(k.ok(['containers', '-q'])).toBe('');
  });

  it('--target builds the stage named and those it needs, and skips the others (they do not run)', () => {
    const dir = k.context({
      Dockerfile: `FROM ${k.base} AS deps
RUN echo deps > /deps
FROM ${k.base} AS unused
RUN exit 7
FROM deps AS app
RUN cat /deps > /app
FROM app AS last
RUN exit 9
`,
    });
    const images = () => k.ok(['images', '-q']).split('\n').filter(Boolean).length;
    const before = images();
    const r = k.cairn(['build', '--target', 'app', '-t', 'localhost/df-target', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('exit 7');
    expect(r.stderr).not.toContain('exit 9');
    expect(r.stderr).toContain('STEP 4/4: RUN cat /deps > /app');
    expect(k.runIn('localhost/df-target', ['cat', '/app'])).toBe('deps');
    // The image made of stage deps for `FROM deps` is removed: only the target's is new.
    expect(images()).toBe(before + 1);
  });
});

describe('the context', () => {
  it('leaves out what .dockerignore excludes, and refuses to COPY an excluded path by name', () => {
    const dir = k.context({
      Dockerfile: `FROM ${k.base}\nCOPY . /ctx/\n`,
      '.dockerignore': 'secret.txt\n**/*.log\n',
      'secret.txt': 'do not ship\n',
      'app/main.txt': 'main\n',
      'app/debug.log': 'noise\n',
    });
    k.ok(['build', '-t', 'localhost/df-ignore', dir]);
    expect(k.runIn('localhost/df-ignore', ['ls', '-a', '/ctx', '/ctx/app'])).toBe('/ctx:\n.\n..\n.dockerignore\nDockerfile\napp\n\n/ctx/app:\n.\n..\nmain.txt');
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${k.base}\nRUN echo should-not-run\nCOPY secret.txt /\n`);
    const r = k.cairn(['build', dir]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('Dockerfile:3:1: secret.txt is excluded by .dockerignore');
    // Refused before any step ran.
    expect(r.stderr).not.toContain('STEP');
  });

  it('refuses a flag an instruction does not take before any step runs', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN echo should-not-run\nENV --frob=1 A=b\n` });
    const r = k.cairn(['build', dir]);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe('cairn build: Dockerfile:3:1: ENV takes no --frob');
    expect(r.stderr).not.toContain('STEP');
  });

  it('refuses a COPY of a path outside the context, by .. or by a symlink', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nCOPY ../etc/passwd /\n` });
    let r = k.cairn(['build', dir]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('../etc/passwd is outside the build context');
    symlinkSync('/etc', path.join(dir, 'etc-link'));
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${k.base}\nCOPY etc-link/passwd /\n`);
    r = k.cairn(['build', dir]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('leads outside the build context');
  });

  it('binds the context read-only for one RUN (--mount=type=bind)', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN --mount=type=bind,source=src,target=/mnt cat /mnt/input > /copied\n`, 'src/input': 'bound\n' });
    k.ok(['build', '-t', 'localhost/df-bind', dir]);
    expect(k.runIn('localhost/df-bind', ['cat', '/copied'])).toBe('bound');
    // The mount point the step needed is not left in the image.
    expect(k.runIn('localhost/df-bind', ['sh', '-c', 'test -e /mnt || echo absent'])).toBe('absent');
  });
});

describe('RUN mounts', () => {
  it('a secret is seen by its RUN and is in no layer, config or history', () => {
    const secret = `s3cr3t-${process.pid}-value`;
    const sdir = mkdtempSync(path.join(os.tmpdir(), 'cairn-df-secret-'));
    writeFileSync(path.join(sdir, 'token'), secret);
    const dir = k.context({
      Dockerfile: `FROM ${k.base}
RUN --mount=type=secret,id=token test "$(cat /run/secrets/token)" = "${secret.slice(0, 6)}$(echo ${secret.slice(6)})" && echo seen > /seen
RUN --mount=type=secret,id=token,target=/etc/tok cat /etc/tok | head -c 6 > /prefix
`,
    });
    const r = k.cairn(['build', '--layers', '--secret', `id=token,src=${path.join(sdir, 'token')}`, '-t', 'localhost/df-secret', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(k.runIn('localhost/df-secret', ['cat', '/seen', '/prefix'])).toBe(`seen\n${secret.slice(0, 6)}`);
    expect(k.runIn('localhost/df-secret', ['sh', '-c', 'test -e /run/secrets || test -s /etc/tok || echo absent'])).toBe('absent');
    const out = mkdtempSync(path.join(os.tmpdir(), 'cairn-df-oci-'));
    k.ok(['push', '--compression-format', 'none', 'localhost/df-secret', `oci:${out}:x`]);
    const blobs = readdirSync(path.join(out, 'blobs/sha256'));
    expect(blobs.length).toBeGreaterThan(3);
    for (const b of blobs) expect(readFileSync(path.join(out, 'blobs/sha256', b)).includes(Buffer.from(secret)), b).toBe(false);
    // Without the secret the RUN runs without it (as BuildKit), and fails here as its test does.
    const missing = k.cairn(['build', dir]);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toContain('Dockerfile:2:1: RUN failed: the command exited 1');
  });

  it('a cache mount keeps its content from one build to the next, and is not in the image', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN --mount=type=cache,target=/cache,id=df-test echo run >> /cache/log && cat /cache/log > /seen\n` });
    k.ok(['build', '-t', 'localhost/df-cache', dir]);
    k.ok(['build', '-t', 'localhost/df-cache', dir]);
    expect(k.runIn('localhost/df-cache', ['cat', '/seen'])).toBe('run\nrun');
    expect(k.runIn('localhost/df-cache', ['sh', '-c', 'test -e /cache/log || echo absent'])).toBe('absent');
  });
});

describe('hostile cache mount ids', () => {
  it('an id of .., . or a path names its own cache directory, never one outside it', () => {
    const canaries: string[] = [];
    for (const [i, id] of ['..', '.', '../../..', 'a/../../b'].entries()) {
      const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN --mount=type=cache,target=/c,id=${id} touch /c/canary-${i} && ls -a /c > /seen\n` });
      k.ok(['build', '-t', `localhost/df-hostile-${i}`, dir]);
      // Each id sees only its own directory: empty but for its own canary.
      expect(k.runIn(`localhost/df-hostile-${i}`, ['cat', '/seen'])).toBe(`.\n..\ncanary-${i}`);
      canaries.push(`canary-${i}`);
    }
    // Every canary is in a directory of its own under the store's cache/dockerfile, nowhere else in the store.
    const found = execFileSync('find', [k.root, '-name', 'canary-*'], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(found).toHaveLength(4);
    for (const f of found) expect(path.relative(k.root, f)).toMatch(/^cache\/dockerfile\/[0-9a-f]{32}\/canary-\d$/);
  });
});

describe('bad input', () => {
  it('names an unknown stage in COPY --from before any step runs', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base} AS build\nRUN true\nFROM ${k.base}\nCOPY --from=biuld /x /x\n` });
    const r = k.cairn(['build', dir]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('Dockerfile:4:1: --from=biuld names no earlier stage and no stored image');
    expect(r.stderr).toContain('earlier stages: build');
    expect(r.stderr).not.toContain('STEP');
  });

  it('a failing RUN names its step and place, and leaves no container', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN echo before\nRUN echo to-stderr >&2; exit 3\nRUN echo after\n` });
    const r = k.cairn(['build', '-t', 'localhost/df-fail', dir]);
    expect(r.status).toBe(125);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('to-stderr');
    expect(r.stderr).toContain('cairn build: Dockerfile:3:1: RUN failed: the command exited 3 (at STEP 3/4: RUN echo to-stderr >&2; exit 3)');
    expect(r.stderr).not.toContain('STEP 4/4');
    expect(k.ok(['containers', '-q'])).toBe('');
    expect(k.cairn(['inspect', 'localhost/df-fail']).status).not.toBe(0);
  });
});
