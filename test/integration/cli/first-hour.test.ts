import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { execFileSync, spawnSync } from 'node:child_process';
import tarStream from 'tar-stream';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit, type CliResult } from '../../kit/cli.js';
import { smallRootfsTar, tinyRootfsTar } from '../../kit/tiny.js';

/*
 * What a buildah user meets in the first hour: bad input and unwritable places answered with one line and
 * exit 125 (no stack trace, no endless loop), and the conveniences they reach for.
 */

let k: CliKit;
beforeAll(() => {
  k = cliKit();
});
afterAll(() => k.cleanup());

/** A failure as the CLI contract wants it: exit 125, `cairn VERB: …` first, at most a hint after, no stack trace. */
function oneLine(r: CliResult, verb: string): string {
  expect(r.signal).toBeNull();
  expect(r.status, r.stderr).toBe(125);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0].startsWith(`cairn ${verb}: `), r.stderr).toBe(true);
  expect(lines.length, r.stderr).toBeLessThanOrEqual(2);
  if (lines[1]) expect(lines[1]).toMatch(/^ {2}hint: /);
  return lines[0];
}

describe('bad input and unwritable places', () => {
  it('a truncated plain tarball as a base is refused, and the store is as it was', () => {
    const whole = readFileSync(tinyRootfsTar());
    const cut = path.join(k.root, '..', `cut-${process.pid}.tar`);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const images = k.ok(['images', '--json']);
    expect(oneLine(k.cairn(['from', `tarball:${cut}`]), 'from')).toMatch(/not a tar archive|truncated|unexpected end/i);
    expect(k.ok(['images', '--json'])).toBe(images);
    expect(k.ok(['containers', '--json'])).toBe('[]');
  });

  it('push to a place that takes no files ends with one line, for every transport', () => {
    const id = k.ok(['pull', `tarball:${smallRootfsTar()}`]);
    for (const dest of ['oci-archive:/proc/x.tar', 'oci:/proc/cairn-layout', 'docker-archive:/proc/x.tar']) {
      const line = oneLine(k.cairn(['push', id, dest], { timeout: 30_000 }), 'push');
      expect(line).toMatch(/^cairn push: cannot (write|create directory) \/proc\/(x\.tar|cairn-layout): /);
      expect(line).not.toMatch(/\.tmp-/);
    }
  });
});

/** A base of one static busybox at /busybox: no /etc, no /bin/sh (scratch plus a static binary). */
let bareTar: string | undefined;
function bare(): string {
  if (bareTar) return bareTar;
  const tree = path.join(k.root, '..', `bare-${process.pid}`);
  mkdirSync(tree, { recursive: true });
  copyFileSync('/bin/busybox', path.join(tree, 'busybox'));
  execFileSync('tar', ['--numeric-owner', '-C', tree, '-cf', `${tree}.tar`, '.']);
  return (bareTar = `${tree}.tar`);
}

describe('run in an image without /etc', () => {
  it('gets the host\'s resolv.conf and hosts and its own hostname, and the step leaves no /etc behind', () => {
    const c = k.ok(['from', '--name', 'noetc', `tarball:${bare()}`]);
    const r = k.cairn(['run', c, '--', '/busybox', 'cat', '/etc/resolv.conf', '/etc/hosts', '/etc/hostname']);
    const host = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(host('/etc/resolv.conf') + host('/etc/hosts') + 'noetc\n');
    expect(k.ok(['diff', c])).toBe('');
  });
});

