import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, from, image, RunError, type CairnEvent } from '../../../dsl/api.js';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

let k: CliKit;
let tiny: string;
beforeAll(() => {
  k = cliKit();
  tiny = tinyRootfsTar();
});
afterAll(() => k.cleanup());

// The library runs in-process: a normal user runs this file inside its namespace (`cairn unshare npx vitest …`).
const inProcess = process.getuid?.() === 0 || !!process.env.CAIRN_USERNS;

describe.runIf(inProcess)('library API', () => {
  it('runs a build as a program: run template, copy, config, checkpoint, diff, commit, push', async () => {
    const seen: CairnEvent[] = [];
    const listener = (e: CairnEvent) => seen.push(e);
    events.on('event', listener);
    try {
      const c = await from(`tarball:${tiny}`, { root: k.root, name: 'api' });
      const word = "it's a $test; rm -rf /";
      const r = await c.run`echo ${word} > /quoted`;
      expect(r.status).toBe(0);
      expect((await c.run(['cat', '/quoted'])).stdout).toBe(`${word}\n`);
      const host = mkdtempSync(path.join(os.tmpdir(), 'cairn-api-'));
      writeFileSync(path.join(host, 'f'), 'F');
      await c.copy(path.join(host, 'f'), '/srv/f', { chown: '1000:1000' });
      await c.config({ env: ['A=1'], entrypoint: '["/bin/cat"]', cmd: ['/srv/f'] });
      expect((await c.diff()).map((d) => `${d.kind} ${d.path}`)).toEqual(expect.arrayContaining(['A /quoted', 'A /srv/f']));
      const diffID = await c.checkpoint('api step');
      expect(diffID).toMatch(/^sha256:/);
      expect(await c.diff()).toEqual([]);
      await expect(c.run`exit 3`).rejects.toBeInstanceOf(RunError);
      expect((await c.run(['sh', '-c', 'exit 4'], { nothrow: true })).status).toBe(4);
      const img = await c.commit('localhost/api:1');
      const info = await img.inspect();
      expect(info.config.config?.Entrypoint).toEqual(['/bin/cat']);
      expect(info.config.rootfs.diff_ids.at(-1)).toBe(diffID);
      const out = path.join(host, 'layout');
      await img.push(`oci:${out}:v1`);
      const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8'));
      expect(index.manifests[0].annotations['org.opencontainers.image.ref.name']).toBe('v1');
      expect((await image('localhost/api:1', { root: k.root })).id).toBe(img.id);
      await c.remove();
    } finally {
      events.off('event', listener);
    }
    const types = new Set(seen.map((e) => e.type));
    expect(types).toEqual(new Set(['container', 'image', 'step-start', 'progress', 'output', 'step-end']));
    expect(seen.flatMap((e) => (e.type === 'container' ? [e.action] : []))).toEqual(['created', 'removed']);
    expect(seen.some((e) => e.type === 'output' && e.data.toString().includes('$test'))).toBe(true);
  });
});

describe('cairn build', () => {
  it('runs a script outside the project whose `import from "cairn"` resolves to this library', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-script-'));
    const script = path.join(dir, 'x.build.mjs');
    writeFileSync(script, `import { from, $ } from 'cairn';
const c = await from(${JSON.stringify(`tarball:${tiny}`)});
const { stdout } = await c.run(['sh', '-c', 'echo arg=' + process.argv[2]]);
await c.remove();
const host = await $\`echo host\`;
console.log('script says ' + stdout.trim() + ' ' + host.stdout.trim());
`);
    const r = k.cairn(['build', script, 'one']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('script says arg=one host');
    expect(r.status).toBe(0);
  });
});
