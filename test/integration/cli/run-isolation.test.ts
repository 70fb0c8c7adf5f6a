import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

let k: CliKit;
beforeAll(() => {
  k = cliKit();
});
afterAll(() => k.cleanup());

// Hostile tarballs (every class, from every source, each with one expected outcome) are the corpus's:
// test/integration/trust/corpus.test.ts. This file keeps what a run step may reach.

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