describe('run steps', () => {
  it('a command that is not there exits 127, one that is not executable 126, each said in one line', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    const missing = k.cairn(['run', c, '/no/such']);
    expect([missing.status, missing.stderr]).toEqual([127, 'cairn run: command not found in the container: /no/such\n']);
    const plain = k.cairn(['run', c, '/etc/passwd']);
    expect([plain.status, plain.stderr]).toEqual([126, 'cairn run: /etc/passwd is not an executable file in the container\n']);
  });

  it('a failed run is not in the image history; what it changed stays pending', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    expect(k.cairn(['run', c, 'sh', '-c', 'echo x > /failed-step; exit 3']).status).toBe(3);
    expect(k.ok(['run', c, 'touch', '/good-step'])).toBe('');
    expect(k.ok(['diff', c]).split('\n').sort()).toEqual(['A /failed-step', 'A /good-step']);
    k.ok(['commit', c, 'localhost/history-test']);
    const history = JSON.parse(k.ok(['inspect', 'localhost/history-test'])).config.history as { created_by?: string }[];
    const steps = history.map((h) => h.created_by ?? '').join('\n');
    expect(steps).toContain('touch /good-step');
    expect(steps).not.toContain('failed-step');
  });

  it('checkpoint with nothing pending says there is nothing to seal, seals no layer, and prints the last one', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    const before = JSON.parse(k.ok(['inspect', c]));
    const r = k.cairn(['checkpoint', c]);
    expect(r.stderr).toBe(`cairn: warning: nothing to seal: ${c} has no changes since its last checkpoint\n`);
    expect([r.status, r.stdout.trim()]).toEqual([0, before.layers.at(-1)]);
    expect(JSON.parse(k.ok(['inspect', c]))).toEqual(before);
    k.ok(['run', c, 'touch', '/x']);
    const sealed = k.ok(['checkpoint', c]);
    // Run again (as after a kill that had sealed it): the same boundary, no new layer.
    expect(k.ok(['checkpoint', c])).toBe(sealed);
    expect(JSON.parse(k.ok(['inspect', c])).checkpoints).toHaveLength(1);
  });
});

