// Spec conformance as peers judge it: skopeo copies what cairn writes to every transport, and
// cairn copy-image between transports keeps the image (same config digest) as skopeo reads it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliKit, type CliKit } from '../kit/cli.js';
import {
  cleanupValidated,
  containersKit,
  peerOk,
  removeTree,
  requirePeers,
  skopeoCopy,
  skopeoInspect,
  tempDir,
  validateOci,
  type ContainersKit,
} from '../kit/peers.js';
import { tinyRootfsTar } from '../kit/tiny.js';

let k: CliKit;
let p: ContainersKit | undefined;
let work: string;
let id: string;
let layout: string;
const CONFIG = 'sha256:';

beforeAll(() => {
  requirePeers('skopeo', 'umoci');
  k = cliKit('cairn-interop-conf-');
  work = tempDir('cairn-interop-conf-');
  const c = k.ok(['from', `tarball:${tinyRootfsTar()}`]);
  k.ok(['run', c, '--', 'sh', '-c', 'mkdir -p /app && echo one > /app/one']);
  k.ok(['checkpoint', '-m', 'one', c]);
  k.ok(['run', c, '--', 'sh', '-c', 'echo two > /app/two && rm /app/one']);
  k.ok(['config', '--entrypoint', '["/bin/cat"]', '--cmd', '["/app/two"]', '--label', 'org.opencontainers.image.title=conf', '--port', '8080', c]);
  id = k.ok(['commit', c, 'localhost/conf:1']);
  layout = path.join(work, 'oci');
  k.ok(['push', 'localhost/conf:1', `oci:${layout}:conf`]);
}, 120_000);

afterAll(() => {
  cleanupValidated();
  p?.cleanup();
  k?.cleanup();
  if (work) removeTree(work);
});

/**
 * A config with its `created` times as milliseconds: skopeo --config re-marshals them in Go's RFC 3339
 * (trailing zeros of the fraction dropped: .720Z → .72Z), the same instant.
 */
function sameTimes(config: any): any {
  return JSON.parse(JSON.stringify(config), (key, value) => (key === 'created' && typeof value === 'string' ? Date.parse(value) : value));
}

/** The config digest skopeo reads at a reference. */
const configOf = (ref: string): string => skopeoInspect(ref, '--raw').config.digest;

describe('skopeo copies what cairn writes', () => {
  it.each([
    ['docker-archive', (f: string) => `docker-archive:${f}:localhost/conf:1`, (f: string) => `docker-archive:${f}`],
    ['oci-archive', (f: string) => `oci-archive:${f}:conf`, (f: string) => `oci-archive:${f}:conf`],
    ['dir', (f: string) => `dir:${f}`, (f: string) => `dir:${f}`],
    ['oci', (f: string) => `oci:${f}:copied`, (f: string) => `oci:${f}:copied`],
  ])('oci: → %s, verifying every blob, keeping the config', (kind, dest, read) => {
    const target = path.join(work, `skopeo-${kind}`);
    skopeoCopy(`oci:${layout}:conf`, dest(target));
    expect(configOf(read(target))).toBe(`${CONFIG}${id}`);
    const cfg = skopeoInspect(read(target), '--config');
    expect(cfg.config.Entrypoint).toEqual(['/bin/cat']);
    expect(cfg.config.Cmd).toEqual(['/app/two']);
    expect(Object.keys(cfg.config.ExposedPorts ?? {})).toEqual(['8080/tcp']);
  });

  it('oci-archive and docker-archive written by cairn copy back to oci: and unpack', () => {
    const oa = path.join(work, 'ours.oci.tar');
    const da = path.join(work, 'ours.docker.tar');
    k.ok(['push', 'localhost/conf:1', `oci-archive:${oa}:conf`]);
    k.ok(['push', 'localhost/conf:1', `docker-archive:${da}:localhost/conf:1`]);
    const ours = JSON.parse(k.ok(['inspect', 'localhost/conf:1'])).config;
    for (const [i, src] of [`oci-archive:${oa}:conf`, `docker-archive:${da}`].entries()) {
      const back = path.join(work, `back-${i}`);
      skopeoCopy(src, `oci:${back}:b`);
      const v = validateOci(back, 'b');
      // OCI → OCI keeps the config bytes; docker → OCI makes skopeo re-marshal the config (same content)
      if (i === 0) expect(v.configDigest).toBe(`${CONFIG}${id}`);
      expect(sameTimes(v.config)).toEqual(sameTimes(ours));
      expect(readFileSync(path.join(v.rootfs, 'app/two'), 'utf8')).toBe('two\n');
    }
  });
});

