import { realpathSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, from, interruptSteps, whenInterrupted, type CairnEvent, type Container, type LayerView, type PendingEntry } from '../../../dsl/index.js';
import { IN_PROCESS } from '../../kit/api.js';
import { withEnv } from '../../kit/env.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * What `cairn shell` needs of the engine, on real containers in-process: Container.pending() (the same entries on
 * both storage drivers, stamps that move only when an entry does), Container.layers() (the dive view of a base
 * image, a checkpoint and pending changes) and interruptSteps() (a running step ends, the process and the
 * container go on).
 */

const DRIVERS = ['overlay', 'vfs'] as const;

/** The size of a host program (the tiny image's programs are copies of the host's). */
const hostSize = (p: string): number => statSync(realpathSync(p)).size;
const SLEEP = hostSize('/usr/bin/sleep');
/** The tiny image's /etc/passwd and /etc/group (test/kit/tiny.ts). */
const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n'.length;
const GROUP = 'root:x:0:\nuser:x:1000:\n'.length;

describe.runIf(IN_PROCESS)('the shell engine', () => {
  let k: CliKit;
  let tiny: string;
  const make = (driver: string): Promise<Container> => withEnv({ STORAGE_DRIVER: driver }, () => from(`tarball:${tiny}`, { root: k.root }));
  const sh = (c: Container, script: string) => c.run(['sh', '-c', script]);
  beforeAll(() => {
    k = cliKit('cairn-shell-engine-');
    tiny = tinyRootfsTar();
  });
  afterAll(() => k.cleanup());

  it('pending() gives the same entries, with sizes, on both drivers; stamps move only with their entry', async () => {
    const script = [
      'head -c 1000 /bin/sh > /new', 'mkdir -p /opt/a', 'echo hello > /opt/a/f', 'rm /bin/sleep', 'echo extra >> /etc/passwd',
      'ln -s /new /lnk', 'rm -rf /home/user', 'mkdir /empty',
    ].join(' && ');
    const got: Record<string, PendingEntry[]> = {};
    for (const driver of DRIVERS) {
      const c = await make(driver);
      expect(await c.pending()).toEqual([]);
      await sh(c, script);
      const p = await c.pending();
      got[driver] = p;
      // Nothing changed since: the same stamps.
      expect(await c.pending()).toEqual(p);
      // The same size, another content and time: only that entry's stamp moves.
      await sh(c, 'echo HELLO > /opt/a/f && touch -d @1000000 /opt/a/f');
      const q = await c.pending();
      const moved = q.filter((e, i) => e.stamp !== p[i].stamp).map((e) => e.path);
      expect(moved).toEqual(['/opt/a/f']);
      expect(q.find((e) => e.path === '/opt/a/f')!.size).toBe(6);
      await c.remove();
    }
    const strip = (es: PendingEntry[]) => es.map(({ kind, path, size }) => ({ kind, path, size }));
    expect(strip(got.overlay)).toEqual(strip(got.vfs));
    expect(strip(got.vfs)).toEqual(expect.arrayContaining([
      { kind: 'A', path: '/new', size: 1000 }, { kind: 'A', path: '/opt', size: 0 }, { kind: 'A', path: '/opt/a/f', size: 6 },
      { kind: 'D', path: '/bin/sleep', size: 0 }, { kind: 'C', path: '/etc/passwd', size: PASSWD + 6 },
      { kind: 'A', path: '/lnk', size: 0 }, { kind: 'D', path: '/home/user', size: 0 }, { kind: 'A', path: '/empty', size: 0 },
    ]));
    expect(got.vfs.every((e) => e.stamp.startsWith(e.kind))).toBe(true);
  });

  describe.each(DRIVERS)('layers() (%s driver)', (driver) => {
    let views: LayerView[];
    beforeAll(async () => {
      const c = await make(driver);
      await sh(c, 'mkdir -p /var/cache/apt /opt && head -c 5000 /bin/sh > /var/cache/apt/pkgcache.bin && head -c 4000 /bin/sh > /opt/data && head -c 300 /bin/sh > /opt/gone && echo more >> /etc/group && rm /bin/sleep');
      await c.checkpoint('one');
      await sh(c, 'echo small > /opt/data && rm /opt/gone && head -c 700 /bin/sh > /new');
      views = await c.layers();
    });

    it('shows the base layer, the checkpoint and the pending changes', () => {
      expect(views.map((v) => [v.kind, v.index, v.message])).toEqual([['base', undefined, undefined], ['checkpoint', 1, 'one'], ['pending', undefined, undefined]]);
      expect(views[0].diffID).toMatch(/^sha256:/);
      expect(views[1].diffID).toMatch(/^sha256:/);
    });

    it('lists what each layer adds, changes and deletes, with sizes', () => {
      const [base, cp, pend] = views;
      expect(base.added).toContainEqual({ kind: 'A', path: '/bin/sleep', size: SLEEP });
      expect(base.changed).toEqual([]);
      expect(base.deleted).toEqual([]);
      expect(base.size).toBe(base.added.reduce((n, a) => n + a.size, 0));
      expect(cp.added).toEqual(expect.arrayContaining([
        { kind: 'A', path: '/var/cache/apt/pkgcache.bin', size: 5000 }, { kind: 'A', path: '/opt/data', size: 4000 }, { kind: 'A', path: '/opt/gone', size: 300 },
      ]));
      // Biggest first.
      expect(cp.added.map((a) => a.size)).toEqual([...cp.added.map((a) => a.size)].sort((a, b) => b - a));
      expect(cp.changed).toEqual([{ kind: 'C', path: '/etc/group', size: GROUP + 5 }]);
      expect(cp.deleted).toEqual([{ kind: 'D', path: '/bin/sleep', size: 0 }]);
      expect(cp.size).toBe(5000 + 4000 + 300 + GROUP + 5);
      expect(pend.added).toEqual([{ kind: 'A', path: '/new', size: 700 }]);
      expect(pend.changed).toEqual([{ kind: 'C', path: '/opt/data', size: 6 }]);
      expect(pend.deleted).toEqual([{ kind: 'D', path: '/opt/gone', size: 0 }]);
    });

    it('counts the bytes a later layer overwrites or deletes, and the caches left behind, with suggestions', () => {
      const [base, cp, pend] = views;
      expect(base.wasted).toEqual({ bytes: SLEEP + GROUP, paths: ['/bin/sleep', '/etc/group'] });
      expect(base.suggestions.join('\n')).toMatch(/of base layer 1 is overwritten or deleted by checkpoint 1 \(\/bin\/sleep, \/etc\/group\)/);
      expect(cp.wasted).toEqual({ bytes: 4300, paths: ['/opt/data', '/opt/gone'] });
      expect(cp.caches).toEqual([{ path: '/var/cache/apt', bytes: 5000 }]);
      expect(cp.suggestions).toContain('checkpoint 1 leaves 4.9 KB in /var/cache/apt: `rollback 0`, then delete it (apt-get clean) in the same step before `checkpoint`');
      expect(cp.suggestions.join('\n')).toMatch(/4\.2 KB of checkpoint 1 is overwritten or deleted by the pending changes \(\/opt\/data, \/opt\/gone\)/);
      expect(pend.wasted).toEqual({ bytes: 0, paths: [] });
      expect(pend.caches).toEqual([]);
      expect(base.caches).toEqual([]);
    });
  });

  it('layers() leaves out the pending changes when there are none', async () => {
    const c = await make('overlay');
    expect((await c.layers()).map((v) => v.kind)).toEqual(['base']);
    await c.remove();
  });

  it('interruptSteps() ends a running step, and the process and the container go on', async () => {
    const c = await make('overlay');
    const before = await c.pending();
    const listeners = process.listenerCount('SIGINT');
    // Nothing runs: nothing is kept for later.
    interruptSteps();
    expect((await c.run(['true'])).status).toBe(0);
    const handled: string[] = [];
    for (const handler of [undefined, (sig: string) => handled.push(sig)]) {
      if (handler) await whenInterrupted(handler);
      const started = new Promise<void>((resolve) => {
        const on = (ev: CairnEvent) => {
          if (ev.type === 'output' && ev.data.toString().includes('started')) {
            events.off('event', on);
            resolve();
          }
        };
        events.on('event', on);
      });
      const run = c.run(['sh', '-c', 'echo started; exec sleep 30'], { nothrow: true });
      await started;
      const t0 = performance.now();
      interruptSteps('SIGINT');
      const r = await run;
      // 128 + SIGINT, well before the 30 s of sleep.
      expect(r.status).toBe(130);
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(handled).toEqual(handler ? ['SIGINT'] : []);
      expect(process.listenerCount('SIGINT')).toBe(listeners);
      // The lock is released, the scaffolding gone: the next step runs, and nothing new is pending.
      expect((await c.run(['sh', '-c', 'echo ok'])).stdout).toBe('ok\n');
      expect(await c.pending()).toEqual(before);
    }
    await c.remove();
  });
});
