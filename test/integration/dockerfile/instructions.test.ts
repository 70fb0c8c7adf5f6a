import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN } from '../../kit/cli.js';
import { tarOf } from '../../kit/tarfix.js';
import { dfKit, type DfKit } from './kit.js';

/*
 * Instructions of `cairn build` beyond COPY and RUN: ADD of a local tar (unpacked, and never outside the root)
 * and of a URL (downloaded, mode 0600, not unpacked), VOLUME, SHELL, HEALTHCHECK with its timing options,
 * ONBUILD (recorded, and run when a later build starts FROM the image), and a RUN's output as it comes.
 */

let k: DfKit;
const dirs: string[] = [];
beforeAll(() => {
  k = dfKit();
});
afterAll(() => {
  k.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Config = Record<string, unknown> & { Volumes?: Record<string, object>; Healthcheck?: Record<string, unknown>; OnBuild?: string[]; Env?: string[]; Shell?: string[] };

function build(dir: string, tag: string, extra: string[] = []): { id: string; stderr: string } {
  const r = k.cairn(['build', ...extra, '-t', tag, dir]);
  expect(r.status, r.stderr).toBe(0);
  return { id: r.stdout.trim(), stderr: r.stderr };
}

const config = (image: string) => k.inspect(image).config as Config;

describe('ADD', () => {
  it('unpacks a local tar, plain and gzip, into the destination directory', async () => {
    const tar = await tarOf([{ name: 'pkg/', type: 'directory' }, { name: 'pkg/one.txt', content: 'one\n' }, { name: 'pkg/bin.sh', content: '#!/bin/sh\n', mode: 0o755 }]);
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nADD plain.tar /opt/plain/\nADD packed.tar.gz /opt/gz\n` });
    writeFileSync(path.join(dir, 'plain.tar'), tar);
    writeFileSync(path.join(dir, 'packed.tar.gz'), gzipSync(tar));
    build(dir, 'localhost/add-tar');
    expect(k.runIn('localhost/add-tar', ['cat', '/opt/plain/pkg/one.txt', '/opt/gz/pkg/one.txt'])).toBe('one\none');
    expect(k.runIn('localhost/add-tar', ['stat', '-c', '%a', '/opt/gz/pkg/bin.sh'])).toBe('755');
    expect(k.runIn('localhost/add-tar', ['sh', '-c', 'ls /opt/plain /opt/gz'])).not.toContain('.tar');
  });

  it('a hostile tar writes nothing outside the root: ../ names are refused, an absolute symlink resolves inside the destination', async () => {
    const host = mkdtempSync(path.join(os.tmpdir(), 'cairn-df-canary-'));
    dirs.push(host);
    const canary = path.join(host, 'canary');
    writeFileSync(canary, 'untouched\n');
    const dotdot = await tarOf([{ name: 'ok.txt', content: 'ok\n' }, { name: `../../../../../../../..${canary}`, content: 'pwned by ..\n' }]);
    const link = await tarOf([
      { name: 'abs', type: 'symlink', linkname: host },
      { name: 'abs/canary', content: 'pwned by symlink\n' },
      { name: 'abs/new-file', content: 'pwned\n' },
    ]);
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nADD dotdot.tar /x/\n`, 'link/Dockerfile': `FROM ${k.base}\nADD link.tar /x/\n` });
    writeFileSync(path.join(dir, 'dotdot.tar'), dotdot);
    writeFileSync(path.join(dir, 'link', 'link.tar'), link);
    const refused = k.cairn(['build', '-t', 'localhost/add-dotdot', dir]);
    expect(refused.status).toBe(125);
    expect(refused.stderr).toContain('points outside the root');
    build(path.join(dir, 'link'), 'localhost/add-link');
    expect(readFileSync(canary, 'utf8')).toBe('untouched\n');
    expect(existsSync(path.join(host, 'new-file'))).toBe(false);
    // The link's target is taken inside the destination, as in a chroot there (docker's ADD).
    expect(k.runIn('localhost/add-link', ['cat', `/x${canary}`, `/x${host}/new-file`])).toBe('pwned by symlink\npwned');
  });

  it('downloads a URL into the image with mode 0600, an archive not unpacked', async () => {
    const tgz = gzipSync(await tarOf([{ name: 'inside.txt', content: 'in\n' }]));
    const server: Server = createServer((req, res) => {
      if (req.url === '/files/hello.txt') res.end('hello from http\n');
      else if (req.url === '/files/pack.tar.gz') res.end(tgz);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const dir = k.context({ Dockerfile: `FROM ${k.base}\nADD http://127.0.0.1:${port}/files/hello.txt /dl/\nADD http://127.0.0.1:${port}/files/pack.tar.gz /dl/\n` });
      const r = await k.cairnAsync(['build', '-t', 'localhost/add-url', dir]);
      expect(r.status, r.stderr).toBe(0);
    } finally {
      server.close();
    }
    expect(k.runIn('localhost/add-url', ['cat', '/dl/hello.txt'])).toBe('hello from http');
    expect(k.runIn('localhost/add-url', ['stat', '-c', '%a %s', '/dl/hello.txt', '/dl/pack.tar.gz'])).toBe(`600 16\n600 ${tgz.length}`);
    expect(k.runIn('localhost/add-url', ['sh', '-c', 'ls /dl'])).toBe('hello.txt\npack.tar.gz');
  });
});

describe('VOLUME, SHELL, HEALTHCHECK', () => {
  it('VOLUME records its paths in the config (JSON and shell form)', () => {
    build(k.context({ Dockerfile: `FROM ${k.base}\nVOLUME ["/data", "/logs"]\nVOLUME /cache /spool\n` }), 'localhost/volumes');
    expect(Object.keys(config('localhost/volumes').Volumes ?? {}).sort()).toEqual(['/cache', '/data', '/logs', '/spool']);
  });

  it('SHELL changes the shell of later shell-form RUN steps, and is recorded', () => {
    const r = build(k.context({ Dockerfile: `FROM ${k.base}\nRUN echo before > /before\nSHELL ["/bin/sh", "-xc"]\nRUN echo traced > /after\n` }), 'localhost/shell');
    // sh -x traces the command on stderr: only the RUN after SHELL is traced.
    expect(r.stderr).toContain('+ echo traced');
    expect(r.stderr).not.toContain('+ echo before');
    expect(config('localhost/shell').Shell).toEqual(['/bin/sh', '-xc']);
    expect(k.runIn('localhost/shell', ['cat', '/after'])).toBe('traced');
  });

  it('HEALTHCHECK records the test and its timing options (durations in ns); NONE turns it off', () => {
    build(
      k.context({ Dockerfile: `FROM ${k.base}\nHEALTHCHECK --interval=1m30s --timeout=5s --start-period=2s --start-interval=500ms --retries=4 CMD ["/bin/cat", "/etc/passwd"]\n` }),
      'localhost/health',
    );
    expect(config('localhost/health').Healthcheck).toEqual({ Test: ['CMD', '/bin/cat', '/etc/passwd'], Interval: 90e9, Timeout: 5e9, StartPeriod: 2e9, StartInterval: 5e8, Retries: 4 });
    build(k.context({ Dockerfile: `FROM localhost/health\nHEALTHCHECK --timeout=1.5s CMD cat /etc/passwd || exit 1\n` }), 'localhost/health-shell');
    expect(config('localhost/health-shell').Healthcheck).toEqual({ Test: ['CMD-SHELL', 'cat /etc/passwd || exit 1'], Timeout: 1.5e9 });
    build(k.context({ Dockerfile: `FROM localhost/health\nHEALTHCHECK NONE\n` }), 'localhost/health-none');
    expect(config('localhost/health-none').Healthcheck).toEqual({ Test: ['NONE'] });
  });

  it.each([
    ['--interval=10', 'HEALTHCHECK --interval=10 is not a duration'],
    ['--timeout=5x', 'HEALTHCHECK --timeout=5x is not a duration'],
    ['--start-period=100us', 'HEALTHCHECK --start-period=100us is shorter than 1ms'],
    ['--retries=-1', 'HEALTHCHECK --retries=-1 is not a whole number'],
    ['--retries=two', 'HEALTHCHECK --retries=two is not a whole number'],
  ])('HEALTHCHECK %s is refused with one line before any step runs', (flag, message) => {
    const dir = k.context({ Dockerfile: `FROM ${k.base}\nRUN echo ran\nHEALTHCHECK ${flag} CMD true\n` });
    const r = k.cairn(['build', dir]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain(`Dockerfile:3:13: ${message}`);
    expect(r.stderr).not.toContain('STEP');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('ONBUILD', () => {
  it('is recorded, and its triggers run when a later build starts FROM the image (then cleared)', () => {
    const base = build(k.context({ Dockerfile: `FROM ${k.base}\nONBUILD COPY app.txt /app/\nONBUILD RUN cat /app/app.txt > /app/seen\nONBUILD ENV FROM_TRIGGER=yes\n` }), 'localhost/onbuild-base');
    expect(config('localhost/onbuild-base').OnBuild).toEqual(['COPY app.txt /app/', 'RUN cat /app/app.txt > /app/seen', 'ENV FROM_TRIGGER=yes']);
    expect(base.stderr).toContain('STEP 4/4: ONBUILD ENV FROM_TRIGGER=yes');
    for (const layers of [[], ['--layers']]) {
      const dir = k.context({ Dockerfile: `FROM localhost/onbuild-base\nRUN echo "$FROM_TRIGGER" > /app/env\n`, 'app.txt': 'from the child context\n' });
      const child = build(dir, 'localhost/onbuild-child', layers);
      // As buildah prints them: each trigger a step of its own, counted from then on.
      expect(child.stderr).toContain('STEP 1/2: FROM localhost/onbuild-base\nSTEP 2/5: COPY app.txt /app/\n');
      expect(child.stderr).toContain('STEP 3/5: RUN cat /app/app.txt > /app/seen\n');
      expect(k.runIn('localhost/onbuild-child', ['cat', '/app/seen', '/app/env'])).toBe('from the child context\nyes');
      expect(config('localhost/onbuild-child').OnBuild ?? []).toEqual([]);
      // Not inherited further: a grandchild runs none.
      const grand = build(k.context({ Dockerfile: `FROM localhost/onbuild-child\nRUN true\n` }), 'localhost/onbuild-grand', layers);
      expect(grand.stderr).toContain('STEP 2/2: RUN true');
    }
    // A cached rebuild takes the triggers from the cache too.
    const dir = k.context({ Dockerfile: `FROM localhost/onbuild-base\nRUN echo "$FROM_TRIGGER" > /app/env\n`, 'app.txt': 'same\n' });
    const first = build(dir, 'localhost/onbuild-cached', ['--layers']);
    const again = build(dir, 'localhost/onbuild-cached', ['--layers']);
    expect(again.id).toBe(first.id);
    expect(again.stderr.match(/--> Using cache/g)?.length).toBe(4);
  });

  it('a trigger that fails names itself and the image that carries it', () => {
    build(k.context({ Dockerfile: `FROM ${k.base}\nONBUILD RUN exit 3\n` }), 'localhost/onbuild-bad');
    const r = k.cairn(['build', k.context({ Dockerfile: 'FROM localhost/onbuild-bad\n' })]);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('cairn build: localhost/onbuild-bad ONBUILD:1:1: RUN failed: the command exited 3 (at STEP 2/2: RUN exit 3)');
  });
});

describe('RUN output', () => {
  it("streams a RUN step's stdout and stderr to the log as they come, in order", async () => {
    // After each line the step waits until the test has seen it (stderr, then stdout) and answered by creating a file
    // (`go`, then `go2`): two pipes have no order between them, a line the test has seen does.
    const wait = (f: string) => `i=0; while [ ! -e /ctx/${f} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; [ -e /ctx/${f} ]`;
    const dir = k.context({
      Dockerfile: `FROM ${k.base}\nRUN --mount=type=bind,target=/ctx sh -c 'echo err-first >&2; ${wait('go')} && echo out-second && ${wait('go2')} && echo err-third >&2'\n`,
    });
    const child = spawn(CAIRN, ['--root', k.root, 'build', dir]);
    let stderr = '';
    let stdout = '';
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 128)));
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (stderr.includes('err-first\n') && !existsSync(path.join(dir, 'go'))) writeFileSync(path.join(dir, 'go'), '');
      if (stderr.includes('out-second\n') && !existsSync(path.join(dir, 'go2'))) writeFileSync(path.join(dir, 'go2'), '');
    });
    expect(await done, stderr).toBe(0);
    const lines = stderr.split('\n');
    const at = (l: string) => lines.indexOf(l);
    expect(at('err-first')).toBeGreaterThan(-1);
    expect(at('err-first')).toBeLessThan(at('out-second'));
    expect(at('out-second')).toBeLessThan(at('err-third'));
    expect(stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});
