import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

// The plain runner of `cairn shell` (shell/script.ts) through the real binary: FILE.cairn, a shebang script,
// piped lines; plain output, and the first failing line's FILE:LINE and status.

let k: CliKit;
let tiny: string;
let dir: string;
beforeAll(() => {
  k = cliKit('cairn-shell-script-');
  tiny = tinyRootfsTar();
  dir = mkdtempSync(path.join(k.root, 'scripts-'));
});
afterAll(() => k?.cleanup());

const file = (name: string, lines: string[]): string => {
  const f = path.join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
};

describe('cairn shell FILE.cairn', () => {
  it('runs every line: from, run, copy, config, checkpoint, commit; comments and blank lines skipped', () => {
    const host = path.join(dir, 'app.txt');
    writeFileSync(host, 'app\n');
    const f = file('build.cairn', [
      '#!/usr/bin/env -S cairn shell',
      `from tarball:${tiny}`,
      '',
      '# a run that writes a 1000-byte file, as a bare command with operators',
      'head -c 1000 /bin/sh > /blob && echo wrote',
      `copy ${host} /srv/`,
      `config --env GREETING=hi --cmd '["cat","/srv/app.txt"]'   # the image's command`,
      'checkpoint the app',
      'commit localhost/script:1',
    ]);
    const r = k.cairn(['shell', f]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout.split('\n');
    expect(out[0]).toMatch(/^tiny-working-container/);
    expect(out).toContain('wrote');
    expect(out).toContain('changed: 1 path, 1000 bytes (1 A)');
    expect(out).toContainEqual(expect.stringMatching(/^changed: \d+ paths?, 4 bytes/));
    expect(out.at(-2)).toMatch(/^[0-9a-f]{64}$/);
    const img = JSON.parse(k.ok(['inspect', 'localhost/script:1'])) as { config: { config: { Env: string[]; Cmd: string[] }; rootfs: { diff_ids: string[] } } };
    expect(img.config.config.Env).toContain('GREETING=hi');
    expect(img.config.config.Cmd).toEqual(['cat', '/srv/app.txt']);
    expect(img.config.rootfs.diff_ids).toHaveLength(2);
  });

  it('stops at the first failing line with FILE:LINE and that line\'s status', () => {
    const f = file('fail.cairn', [`from tarball:${tiny}`, 'echo before', "sh -c 'echo oops >&2; exit 3'", 'echo never']);
    const r = k.cairn(['shell', f]);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('before\n');
    expect(r.stdout).toContain('oops\n');
    expect(r.stdout).not.toContain('never');
    expect(r.stderr).toBe(`${f}:3: exit status 3\n`);
  });

  it('a failure of cairn is status 125 with its message; an unknown verb before from says what to do', () => {
    const f = file('bad.cairn', ['# nothing yet', 'form tarball:x.tar']);
    const r = k.cairn(['shell', f]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`${f}:2: cairn form: unknown verb form: did you mean \`from\`?\n  hint: a line that is not a verb runs as a command in the container: start with \`from IMAGE\`\n`);
    const q = file('quote.cairn', ['checkpoint "unfinished']);
    expect(k.cairn(['shell', q])).toMatchObject({ status: 125, stderr: expect.stringContaining(`${q}:1: cairn checkpoint: unbalanced quotes: the double quote at column 12 is never closed`) });
  });

  it('runs piped lines without a terminal, and a shebang script', () => {
    const r = k.cairn(['shell'], { input: `from tarball:${tiny}\nrun cat /etc/passwd | head -1\ncopy /nonexistent-${process.pid} /x\necho never\n` });
    expect(r.stdout).toContain('root:x:0:0:root:/root:/bin/sh\n');
    expect(r.stdout).not.toContain('never');
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^stdin:3: cairn copy: .*nonexistent/);
    const s = file('script', ['#!/usr/bin/env -S cairn shell', 'help exit', 'exit 7', 'echo never']);
    chmodSync(s, 0o755);
    const bin = path.resolve(__dirname, '../../../bin');
    const direct = spawnScript(s, { PATH: `${bin}:${process.env.PATH}`, CAIRN_ROOT: k.root });
    expect(direct.status).toBe(7);
    expect(direct.stdout).toBe('Usage: exit [N]\n\nLeave the shell (a script: stop, with status N).\n');
  });
});

/** Runs an executable script as a user would (its shebang line picks `cairn shell`). */
function spawnScript(f: string, env: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(f, [], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}
