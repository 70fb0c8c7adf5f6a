import { readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import { blobPath, cleanupValidated, removeTree, requirePeers, tempDir, treeListing, validateOci } from '../kit/peers.js';
import { tinyRootfsTar } from '../kit/tiny.js';

/*
 * Layers cairn gzips are chunked gzip (many deflate segments in one gzip member): skopeo and umoci read them as
 * any gzip layer, umoci checking every blob digest and diffID as it unpacks.
 */

let k: CliKit;
let work: string;

beforeAll(() => {
  requirePeers('skopeo', 'umoci');
  k = cliKit('cairn-chunked-');
  work = tempDir('cairn-chunked-work-');
});
afterAll(() => {
  cleanupValidated();
  if (work) removeTree(work);
  k?.cleanup();
});

describe('chunked gzip layers', () => {
  it('are read by skopeo and unpacked by umoci', () => {
    const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
    k.ok(['run', c, '--', 'sh', '-c', 'mkdir -p /data && for i in 1 2 3 4 5 6 7 8; do cat /bin/ls /bin/cp /bin/sh > /data/blob-$i; done']);
    k.ok(['checkpoint', '-m', 'data', c]);
    k.ok(['commit', c, 'localhost/chunked:1']);
    const layout = path.join(work, 'layout');
    k.ok(['push', 'localhost/chunked:1', `oci:${layout}:t`]);
    const v = validateOci(layout, 't');
    expect(v.manifest.layers).toHaveLength(2);
    for (const l of v.manifest.layers) {
      expect(l.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      const blob = readFileSync(blobPath(layout, l.digest));
      // One gzip member whose deflate data is many segments, each ending in a full flush (00 00 FF FF).
      expect(blob.indexOf(Buffer.from([0x00, 0x00, 0xff, 0xff]))).toBeGreaterThan(0);
      expect(blob.subarray(-10, -8)).toEqual(Buffer.from([0x03, 0x00]));
      expect(zlib.gunzipSync(blob).length).toBe(blob.readUInt32LE(blob.length - 4));
    }
    expect(treeListing(v.rootfs).some((l) => l.includes('data/blob-8'))).toBe(true);
  });
});
