import { createHash } from 'node:crypto';
import { appendFileSync, createReadStream, readFileSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { CairnError } from '../../../dsl/core/errors.js';
import { decompress } from '../../../dsl/layer/compress.js';
import { extractLayer } from '../../../dsl/layer/extract.js';
import { scanTree } from '../../../dsl/layer/scan.js';
import type { TarHeader } from '../../../dsl/layer/tar-header.js';
import { strictTarExtract } from '../../../dsl/layer/tar-read.js';
import { packEntries } from '../../../dsl/layer/tarwriter.js';
import { writeLayer } from '../../../dsl/store/write-layer.js';
import { BlobStore } from '../../../dsl/store/blobs.js';
import { StorePaths } from '../../../dsl/store/paths.js';
import { collect, realRoot, sh, tmpDir, treeState } from '../../kit/tarfix.js';

const tmp = tmpDir('roundtrip');
afterAll(tmp.cleanup);

const LONG = 'd'.repeat(60) + '/' + 'e'.repeat(70) + '/' + 'f'.repeat(90) + '/' + 'g'.repeat(120);

/** A tree with every kind of object and metadata a layer must carry. */
function buildTree(dir: string): void {
  sh(`
    mkdir -p src && cd src
    mkdir -p etc bin private sticky ro "${LONG}" 'sp ace/héllo'
    printf 'root:x:0:0\\n' > etc/passwd
    printf '#!/bin/sh\\n' > bin/tool && chown 1000:1000 bin/tool && chmod 4755 bin/tool
    : > empty && chmod 0 empty
    echo big-ids > bigid ${realRoot ? "&& chown 1000000:2000000 bigid" : ""}
    echo linked > bin/a && ln bin/a bin/b && ln bin/a etc/c
    ln -s /etc/passwd abs-link && ln -s ../etc/passwd bin/rel-link && ln -s nowhere dangling
    ln -s "${LONG}" long-link
    echo deep > "${LONG}/file" && echo u > 'sp ace/héllo/ünï'
    mkfifo fifo ${realRoot ? '&& mknod null c 1 3' : ''}
    setfattr -n user.foo -v bar etc/passwd
    setfattr -n user.bin -v 0sgIH/AAE= bin/tool
    ${realRoot ? 'setfattr -h -n trusted.on-link -v 0x01 abs-link' : ''}
    setfattr -n user.dir -v yes private
    chmod 0700 private && chmod 1777 sticky && chown 5:6 sticky
    find . -mindepth 1 -exec touch -h -d @1500000000 {} +
    touch -h -d @1400000000 etc/passwd abs-link
    chmod 0555 ro
  `, dir);
}

describe('tree → scanTree → packEntries → extractLayer', () => {
  buildTree(tmp.dir);
  const src = path.join(tmp.dir, 'src');

  it('reproduces modes, owners, links, hardlinks, devices, xattrs and mtimes', async () => {
    const dest = path.join(tmp.dir, 'dest');
    const res = await extractLayer(packEntries(await scanTree(src)), dest, { whiteouts: 'apply' });
    const want = treeState(src);
    expect(want.find((i) => i.path === 'bin/tool')).toMatchObject({ mode: '4755', uid: 1000, xattrs: { 'user.bin': '0x8081ff0001' } });
    expect(want.find((i) => i.path === 'etc/c')?.hardlinkOf).toBe('bin/a');
    expect(treeState(dest)).toEqual(want);
    expect(res.entries).toBe(want.length);
  });

  it('writes the same bytes for the same tree', async () => {
    const a = await collect(packEntries(await scanTree(src)));
    const b = await collect(packEntries(await scanTree(src)));
    expect(a.equals(b)).toBe(true);
  });

  it('clamps mtimes to the timestamp and writes no names, atimes or ctimes', async () => {
    const ts = 1_450_000_000;
    const tar = await collect(packEntries(await scanTree(src), { timestamp: ts }));
    const headers: TarHeader[] = [];
    for await (const e of strictTarExtract().end(tar) as unknown as AsyncIterable<{ header: TarHeader; resume(): void }>) {
      headers.push(e.header);
      e.resume();
    }
    expect(headers.length).toBeGreaterThan(20);
    for (const h of headers) {
      const want = h.name === 'etc/passwd' || h.name === 'abs-link' ? 1_400_000_000 : ts;
      expect([h.name, h.mtime!.getTime() / 1000]).toEqual([h.name, want]);
      expect([h.uname, h.gname]).toEqual(['', '']);
      expect(Object.keys(h.pax ?? {}).filter((k) => /time/.test(k))).toEqual([]);
      if (h.type === 'directory') expect(h.name.endsWith('/')).toBe(true);
    }
    if (realRoot) expect(headers.find((h) => h.name === 'bigid')?.pax).toMatchObject({ uid: '1000000', gid: '2000000' });
    expect(headers.find((h) => h.name === LONG + '/file')).toBeTruthy();
  });

  it.each([
    ['grows', (p: string) => appendFileSync(p, 'more')],
    ['shrinks', (p: string) => truncateSync(p, 1)],
  ])('fails when a file %s while it is packed', async (_, change) => {
    const file = path.join(tmp.dir, 'changing');
    sh(`printf 'content' > ${file}`);
    const entries = await scanTree(tmp.dir);
    change(file);
    await expect(collect(packEntries(entries.filter((e) => e.path === 'changing')))).rejects.toThrow(/changed size/);
    await expect(collect(packEntries(entries.filter((e) => e.path === 'changing')))).rejects.toBeInstanceOf(CairnError);
  });

  it.each(['gzip', 'none'] as const)('writeLayer (%s) stores the blob and reports diffID, digest and sizes', async (comp) => {
    const store = new BlobStore(new StorePaths(path.join(tmp.dir, `store-${comp}`)));
    const tar = await collect(packEntries(await scanTree(src)));
    const w = await writeLayer(Readable.from([tar]), store, comp);
    const blob = readFileSync(store.path(w.digest));
    const sha = (b: Buffer): string => 'sha256:' + createHash('sha256').update(b).digest('hex');
    expect(w.diffID).toBe(sha(tar));
    expect(w.digest).toBe(sha(blob));
    expect(w.size).toBe(blob.length);
    expect(w.uncompressedSize).toBe(tar.length);
    expect(w.mediaType).toBe(comp === 'gzip' ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar');
    const dest = path.join(tmp.dir, `from-blob-${comp}`);
    await extractLayer(decompress(createReadStream(store.path(w.digest))), dest, { whiteouts: 'apply' });
    expect(treeState(dest)).toEqual(treeState(src));
  });
});