describe('build scripts', () => {
  const names = (): string[] => JSON.parse(k.ok(['containers', '--json'])).map((c: { name: string }) => c.name);
  const script = (name: string, body: string): string => {
    const f = path.join(k.root, '..', `${name}-${process.pid}.build.mjs`);
    writeFileSync(f, body);
    return f;
  };

  it('a missing script: exit 125 and a hint', () => {
    const r = k.cairn(['build', 'no-such.build.mjs']);
    expect(oneLine(r, 'build')).toBe('cairn build: build script no-such.build.mjs does not exist');
  });

  it('a failing step names the script\'s line; its containers are kept and listed, set aside by the next run, removed by a successful one or --rm', () => {
    const body = (fail: boolean) => `import { from } from 'cairn';\nconst c = await from(${JSON.stringify(`tarball:${tinyRootfsTar()}`)}, { name: 'scripted' });\n\nawait c.run\`exit ${fail ? 4 : 0}\`;\nawait c.remove();\n`;
    const f = script('failing', body(true));
    const kept = (r: { stderr: string }) => r.stderr.trimEnd().split('\n').slice(-2);
    const r = k.cairn(['build', f]);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe(`cairn build: ${f}:4: command exited 4: /bin/sh -c exit 4`);
    expect(kept(r)).toEqual([
      'cairn build: kept the containers the script made, to look into: scripted',
      `  hint: \`cairn run NAME sh\` or \`cairn diff NAME\` to look; the next successful run of ${f} removes them, --rm removes them at once`,
    ]);
    expect(names()).toContain('scripted');
    // Run again: the kept container gives up its name (the script wants it again) and stays.
    expect(k.cairn(['build', f]).status).toBe(125);
    expect(names()).toEqual(expect.arrayContaining(['scripted', 'scripted-failed']));
    // --rm removes what this run made at once; what earlier runs left waits for a successful run.
    const rm = k.cairn(['build', '--rm', f]);
    expect(rm.stderr.trimEnd().split('\n').at(-1)).toBe('cairn build: removed the containers the script made (scripted)');
    expect(names()).toEqual(expect.arrayContaining(['scripted-failed', 'scripted-failed-2']));
    expect(names()).not.toContain('scripted');
    writeFileSync(f, body(false));
    const ok = k.cairn(['build', f]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toBe('cairn build: removed the containers an earlier failed run left (scripted-failed, scripted-failed-2)\n');
    expect(names().filter((n) => n.startsWith('scripted'))).toEqual([]);
  });

  it('a template run in an image without /bin/sh says so', () => {
    const f = script('nosh', `import { from } from 'cairn';\nconst c = await from(${JSON.stringify(`tarball:${bare()}`)});\nawait c.run\`true\`;\n`);
    const r = k.cairn(['build', f]);
    expect(r.stderr.split('\n')[0]).toBe(`cairn build: ${f}:3: the container has no /bin/sh, which a template run needs (exit 127)`);
  });

  it('a syntax error and a thrown error show the line and a caret, as node does (exit 1)', () => {
    const syn = k.cairn(['build', script('syntax', 'const x = (1;\n')]);
    expect(syn.status).toBe(1);
    const s = syn.stderr.split('\n');
    expect(s[0]).toMatch(/^cairn build: \/.*syntax-\d+\.build\.mjs:1: SyntaxError: /);
    expect(s[1]).toBe('  const x = (1;');
    expect(s[2]).toMatch(/^ +\^+$/);
    const thrown = k.cairn(['build', script('thrown', '\nnotDefined();\n')]);
    expect(thrown.status).toBe(1);
    expect(thrown.stderr.split('\n').slice(0, 3)).toEqual([expect.stringMatching(/thrown-\d+\.build\.mjs:2: ReferenceError: notDefined is not defined$/), '  notDefined();', '  ^']);
  });
});

describe('rootless warnings', () => {
  it.skipIf(process.getuid?.() === 0)('device nodes a normal user cannot make are named as the image has them, not by a temporary path', async () => {
    const pack = tarStream.pack();
    pack.entry({ name: 'dev/', type: 'directory', mode: 0o755 });
    pack.entry({ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 });
    pack.entry({ name: 'etc/hostname', mode: 0o644 }, 'nodes\n');
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const c of pack) chunks.push(c as Buffer);
    const tar = path.join(k.root, '..', `nodes-${process.pid}.tar`);
    writeFileSync(tar, Buffer.concat(chunks));
    const r = k.cairn(['from', `tarball:${tar}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 device node\(s\) or FIFO\(s\) of the layer not created \(\/dev\/null\)/);
    expect(r.stderr).not.toContain(k.root);
  });
});

describe('finding one\'s way', () => {
  it('cairn alone and `help` print the usage and succeed; `help VERB` is VERB --help; `version`', () => {
    for (const args of [[], ['help']]) {
      const r = k.cairn(args);
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toMatch(/^Usage: cairn /);
    }
    expect(k.ok(['help', 'commit'])).toBe(k.ok(['commit', '--help']));
    expect(k.ok(['version'])).toMatch(/^cairn version \d+\.\d+\.\d+$/);
  });

  it('a mistyped verb gets a did-you-mean', () => {
    const r = k.cairn(['comit']);
    expect(r.status).toBe(125);
    expect(r.stderr.split('\n')[0]).toBe('cairn: unknown verb comit: did you mean `commit`?');
    expect(k.cairn(['frobnicate']).stderr.split('\n')[0]).toBe('cairn: unknown verb frobnicate');
  });

  it('inspect --type image names what is missing; no flag or transport is advertised before it exists', () => {
    expect(oneLine(k.cairn(['inspect', '--type', 'image', 'nosuch']), 'inspect')).toBe('cairn inspect: image nosuch not found');
    // Registry signing exists now: push offers its flags, and refuses them for a destination that cannot carry them.
    expect(k.ok(['push', '--help'])).toMatch(/--sign-by FINGERPRINT/);
    const refused = k.cairn(['push', '--sign', 'localhost/none:1', `oci:${path.join(k.root, '..', `lay-${process.pid}`)}`]);
    expect(refused.status).toBe(125);
    expect(refused.stderr).toMatch(/^cairn push: --sign, .* apply to docker:\/\/ destinations only\n/);
    expect(k.cairn(['from', 'Bad Ref']).stderr).not.toContain('docker://');
  });

  it('images shows when an image was made (its config), not when it entered the store', () => {
    const c = k.ok(['from', `tarball:${smallRootfsTar()}`]);
    k.ok(['commit', c, 'localhost/epoch0'], { env: { SOURCE_DATE_EPOCH: '0' } });
    const row = k.ok(['images']).split('\n').find((l) => l.startsWith('localhost/epoch0 '));
    expect(row).toMatch(/ 1970-01-01 00:00:00$/);
    const json = JSON.parse(k.ok(['images', '--json'])).find((i: { names: string[] }) => i.names.includes('localhost/epoch0:latest'));
    expect(json.created).toBe('1970-01-01T00:00:00Z');
  });
});

describe('verify and exec leave nothing behind', () => {
  it('verify creates no key and no directory, even where nothing can be written', () => {
    const cfg = path.join(k.root, '..', `cfg-${process.pid}`);
    const r = k.cairn(['verify', tinyRootfsTar()], { env: { XDG_CONFIG_HOME: cfg } });
    expect(r.stderr.split('\n')[0]).toMatch(/^cairn verify: .*: unsigned$/);
    expect(existsSync(cfg)).toBe(false);
    const proc = k.cairn(['verify', tinyRootfsTar()], { env: { XDG_CONFIG_HOME: '/proc/cairn-cfg' }, timeout: 30_000 });
    expect(oneLine(proc, 'verify')).toMatch(/unsigned$/);
  });

  it.skipIf(process.getuid?.() === 0)('as a normal user, verify starts no namespace, and exec does not keep the one it started', () => {
    const rt = mkdtempSync(path.join(os.tmpdir(), 'cairn-rt-'));
    const cfg = path.join(rt, 'cfg');
    const env = { XDG_RUNTIME_DIR: rt, XDG_CONFIG_HOME: cfg };
    const pauseFile = path.join(rt, `cairn-${process.getuid!()}`, 'pause.pid');
    const pauseAlive = (): boolean => {
      if (!existsSync(pauseFile)) return false;
      const pid = readFileSync(pauseFile, 'utf8').split(' ')[0];
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    };
    expect(k.cairn(['verify', tinyRootfsTar()], { env }).status).toBe(125);
    expect(pauseAlive()).toBe(false);
    const c = k.ok(['from', `tarball:${bare()}`], { env });
    const flat = path.join(rt, 'bare.tar.gz');
    k.ok(['export', c, flat], { env });
    k.ok(['rm', c], { env });
    const pid = readFileSync(pauseFile, 'utf8').split(' ')[0];
    process.kill(Number(pid));
    // Gone before exec looks for it (a pause process still dying would be joined, and vanish under nsenter).
    const tick = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; i < 500 && pauseAlive(); i++) Atomics.wait(tick, 0, 0, 10);
    expect(pauseAlive()).toBe(false);
    expect(readdirSync(cfg)).toContain('cairn');
    const r = k.cairn(['exec', flat, '--', '/busybox', 'echo', 'served'], { env });
    expect([r.status, r.stdout]).toEqual([0, 'served\n']);
    expect(pauseAlive()).toBe(false);
  });
});

describe('files for automation', () => {
  it('commit --iidfile, push --digestfile and build --iidfile write what buildah\'s do', () => {
    const dir = path.join(k.root, '..', `auto-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const c = k.ok(['from', `tarball:${smallRootfsTar()}`]);
    const id = k.ok(['commit', '--iidfile', path.join(dir, 'iid'), c, 'localhost/auto']);
    expect(readFileSync(path.join(dir, 'iid'), 'utf8')).toBe(`sha256:${id}`);
    k.ok(['push', '--digestfile', path.join(dir, 'digest'), 'localhost/auto', `oci:${dir}/layout:v1`]);
    const index = JSON.parse(readFileSync(path.join(dir, 'layout', 'index.json'), 'utf8'));
    expect(readFileSync(path.join(dir, 'digest'), 'utf8')).toBe(index.manifests[0].digest);
    const f = path.join(dir, 'two.build.mjs');
    writeFileSync(f, `import { from } from 'cairn';\nconst c = await from(${JSON.stringify(`tarball:${smallRootfsTar()}`)});\nawait c.commit('localhost/first');\nawait c.run\`true\`.catch(() => {});\nconsole.log((await c.commit('localhost/second')).id);\nawait c.remove();\n`);
    const last = k.ok(['build', '--iidfile', path.join(dir, 'build-iid'), f]);
    expect(readFileSync(path.join(dir, 'build-iid'), 'utf8')).toBe(`sha256:${last}`);
    expect(oneLine(k.cairn(['commit', '--iidfile', '/proc/cairn-iid', c]), 'commit')).toMatch(/^cairn commit: cannot write \/proc\/cairn-iid: /);
  });
});

describe('rename and info', () => {
  it('rename gives a container another name, frees the old one, and refuses a name in use', () => {
    const c = k.ok(['from', '--name', 'before-rename', `tarball:${tinyRootfsTar()}`]);
    k.ok(['run', c, 'touch', '/kept']);
    k.ok(['rename', c, 'after-rename']);
    expect(k.ok(['diff', 'after-rename'])).toBe('A /kept');
    expect(k.cairn(['inspect', '--type', 'container', 'before-rename']).status).toBe(125);
    expect(k.ok(['from', '--name', 'before-rename', `tarball:${smallRootfsTar()}`])).toBe('before-rename');
    expect(oneLine(k.cairn(['rename', 'after-rename', 'before-rename']), 'rename')).toBe('cairn rename: the container name before-rename is already in use');
    expect(oneLine(k.cairn(['rename', 'after-rename', 'bad name']), 'rename')).toMatch(/^cairn rename: invalid container name "bad name"/);
    expect(k.ok(['check'])).toBe('');
  });

  it('info says where the store is and how it works here, with the versions a bug report needs', () => {
    const facts = JSON.parse(k.ok(['info', '--json']));
    expect(facts.store).toMatchObject({ root: k.root, driver: expect.stringMatching(/^(overlay|copy)$/) });
    expect(facts.rootless.rootless).toBe(process.getuid?.() !== 0);
    expect(facts.host.node).toBe(process.version);
    expect(facts.tools['util-linux unshare']).toMatch(/util-linux/);
    expect(k.ok(['info'])).toMatch(/^store:\n {2}root: /);
  });
});

describe('progress of long verbs', () => {
  it('push prints its digest; each layer that takes a while gets a line on a pipe and a bar on a terminal; --quiet silences them', () => {
    const dir = path.join(k.root, '..', `progress-${process.pid}`);
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    k.ok(['commit', '--rm', c, 'localhost/progress']);
    // Every item counts as long here (CAIRN_PROGRESS_AFTER=0); by default a quick push prints nothing more.
    const now = { CAIRN_PROGRESS_AFTER: '0' };
    const piped = k.cairn(['push', 'localhost/progress', `oci:${dir}/a:x`], { env: now });
    expect(piped.status).toBe(0);
    expect(piped.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(piped.stderr).toMatch(/^sha256:[0-9a-f]{12}: [\d.]+ [KM]?B in [\d.]+s \([\d.]+ [KM]?B\/s\)$/m);
    expect(k.cairn(['push', '--quiet', 'localhost/progress', `oci:${dir}/b:x`], { env: now }).stderr).toBe('');
    expect(k.cairn(['push', 'localhost/progress', `oci:${dir}/c:x`]).stderr).toBe('');
    const cmd = ['env', 'CAIRN_PROGRESS_AFTER=0', CAIRN, '--root', k.root, 'push', 'localhost/progress', `oci:${dir}/d:x`].join(' ');
    const tty = spawnSync('script', ['-qfec', cmd, '/dev/null'], { encoding: 'utf8' });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/sha256:[0-9a-f]{12}: [\d.]+ [KM]?B in [\d.]+s/);
  });

  it('copy reports the bytes of its file set the same way, and a seal those of its layer', () => {
    const c = k.ok(['from', `tarball:${smallRootfsTar()}`]);
    const src = path.join(k.root, '..', `files-${process.pid}`);
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'a'), Buffer.alloc(3000, 1));
    writeFileSync(path.join(src, 'b'), Buffer.alloc(2000, 2));
    const r = k.cairn(['copy', c, src, '/files'], { env: { CAIRN_PROGRESS_AFTER: '0' } });
    expect(r.stderr).toMatch(/^copy → \/files: 4\.9 KB in [\d.]+s \([\d.]+ [KM]?B\/s\)\n$/);
    // Sealing the layer, by checkpoint or by commit, reports the bytes of its tar.
    const sealed = k.cairn(['checkpoint', c], { env: { CAIRN_PROGRESS_AFTER: '0' } });
    expect(sealed.stderr).toMatch(new RegExp(`^layer of ${c}: [\\d.]+ KB in [\\d.]+s \\([\\d.]+ [KM]?B/s\\)\\n$`));
  });
});
