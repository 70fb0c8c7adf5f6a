import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * Build scripts as users run them: `cairn build FILE ARG…`, a `#!/usr/bin/env cairn` script run directly, and
 * `import … from 'cairn'` from a checkout, a global install or a project's dependency; and the errors a
 * script's mistakes give, each at the script's line.
 */

const REPO = path.resolve(__dirname, '../../..');
let k: CliKit;
let dir: string;
beforeAll(() => {
  k = cliKit();
  dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-scripts-'));
});
afterAll(() => k.cleanup());

/** Writes a script into the scratch dir; returns its path. */
function script(name: string, body: string, where = dir): string {
  const f = path.join(where, name);
  writeFileSync(f, body);
  return f;
}

const ARGS_SCRIPT = `import { argv, from } from 'cairn';
const c = await from(${JSON.stringify(`tarball:${tinyRootfsTar()}`)});
const r = await c.run\`printf '%s,' \${[...argv._, ...(argv.tag ? [argv.tag] : [])]}\`.quiet();
await c.remove();
console.log(r.stdout);
`;

describe('running scripts', () => {
  it('cairn build passes the arguments after FILE, parsed as zx parses them (argv), and process.argv too', () => {
    const f = script('args.build.mjs', ARGS_SCRIPT.replace('console.log(r.stdout);', 'console.log(r.stdout, process.argv.slice(2).join(" "));'));
    const r = k.cairn(['build', f, 'one', 'two words', '--tag', 'v1']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('one,two words,v1, one two words --tag v1\n');
  });

  it('a #!/usr/bin/env cairn script runs directly, with its arguments', () => {
    const f = script('direct.build.mjs', `#!/usr/bin/env cairn\n${ARGS_SCRIPT}`);
    chmodSync(f, 0o755);
    const r = spawnSync(f, ['x', '--tag=latest'], { encoding: 'utf8', env: { ...process.env, PATH: `${path.dirname(CAIRN)}:${process.env.PATH}`, CAIRN_ROOT: k.root } });
    expect(r.stderr).toBe('');
    expect([r.status, r.stdout]).toEqual([0, 'x,latest,\n']);
    // The same as `cairn FILE`.
    expect(k.ok([f, 'y'])).toBe('y,');
  });

  it('`cairn FILE.cairn` runs a shell script, as `cairn shell FILE.cairn` does', () => {
    const f = script('lines.cairn', `from --name cairn-lines ${`tarball:${tinyRootfsTar()}`}\nrun echo from-a-cairn-script\n`);
    const r = k.cairn([f]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('from-a-cairn-script');
    k.ok(['rm', 'cairn-lines']);
  });

  it("resolves `import from 'cairn'` when cairn is installed globally (npm's prefix layout) and the script has no node_modules", () => {
    const prefix = mkdtempSync(path.join(os.tmpdir(), 'cairn-prefix-'));
    mkdirSync(path.join(prefix, 'lib', 'node_modules'), { recursive: true });
    mkdirSync(path.join(prefix, 'bin'));
    symlinkSync(REPO, path.join(prefix, 'lib', 'node_modules', 'cairn'));
    symlinkSync('../lib/node_modules/cairn/bin/cairn', path.join(prefix, 'bin', 'cairn'));
    const f = script('global.build.mjs', ARGS_SCRIPT);
    const r = spawnSync(path.join(prefix, 'bin', 'cairn'), ['--root', k.root, 'build', f, 'g'], { encoding: 'utf8' });
    expect([r.status, r.stderr, r.stdout]).toEqual([0, '', 'g,\n']);
  });

  it("resolves `import from 'cairn'` as a project's dependency, with plain node too", () => {
    const project = mkdtempSync(path.join(os.tmpdir(), 'cairn-project-'));
    mkdirSync(path.join(project, 'node_modules'));
    symlinkSync(REPO, path.join(project, 'node_modules', 'cairn'));
    writeFileSync(path.join(project, 'package.json'), '{ "type": "module", "dependencies": { "cairn": "*" } }\n');
    const probe = script('probe.mjs', "import { from, argv, RunOutput, $ } from 'cairn';\nconsole.log(typeof from, typeof $, new RunOutput(0, 'a\\nb\\n', '').lines().length, argv._.join('+'));\n", project);
    const plain = spawnSync(process.execPath, [probe, 'p', 'q'], { encoding: 'utf8', cwd: project });
    expect([plain.status, plain.stderr, plain.stdout]).toEqual([0, '', 'function function 2 p+q\n']);
    const f = script('dep.build.mjs', ARGS_SCRIPT, project);
    expect(k.ok(['build', f, 'd'], { cwd: project })).toBe('d,');
  });
});

describe("a script's mistakes, each at its line", () => {
  /** The first lines of stderr of a failed build, and its status. */
  const fails = (body: string, status: number): string[] => {
    const f = script(`bad-${Math.random().toString(36).slice(2)}.build.mjs`, body);
    const r = k.cairn(['build', '--rm', f]);
    expect(r.status, r.stderr).toBe(status);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    return r.stderr.replaceAll(f, 'FILE').split('\n');
  };
  const tiny = JSON.stringify(`tarball:${tinyRootfsTar()}`);

  it('an import of a name the library does not export: the line, carets and the closest name', () => {
    expect(fails("import { form } from 'cairn';\n", 1).slice(0, 4)).toEqual([
      "cairn build: FILE:1: SyntaxError: The requested module 'cairn' does not provide an export named 'form'",
      "  import { form } from 'cairn';",
      '           ^^^^',
      "  hint: did you mean `from`? the library's exports are listed in docs/api",
    ]);
  });

  it('a run interpolating undefined or an object', () => {
    expect(fails(`import { from } from 'cairn';\nconst c = await from(${tiny});\nconst pkg = {};\nawait c.run\`apt-get install \${pkg.name}\`;\n`, 125)[0]).toBe(
      'cairn build: FILE:4: run: the value interpolated after `apt-get install ` is undefined',
    );
    expect(fails(`import { from } from 'cairn';\nconst c = await from(${tiny});\n\nawait c.run\`echo \${{ a: 1 }}\`;\n`, 125)[0]).toBe(
      'cairn build: FILE:4: run: the value interpolated after `echo ` is an object',
    );
  });

  it('a copy from a container that was removed', () => {
    const lines = fails(`import { from } from 'cairn';\nconst c = await from('scratch');\nconst old = await from('scratch', { name: 'old-one' });\nawait old.remove();\nawait c.copy('/a', '/b', { from: old });\n`, 125);
    expect(lines[0]).toMatch(/^cairn build: FILE:5: container old-one \([0-9a-f]{12}\) was removed$/);
  });

  it('a wrong option type or name', () => {
    expect(fails(`import { from } from 'cairn';\nconst c = await from('scratch');\nawait c.config({ cmd: 5 });\n`, 125)[0]).toBe(
      "cairn build: FILE:3: config: option 'cmd' must be a string or an array of strings, not a number",
    );
    expect(fails(`import { from } from 'cairn';\nconst c = await from(${tiny});\n\nawait c.run(['ls'], { workDir: '/' });\n`, 125).slice(0, 2)).toEqual([
      "cairn build: FILE:4: run: unknown option 'workDir'",
      expect.stringMatching(/^ {2}hint: did you mean 'workdir'\? run takes \{ env, workdir, /),
    ]);
  });

  it('a step that fails after a chain names the line of the call', () => {
    expect(fails(`import { from } from 'cairn';\nconst c = await from(${tiny});\nconst quiet = c.run\`exit 7\`.quiet();\n\nawait quiet;\n`, 125)[0]).toBe('cairn build: FILE:3: command exited 7: /bin/sh -c exit 7');
  });
});