describe('cairn copy-image between transports', () => {
  it('chains stored → oci-archive → docker-archive → oci → oci-archive, keeping the config digest', () => {
    const steps = [
      'localhost/conf:1',
      `oci-archive:${path.join(work, 'ci-1.tar')}:one`,
      `docker-archive:${path.join(work, 'ci-2.tar')}:localhost/conf:2`,
      `oci:${path.join(work, 'ci-3')}:three`,
      `oci-archive:${path.join(work, 'ci-4.tar')}`,
    ];
    for (let i = 1; i < steps.length; i++) {
      k.ok(['copy-image', steps[i - 1], steps[i]]);
      expect(configOf(steps[i]), steps[i]).toBe(`${CONFIG}${id}`);
    }
    const v = validateOci(path.join(work, 'ci-3'), 'three');
    expect(v.configDigest).toBe(`${CONFIG}${id}`);
    expect(readFileSync(path.join(v.rootfs, 'app/two'), 'utf8')).toBe('two\n');
  });

  it("copies peers' archives: skopeo's docker-archive → oci: that umoci unpacks", () => {
    const da = path.join(work, 'skopeo-made.docker.tar');
    skopeoCopy(`oci:${layout}:conf`, `docker-archive:${da}:localhost/conf:1`);
    const out = path.join(work, 'from-skopeo');
    k.ok(['copy-image', `docker-archive:${da}`, `oci:${out}:x`]);
    const v = validateOci(out, 'x');
    expect(v.configDigest).toBe(`${CONFIG}${id}`);
  });

  it('is read back by cairn inspect with the digests skopeo sees', () => {
    const ours = JSON.parse(k.ok(['inspect', `oci:${layout}:conf`]));
    const raw = skopeoInspect(`oci:${layout}:conf`, '--raw');
    expect(ours.manifest).toEqual(raw);
    expect(sameTimes(ours.config)).toEqual(sameTimes(skopeoInspect(`oci:${layout}:conf`, '--config')));
  });
});

describe('OCI layouts cairn writes', () => {
  it('hold several tagged images in one layout, each readable by skopeo and umoci', () => {
    const shared = path.join(work, 'multi');
    const c = k.ok(['from', 'localhost/conf:1']);
    k.ok(['run', c, '--', 'sh', '-c', 'echo three > /app/three']);
    const id2 = k.ok(['commit', c, 'localhost/conf:2']);
    k.ok(['push', 'localhost/conf:1', `oci:${shared}:first`]);
    k.ok(['push', 'localhost/conf:2', `oci:${shared}:second`]);
    const index = JSON.parse(readFileSync(path.join(shared, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name']).sort()).toEqual(['first', 'second']);
    expect(validateOci(shared, 'first').configDigest).toBe(`${CONFIG}${id}`);
    const v2 = validateOci(shared, 'second');
    expect(v2.configDigest).toBe(`${CONFIG}${id2}`);
    expect(readFileSync(path.join(v2.rootfs, 'app/three'), 'utf8')).toBe('three\n');
    // re-pushing a tag moves it, and leaves one entry for it
    k.ok(['push', 'localhost/conf:2', `oci:${shared}:first`]);
    const after = JSON.parse(readFileSync(path.join(shared, 'index.json'), 'utf8'));
    expect(after.manifests.filter((m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'] === 'first')).toHaveLength(1);
    expect(configOf(`oci:${shared}:first`)).toBe(`${CONFIG}${id2}`);
  });

  it('with uncompressed layers (--compression-format none) validate too', () => {
    const c = k.ok(['from', 'localhost/conf:1']);
    k.ok(['run', c, '--', 'sh', '-c', 'echo plain > /app/plain']);
    k.ok(['commit', c, 'localhost/plain']);
    const out = path.join(work, 'plain');
    k.ok(['push', '--compression-format', 'none', 'localhost/plain', `oci:${out}:p`]);
    const v = validateOci(out, 'p');
    expect(v.manifest.layers.at(-1).mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(readFileSync(path.join(v.rootfs, 'app/plain'), 'utf8')).toBe('plain\n');
  });

  it('load into podman from oci-archive with the same ID', () => {
    p ??= containersKit('cairn-peer-conf-');
    const oa = path.join(work, 'for-podman.oci.tar');
    k.ok(['push', 'localhost/conf:1', `oci-archive:${oa}:conf`]);
    p.podmanOk(['load', '-q', '-i', oa]);
    const ids = peerOk('podman', ['images', '-q', '--no-trunc'], { env: p.env }).split('\n');
    expect(ids).toContain(`sha256:${id}`);
  });
});
