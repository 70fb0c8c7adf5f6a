import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveInRoot } from '../../../dsl/index.js';
import { completeLine, listInRoot, type CompletionSource } from '../../../shell/complete.js';
import { VERBS } from './verbs.js';

/* Tab completion (shell/complete.ts): verbs, flags, names, and paths inside the container's tree only. */

let root: string;
let outside: string;
let src: CompletionSource;

beforeAll(() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-complete-'));
  root = path.join(dir, 'root');
  outside = path.join(dir, 'outside');
  for (const d of ['etc/apt', 'usr/lib', 'home/user', 'my dir']) mkdirSync(path.join(root, d), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret'), 'x');
  for (const f of ['etc/hosts', 'etc/hostname', 'etc/.hidden', 'usr/lib/libc.so']) writeFileSync(path.join(root, f), '');
  symlinkSync('/usr/lib', path.join(root, 'lib'));
  // Outside the container: as the container sees them, these point into its own tree.
  symlinkSync(outside, path.join(root, 'abs-out'));
  symlinkSync('../../../outside', path.join(root, 'etc/rel-out'));
  src = {
    verbNames: Object.keys(VERBS.verbs),
    spec: async (v) => (await VERBS.verbs[v]()).spec,
    containers: async () => ['web', 'work'],
    images: async () => ['localhost/web:1', 'localhost/base:latest'],
    listDir: (d) => listInRoot(root, d),
  };
});

afterAll(() => rmSync(path.dirname(root), { recursive: true, force: true }));

const complete = (line: string, cursor = line.length) => completeLine(line, cursor, src);

describe('completeLine', () => {
  it.each<[string, string[]]>([
    ['co', ['commit', 'config', 'containers', 'copy', 'copy-image']],
    ['la', ['layers']],
    ['ch', ['check', 'checkpoint']],
    ['ex', ['exit', 'export']],
  ])('verbs: %j', async (line, want) => {
    expect(await complete(line)).toEqual({ start: 0, candidates: want });
  });

  it('offers neither the verbs the shell does not run nor rm', async () => {
    const { candidates } = await complete('');
    expect(candidates).toContain('from');
    expect(candidates).toContain('save');
    for (const v of ['exec', 'build', 'unshare', 'rm', 'shell']) expect(candidates).not.toContain(v);
  });

  it.each<[string, string[]]>([
    ['copy --ch', ['--chmod', '--chown']],
    ['copy --w', ['--with-deps']],
    ['run -', ['--env', '--help', '--isolation', '--net', '--network', '--pid', '--quiet', '--secret', '--terminal', '--tmpfs', '--user', '--volume', '--workingdir', '-e', '-h', '-q', '-t', '-v'].sort()],
    ['commit --s', ['--squash']],
  ])('flags: %j', async (line, want) => {
    const r = await complete(line);
    expect(r.candidates).toEqual(want);
    expect(r.start).toBe(line.lastIndexOf(' ') + 1);
  });

  it.each<[string, string[]]>([
    ['use w', ['web', 'work']],
    ['from localhost/w', ['localhost/web:1']],
    ['from sc', ['scratch']],
    ['copy --from w', ['web', 'work']],
    ['inspect localhost/b', ['localhost/base:latest']],
    ['help chec', ['check', 'checkpoint']],
  ])('names: %j', async (line, want) => {
    expect((await complete(line)).candidates).toEqual(want);
  });

  it.each<[string, string[]]>([
    ['ls /etc/ho', ['/etc/hostname', '/etc/hosts']],
    ['ls /etc/', ['/etc/apt/', '/etc/hostname', '/etc/hosts', '/etc/rel-out']],
    ['ls /etc/.h', ['/etc/.hidden']],
    ['run cat /li', ['/lib/']],
    ['run --user 1000 cat /lib/', ['/lib/libc.so']],
    ['cat /x | ls /us', ['/usr/']],
    ['ls /my', ['/my\\ dir/']],
    ['config --workingdir /ho', ['/home/']],
  ])('paths in the container: %j', async (line, want) => {
    expect((await complete(line)).candidates).toEqual(want);
  });

  it('completes in the middle of a line', async () => {
    expect(await complete('ls /etc/ho /usr', 10)).toEqual({ start: 3, candidates: ['/etc/hostname', '/etc/hosts'] });
  });

  it('never lists a host directory outside the container: symlinks and .. resolve inside it', async () => {
    // Both name paths the container does not have (its /tmp/…/outside, its /outside).
    // (the engine's one in-root resolver, which completion uses)
    expect(await resolveInRoot(root, '/abs-out/', { follow: true })).toBe(path.join(root, outside));
    expect(await resolveInRoot(root, '/etc/rel-out', { follow: true })).toBe(path.join(root, 'outside'));
    expect(await resolveInRoot(root, '/lib', { follow: true })).toBe(path.join(root, 'usr/lib'));
    expect(await resolveInRoot(root, '/../../..', { follow: true })).toBe(root);
    expect((await complete('ls /abs-out/')).candidates).toEqual([]);
    expect((await complete('ls /etc/rel-out/')).candidates).toEqual([]);
    expect((await complete('ls /../../')).candidates).toEqual((await complete('ls /')).candidates.map((c) => `/../..${c}`));
  });
});
