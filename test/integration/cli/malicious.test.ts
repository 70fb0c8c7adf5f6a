import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tarOf, type FixEntry } from '../../kit/tarfix.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

let k: CliKit;
let work: string;
beforeAll(() => {
  k = cliKit();
  work = mkdtempSync(path.join(os.tmpdir(), 'cairn-evil-'));
});
afterAll(() => k.cleanup());

const canary = path.join(os.tmpdir(), `cairn-canary-${process.pid}`);

// Each archive tries to write `canary` (a host path outside the store) or /etc/cairn-evil.
const cases: [string, FixEntry[]][] = [
  ['dot-dot names', [{ name: `../../../../../../..${canary}`, content: 'x' }]],
  ['absolute names', [{ name: canary, content: 'x' }, { name: '/etc/cairn-evil', content: 'x' }]],
  ['a symlinked parent', [{ name: 'evil', type: 'symlink', linkname: path.dirname(canary) }, { name: `evil/${path.basename(canary)}`, content: 'x' }]],
  ['a relative symlink escape', [{ name: 'up', type: 'symlink', linkname: '../../../../../../../..' }, { name: `up${canary}`, content: 'x' }]],
  ['a hardlink to a host file', [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }]],
  ['a hardlink escaping upwards', [{ name: 'pw', type: 'link', linkname: '../../../../../../etc/passwd' }]],
];

describe.each(['overlay', 'vfs'])('malicious tarballs with the %s driver', (driver) => {
  it.each(cases)('%s: stays inside the root and leaves the host and the store as they were', async (_name, entries) => {
    const file = path.join(work, `${driver}-${_name.replace(/\W+/g, '-')}.tar`);
    writeFileSync(file, await tarOf(entries));
    const passwd = readFileSync('/etc/passwd');
    const before = k.ok(['images', '--json']);
    const r = k.cairn(['from', `tarball:${file}`], { env: { STORAGE_DRIVER: driver } });
    expect(existsSync(canary)).toBe(false);
    expect(existsSync('/etc/cairn-evil')).toBe(false);
    expect(readFileSync('/etc/passwd')).toEqual(passwd);
    if (r.status !== 0) {
      expect(r.status).toBe(125);
      expect(r.stderr.split('\n')[0]).toMatch(/^cairn from: /);
      expect(k.ok(['images', '--json'])).toBe(before);
    } else {
      const c = r.stdout.trim();
      const root = k.ok(['mount', c]);
      const inside = execFileSync('sh', ['-c', `cd ${root} && find . -xdev | sort`], { encoding: 'utf8' });
      expect(inside).not.toMatch(/passwd\n/);
      k.ok(['rm', c]);
    }
  });
});

describe('run isolation', () => {
  it('gives a fresh /proc, a minimal /dev, the host resolv.conf, and no network with --network none', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    expect(k.ok(['run', c, 'sh', '-c', 'echo $PPID; ls /dev | head -c 2000; cat /etc/resolv.conf'])).toBe(
      ['1', 'core', 'fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'].join('\n') + '\n' + readFileSync('/etc/resolv.conf', 'utf8').trimEnd(),
    );
    expect(k.ok(['run', '--network', 'none', c, 'ls', '/sys/class/net'])).toBe('lo');
    expect(k.ok(['run', c, 'ls', '/sys/class/net']).split('\n').length).toBeGreaterThan(1);
    expect(k.cairn(['run', c, 'sh', '-c', 'echo x > /etc/resolv.conf']).status).not.toBe(0);
    expect(k.ok(['diff', c])).toBe('');
  });
});
