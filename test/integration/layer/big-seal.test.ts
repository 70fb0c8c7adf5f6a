import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/*
 * A layer big enough to be filled by threads (dsl/layer/tar-fill.ts), sealed by the CLI on both storage drivers:
 * the overlay driver only hashes it (digestEntries), the copying driver writes it as a blob (packEntries), and a
 * push (uncompressed: gzip is not what is checked here) packs the overlay one again. All must give the same
 * diffID, the one of the bytes pushed. And a scan that starts the threads ahead must not keep the process alive
 * when nothing claims them.
 */

const MiB = 1 << 20;
const DIST = path.resolve(__dirname, '../../../dist/dsl/layer');

/** A blob of an OCI layout. */
function blob(layout: string, digest: string): Buffer {
  return readFileSync(path.join(layout, 'blobs', ...digest.split(':')));
}

describe('a big layer sealed through the CLI', () => {
  let k: CliKit;
  let tree: string;
  beforeAll(() => {
    k = cliKit('cairn-bigseal-');
    tree = path.join(k.root, '..', `bigseal-tree-${process.pid}`);
    mkdirSync(path.join(tree, 'small'), { recursive: true });
    // 36 MiB of content (past the 32 MiB threshold): one file spanning many segments, hundreds of small ones.
    writeFileSync(path.join(tree, 'big'), randomBytes(36 * MiB + 5));
    for (let i = 0; i < 400; i++) writeFileSync(path.join(tree, 'small', `f${i}`), randomBytes((i * 131) % 7000));
  });
  afterAll(() => {
    spawnSync('rm', ['-rf', tree]);
    k.cleanup();
  });

  it('gives one diffID on both drivers, the digest of the layer pushed', () => {
    const ids: string[] = [];
    for (const driver of ['overlay', 'vfs']) {
      const env = { STORAGE_DRIVER: driver, SOURCE_DATE_EPOCH: '1700000000' };
      const c = k.ok(['from', `tarball:${tinyRootfsTar()}`], { env });
      k.ok(['copy', c, tree, '/data'], { env });
      const diffID = k.ok(['checkpoint', c], { env });
      expect(diffID).toMatch(/^sha256:[0-9a-f]{64}$/);
      k.ok(['commit', c, `localhost/bigseal-${driver}`], { env });
      const layout = path.join(k.root, '..', `bigseal-${driver}-${process.pid}`);
      k.ok(['push', '--compression-format', 'none', `localhost/bigseal-${driver}`, `oci:${layout}:x`]);
      const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8'));
      const manifest = JSON.parse(blob(layout, index.manifests[0].digest).toString());
      const config = JSON.parse(blob(layout, manifest.config.digest).toString());
      const top = manifest.layers.at(-1);
      const bytes = blob(layout, top.digest);
      // The pushed layer is the tar itself, and it hashes to the diffID the seal computed.
      expect(top.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
      expect(top.digest).toBe(diffID);
      expect('sha256:' + createHash('sha256').update(bytes).digest('hex')).toBe(diffID);
      expect(config.rootfs.diff_ids.at(-1)).toBe(diffID);
      spawnSync('rm', ['-rf', layout]);
      ids.push(diffID);
    }
    expect(ids[1]).toBe(ids[0]);
  });

  describe('in a process of its own run as a module (--input-type=module, so eval workers are modules too)', () => {
    let dir: string;
    beforeAll(() => {
      dir = path.join(k.root, '..', `bigseal-sparse-${process.pid}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'sparse'), '');
      truncateSync(path.join(dir, 'sparse'), 40 * MiB);
      writeFileSync(path.join(dir, 'small'), randomBytes(3000));
    });
    afterAll(() => spawnSync('rm', ['-rf', dir]));

    /** Runs an ES module script; its output lines. */
    const run = (script: string): string[] => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return r.stdout.trim().split('\n');
    };
    const imports = `const { scanTree } = await import(${JSON.stringify(path.join(DIST, 'scan.js'))});
      const { TarPacker, digestEntries } = await import(${JSON.stringify(path.join(DIST, 'tarwriter.js'))});`;

    it("the threads fill the tar to the serial packer's digest", () => {
      const [parallel, serial] = run(`${imports}
        const e = await scanTree(${JSON.stringify(dir)});
        console.log((await digestEntries(e)).digest);
        const p = new TarPacker(e), h = (await import('node:crypto')).createHash('sha256'), b = Buffer.alloc(1 << 20);
        for (let n = p.fill(b); n > 0; n = p.fill(b)) h.update(b.subarray(0, n));
        console.log('sha256:' + h.digest('hex'));`);
      expect(parallel).toMatch(/^sha256:/);
      expect(parallel).toBe(serial);
    });

    it('a scan that starts the threads and never packs lets the process exit at once', () => {
      // The threads wait 5 s for a fill to claim them: the time from the script's end to the process's exit
      // tells whether they held the process.
      const [line] = run(`${imports}
        const e = await scanTree(${JSON.stringify(dir)}); const end = Date.now();
        process.on('exit', () => console.log(e.length, Date.now() - end));`);
      const [count, held] = line.split(' ').map(Number);
      expect(count).toBe(2);
      expect(held).toBeLessThan(2500);
    });
  });
});
