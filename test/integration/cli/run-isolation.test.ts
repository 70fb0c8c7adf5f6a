import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAIRN, cliKit, type CliKit } from '../../kit/cli.js';
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

  it('gives the command its stdio only: descriptors its caller had open stay outside', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    const file = openSync(path.join(k.root, '..', `fd-${process.pid}`), 'w');
    try {
      // The caller hands cairn descriptors 3 and 7 (as a build platform's control socket, or make's jobserver).
      const r = spawnSync(CAIRN, ['--root', k.root, 'run', c, 'ls', '/proc/self/fd'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', file, 'ignore', 'ignore', 'ignore', file] });
      expect(r.status, r.stderr).toBe(0);
      // 0-2, and the directory ls reads (3).
      expect(r.stdout.split(/\s+/).filter(Boolean)).toEqual(['0', '1', '2', '3']);
    } finally {
      closeSync(file);
    }
    k.ok(['rm', c]);
  });
});
