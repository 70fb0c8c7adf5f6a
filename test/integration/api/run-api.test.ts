import { createReadStream, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { $, BadInputError, from, NotFoundError, RunError, RunOutput, type CairnEvent, type Container, events } from '../../../dsl/index.js';
import { IN_PROCESS } from '../../kit/api.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

// The script API's run steps: quoting through a real /bin/sh in a container, results, zx's chainable
// .nothrow()/.quiet()/.pipe(), options, and the errors of bad input.

let k: CliKit;
let c: Container;
let canary: string;
beforeAll(async () => {
  k = cliKit();
  canary = mkdtempSync(path.join(os.tmpdir(), 'cairn-canary-'));
  if (IN_PROCESS) c = await from(`tarball:${tinyRootfsTar()}`, { root: k.root, name: 'runapi' });
});
afterAll(() => k.cleanup());

/** Output events seen while fn runs. */
async function outputDuring(fn: () => Promise<unknown>): Promise<string> {
  let seen = '';
  const l = (e: CairnEvent) => {
    if (e.type === 'output') seen += e.data.toString();
  };
  events.on('event', l);
  try {
    await fn();
  } finally {
    events.off('event', l);
  }
  return seen;
}

describe.runIf(IN_PROCESS)('run: quoting', () => {
  const hostile = [
    'two words', "it's", '"double"', `$(touch ${'/tmp'}/pwned-subst)`, '`touch /pwned-backtick`', 'line\nbreak', '*', '/etc/*',
    '; rm -rf /', '&& false', '| cat', '$HOME', '${PATH}', '\\', "'", '', ' leading', 'trailing ', '-n', '#comment', '~', 'a\tb', 'é ✓',
  ];

  it.each(hostile.map((v) => [JSON.stringify(v), v]))('%s reaches the command intact', async (_, v) => {
    const r = await c.run`printf '%s' ${v}`.quiet();
    expect(r.stdout).toBe(v);
  });

  it('quotes an array element by element, and runs nothing a value holds', async () => {
    const r = await c.run`printf '<%s>' ${hostile}`.quiet();
    expect(r.stdout).toBe(hostile.map((v) => `<${v}>`).join(''));
    const tree = await c.mount();
    try {
      for (const f of ['tmp/pwned-subst', 'pwned-backtick']) expect(existsSync(path.join(tree, f))).toBe(false);
    } finally {
      await c.unmount();
    }
    expect(existsSync(path.join(canary, 'pwned'))).toBe(false);
  });

  it('takes numbers, booleans and an earlier output (its text without the final newline)', async () => {
    const prev = await c.run`echo 'from before'`.quiet();
    const r = await c.run`printf '%s|' ${42} ${true} ${prev} ${[1, 'two']}`.quiet();
    expect(r.stdout).toBe('42|true|from before|1|two|');
  });

  it.each([
    ['undefined', undefined, /interpolated after `printf %s ` is undefined/],
    ['null', null, /is null/],
    ['an object', { a: 1 }, /is an object/],
    ['a function', () => 1, /is function/],
    ['a nested array', [['x']], /is an array inside an array/],
  ])('refuses %s, saying where it is, before anything starts', (_, v, msg) => {
    const run = c.run.bind(c) as (p: TemplateStringsArray, ...v: unknown[]) => unknown;
    expect(() => run`printf %s ${v}`).toThrow(msg);
  });
});

describe.runIf(IN_PROCESS)('run: results and chaining', () => {
  it('gives stdout, stderr, exitCode, lines() and json()', async () => {
    const r = await c.run`echo '{"a":[1,2]}'; echo err >&2`.quiet();
    expect(r).toBeInstanceOf(RunOutput);
    expect([r.exitCode, r.status, r.ok, r.stderr]).toEqual([0, 0, true, 'err\n']);
    expect(r.json()).toEqual({ a: [1, 2] });
    expect((await c.run`printf 'a\nb\n'`.quiet()).lines()).toEqual(['a', 'b']);
    expect(`${await c.run`printf x`.quiet()}`).toBe('x');
    expect(() => r.lines() && new RunOutput(0, 'not json', '').json()).toThrow(BadInputError);
  });

  it('rejects a non-zero status with a RunError, unless .nothrow() or { nothrow: true }', async () => {
    const err = await c.run`echo out; exit 3`.quiet().catch((e) => e);
    expect(err).toBeInstanceOf(RunError);
    expect([err.exitCode, err.status, err.stdout]).toEqual([3, 3, 'out\n']);
    expect((await c.run`exit 4`.nothrow()).exitCode).toBe(4);
    expect((await c.run(['sh', '-c', 'exit 5'], { nothrow: true })).exitCode).toBe(5);
    const missing = await c.run(['no-such-program']).catch((e) => e);
    expect(missing).toBeInstanceOf(RunError);
    expect(missing.message).toMatch(/command not found in the container: no-such-program/);
  });

  it('.quiet() emits no output events; a plain run does', async () => {
    expect(await outputDuring(() => c.run`echo loud`)).toContain('loud');
    expect(await outputDuring(() => c.run`echo hushed`.quiet())).toBe('');
  });

  it('.pipe() streams stdout into a writable, a zx $ command, or another run step', async () => {
    const sink = new PassThrough();
    let got = '';
    sink.on('data', (d) => (got += d));
    const r = await c.run`echo one; echo two`.quiet().pipe(sink);
    expect(r.stdout).toBe('one\ntwo\n');
    expect(got).toBe('one\ntwo\n');
    expect(sink.writableEnded).toBe(true);
    const counted = await c.run`echo a; echo b; echo c`.quiet().pipe($`wc -l`);
    expect(counted.stdout.trim()).toBe('3');
    const other = await from(`tarball:${tinyRootfsTar()}`, { root: k.root });
    try {
      const piped = await c.run`echo 'through two containers'`.quiet().pipe(other.run(['cat'], { quiet: true }));
      expect(piped.stdout).toBe('through two containers\n');
    } finally {
      await other.remove();
    }
  });

  it('refuses .quiet() and .pipe() once the step has started', async () => {
    const p = c.run`true`;
    await p;
    expect(() => p.quiet()).toThrow(/must be chained on the run call/);
    expect(() => p.pipe(new PassThrough())).toThrow(BadInputError);
  });
});

describe.runIf(IN_PROCESS)('run: options', () => {
  it('takes env as an object or K=V strings, workdir, user and stdin (text or a stream)', async () => {
    const r = await c.run({ env: { GREETING: 'hi there', EMPTY: '' }, workdir: '/tmp', user: '1000' })`printf '%s|%s|' "$GREETING" "$(pwd)"; id -u`.quiet();
    expect(r.stdout).toBe('hi there|/tmp|1000\n');
    expect((await c.run(['sh', '-c', 'echo $A'], { env: ['A=1'], quiet: true })).stdout).toBe('1\n');
    expect((await c.run(['cat'], { stdin: 'text in', quiet: true })).stdout).toBe('text in');
    const file = path.join(canary, 'input');
    writeFileSync(file, 'streamed in\n');
    expect((await c.run(['cat'], { stdin: createReadStream(file), quiet: true })).stdout).toBe('streamed in\n');
  });

  it('shows a secret to the step only: { ID: file }', async () => {
    const file = path.join(canary, 'token');
    writeFileSync(file, 's3cret');
    expect((await c.run(['cat', '/run/secrets/token'], { secrets: { token: file }, quiet: true })).stdout).toBe('s3cret');
    expect((await c.run`test -e /run/secrets/token`.nothrow()).exitCode).toBe(1);
  });

  it.each([
    [{ workDir: '/' }, /unknown option 'workDir'/, /did you mean 'workdir'/],
    [{ env: 'A=1' }, /option 'env' must be an array of 'K=V' strings or an object of strings, not a string/, /run takes/],
    [{ network: 'bridge' }, /option 'network' must be 'host' or 'none', not 'bridge'/, /run takes/],
    [{ nothrow: 'yes' }, /option 'nothrow' must be a boolean/, /run takes/],
    [{ stdin: 42 }, /option 'stdin' must be a string, a Buffer or a readable stream/, /run takes/],
  ])('refuses a wrong option %j with one clear line', (opts, msg, hint) => {
    let err: unknown;
    try {
      c.run(['true'], opts as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadInputError);
    expect((err as Error).message).toMatch(msg);
    expect((err as BadInputError).hint).toMatch(hint);
  });

  it('refuses a command that is neither a template nor an array of strings', () => {
    expect(() => (c.run as (x: unknown) => unknown)('ls -l')).toThrow(/cannot run a string/);
    expect(() => c.run([] as string[])).toThrow(/non-empty array of strings/);
    expect(() => c.run(['ls', 3] as never)).toThrow(/non-empty array of strings/);
  });
});

describe.runIf(IN_PROCESS)('values held after removal', () => {
  it('a removed container says so, and so does copying from it', async () => {
    const gone = await from(`tarball:${tinyRootfsTar()}`, { root: k.root, name: 'soon-gone' });
    const self = await from('scratch', { root: k.root });
    try {
      await gone.remove();
      await expect(gone.run`true`).rejects.toThrow(/container soon-gone \([0-9a-f]{12}\) was removed/);
      await expect(gone.diff()).rejects.toBeInstanceOf(NotFoundError);
      await expect(self.copy('/bin/sh', '/sh', { from: gone })).rejects.toThrow(/container soon-gone .* was removed/);
    } finally {
      await self.remove();
    }
  });

  it('copies from a Container and from an Image value; a removed image says so', async () => {
    const src = await from(`tarball:${tinyRootfsTar()}`, { root: k.root, name: 'copy-src' });
    await src.run`echo from-the-container > /made`.quiet();
    const img = await src.commit('localhost/runapi-src:1');
    // The image's layers the dive way, without a container: the base, then the one that added /made.
    const layers = await img.layers();
    expect(layers.map((l) => l.diffID)).toEqual((await img.inspect()).config.rootfs.diff_ids);
    expect(layers.at(-1)!.added.map((p) => p.path)).toEqual(['/made']);
    const dest = await from('scratch', { root: k.root });
    try {
      await dest.copy('/made', '/a', { from: src });
      await dest.copy('/made', '/b', { from: img });
      const tree = await dest.mount();
      expect(readFileSync(path.join(tree, 'a'), 'utf8')).toBe('from-the-container\n');
      expect(readFileSync(path.join(tree, 'b'), 'utf8')).toBe('from-the-container\n');
      await dest.unmount();
      await src.remove();
      await img.remove();
      await expect(img.inspect()).rejects.toThrow(/image [0-9a-f]{12} was removed/);
      await expect(dest.copy('/made', '/c', { from: img })).rejects.toThrow(/was removed/);
    } finally {
      await dest.remove();
    }
  });

  it('refuses wrong option types of copy, config, commit and from', async () => {
    await expect(c.copy('/x', '/y', { chmod: true } as never)).rejects.toThrow(/copy: option 'chmod' must be a number or a string, not a boolean/);
    await expect(c.copy('/x', '/y', { from: 12 } as never)).rejects.toThrow(/option 'from' must be a Container, an Image, or a name or reference/);
    await expect(c.copy('/x', '/y', { extraLibs: ['libz.so.1'] })).rejects.toThrow(/extraLibs needs withDeps/);
    await expect(c.config({ cmd: 5 } as never)).rejects.toThrow(/config: option 'cmd' must be a string or an array of strings, not a number/);
    await expect(c.config({ enviroment: [] } as never)).rejects.toThrow(/config: unknown option 'enviroment'/);
    await expect(c.commit('x', { squash: 'yes' } as never)).rejects.toThrow(/commit: option 'squash' must be a boolean/);
    await expect(from(undefined as never, { root: k.root })).rejects.toThrow(/from: the image must be a reference string, not undefined/);
    await expect(from('scratch', { root: k.root, nmae: 'x' } as never)).rejects.toMatchObject({ message: "from: unknown option 'nmae'", hint: expect.stringMatching(/did you mean 'name'/) });
  });
});
