import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dfKit, type DfKit } from './kit.js';

/*
 * `cairn build` of Dockerfiles over the kit's tiny image (host programs, /bin/sh): instructions, the config
 * they write, what the built images run, and the steps printed.
 */

let k: DfKit;
beforeAll(() => {
  k = dfKit();
});
afterAll(() => k.cleanup());

describe('cairn build of a Dockerfile', () => {
  it('runs RUN (shell, exec, heredoc), ENV, ARG and --build-arg, WORKDIR, and writes the config', () => {
    const dir = k.context({
      Dockerfile: `FROM ${k.base}
ARG GREETING=hello
ENV WHO=world
WORKDIR /srv/app
RUN echo "$GREETING $WHO" > greeting
RUN ["/bin/sh", "-c", "echo exec > exec-form"]
RUN <<EOF
echo one > /srv/app/heredoc
echo two >> /srv/app/heredoc
EOF
COPY <<EOF /srv/app/from-heredoc
who=$WHO
EOF
USER 1000
LABEL org.example.kind=test
EXPOSE 8080
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/cat"]
CMD ["greeting"]
`,
    });
    const r = k.cairn(['build', '-t', 'localhost/df1:1', '-t', 'localhost/df1:also', '--build-arg', 'GREETING=hi', dir]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(r.stderr).toContain('STEP 1/14: FROM localhost/tiny:1\n');
    expect(r.stderr).toContain('STEP 5/14: RUN echo "$GREETING $WHO" > greeting\n');
    expect(r.stderr).toContain('STEP 14/14: CMD ["greeting"]\n');
    const { config: cfg } = k.inspect('localhost/df1:1');
    expect(cfg.Env).toContain('WHO=world');
    // An ARG is the build's, not the image's.
    expect(cfg.Env?.some((e) => e.startsWith('GREETING='))).toBe(false);
    expect([cfg.WorkingDir, cfg.User, cfg.Labels?.['org.example.kind'], cfg.Entrypoint, cfg.Cmd, cfg.StopSignal]).toEqual(['/srv/app', '1000', 'test', ['/bin/cat'], ['greeting'], 'SIGINT']);
    expect(Object.keys(cfg.ExposedPorts ?? {})).toEqual(['8080/tcp']);
    expect(k.runIn('localhost/df1:also', ['cat', '/srv/app/greeting', '/srv/app/exec-form', '/srv/app/heredoc', '/srv/app/from-heredoc'])).toBe('hi world\nexec\none\ntwo\nwho=world');
    // Both tags name the image printed.
    expect(k.inspect('localhost/df1:also').id).toBe(r.stdout.trim());
  });

  it('by default gives one layer over the base, with one history entry per instruction (the last carries the layer, as buildah)', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN echo a > /a\nENV X=1\nRUN echo b > /b\n` });
    k.ok(['build', '-t', 'localhost/df-one', dir]);
    const baseLayers = k.inspect(k.base).rootfs.diff_ids.length;
    const img = k.inspect('localhost/df-one');
    expect(img.rootfs.diff_ids.length).toBe(baseLayers + 1);
    const own = img.history.slice(k.inspect(k.base).history.length);
    // The default PATH a base without one gets leaves no line, as in buildah.
    expect(own.map((h) => [h.created_by, h.empty_layer ?? false])).toEqual([['RUN echo a > /a', true], ['ENV X=1', true], ['RUN echo b > /b', false]]);
  });

  it('--layers gives one layer per instruction that changes files, each named by its instruction', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN echo a > /a\nENV X=1\nLABEL l=1\nRUN echo b > /b\nCOPY f /f\n`, f: 'file\n' });
    k.ok(['build', '--layers', '-t', 'localhost/df-layers', dir]);
    const baseLayers = k.inspect(k.base).rootfs.diff_ids.length;
    const img = k.inspect('localhost/df-layers');
    expect(img.rootfs.diff_ids.length).toBe(baseLayers + 3);
    expect(img.history.filter((h) => !h.empty_layer).slice(-3).map((h) => h.created_by)).toEqual(['RUN echo a > /a', 'RUN echo b > /b', 'COPY f /f']);
    expect(img.history.slice(-5).map((h) => [h.created_by, h.empty_layer ?? false])).toEqual([['RUN echo a > /a', false], ['ENV X=1', true], ['LABEL l=1', true], ['RUN echo b > /b', false], ['COPY f /f', false]]);
  });

  it('`# checkpoint MESSAGE` lines are layer boundaries with their message; --squash gives one layer in all', () => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN echo a > /a\n# checkpoint tools\nRUN echo b > /b\n` });
    k.ok(['build', '-t', 'localhost/df-cp', dir]);
    const baseLayers = k.inspect(k.base).rootfs.diff_ids.length;
    const img = k.inspect('localhost/df-cp');
    expect(img.rootfs.diff_ids.length).toBe(baseLayers + 2);
    const layered = img.history.filter((h) => !h.empty_layer).slice(-2);
    expect(layered.map((h) => [h.created_by, h.comment])).toEqual([['RUN echo a > /a', 'tools'], ['RUN echo b > /b', undefined]]);
    k.ok(['build', '--squash', '-t', 'localhost/df-squash', dir]);
    expect(k.inspect('localhost/df-squash').rootfs.diff_ids.length).toBe(1);
    expect(k.runIn('localhost/df-squash', ['cat', '/a', '/b'])).toBe('a\nb');
  });

  it('reads the Dockerfile from stdin with -f -, and writes --iidfile', () => {
    const dir = k.context({ 'hello.txt': 'hello from the context\n' });
    const iid = path.join(dir, 'iid');
    const r = k.cairn(['build', '-f', '-', '--iidfile', iid, '-t', 'localhost/df-stdin', dir], { input: `FROM ${k.base}\nCOPY hello.txt /\nCMD ["cat", "/hello.txt"]\n` });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(iid, 'utf8')).toBe(`sha256:${r.stdout.trim()}`);
    expect(k.runIn('localhost/df-stdin', ['cat', '/hello.txt'])).toBe('hello from the context');
  });

  it('leaves no working container behind', () => {
    expect(k.ok(['containers', '-q'])).toBe('');
  });
});
