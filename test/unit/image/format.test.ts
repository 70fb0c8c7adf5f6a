import { describe, expect, it } from 'vitest';
import { dockerMediaType, formatConfig, formatManifest, formatOf } from '../../../dsl/image/format.js';
import { MediaType, type ImageConfig } from '../../../dsl/oci/types.js';
import { BadInputError } from '../../../dsl/core/errors.js';

/* The OCI and Docker schema 2 forms of an image: media types, the Docker config's container_config, what OCI keeps. */
const config: ImageConfig = {
  created: '1970-01-01T00:00:00Z', architecture: 'amd64', os: 'linux',
  config: { Env: ['A=1'], Healthcheck: { Test: ['CMD', 'true'] }, Shell: ['/bin/sh', '-c'], OnBuild: ['RUN x'] },
  rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] },
  history: [{ created_by: 'x' }],
};
const layer = { mediaType: MediaType.layerGzip, digest: 'sha256:' + 'b'.repeat(64), size: 3 };
const cfg = { digest: 'sha256:' + 'c'.repeat(64), size: 9 };

describe('image formats', () => {
  it('OCI leaves the config and the manifest as commit always wrote them', () => {
    expect(formatConfig(config, 'oci')).toBe(config);
    expect(JSON.stringify(formatManifest('oci', cfg, [layer], { k: 'v' }))).toBe(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.manifest, config: { mediaType: MediaType.config, ...cfg }, layers: [layer], annotations: { k: 'v' } }),
    );
  });

  it('Docker adds container_config after config, keeps the docker-only fields, and uses docker media types without annotations', () => {
    const d = formatConfig(config, 'docker') as ImageConfig & { container_config?: unknown };
    expect(Object.keys(d)).toEqual(['created', 'architecture', 'os', 'config', 'container_config', 'rootfs', 'history']);
    expect(d.container_config).toEqual(config.config);
    expect(d.config?.Healthcheck).toEqual({ Test: ['CMD', 'true'] });
    expect(formatConfig(d, 'docker')).toBe(d);
    const m = formatManifest('docker', cfg, [layer, { ...layer, mediaType: MediaType.layerTar }], { k: 'v' });
    expect(m.mediaType).toBe(MediaType.dockerManifest);
    expect(m.config.mediaType).toBe(MediaType.dockerConfig);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MediaType.dockerLayerGzip, MediaType.dockerLayerTar]);
    expect(m.annotations).toBeUndefined();
    expect(formatOf(m)).toBe('docker');
    expect(formatOf({ mediaType: MediaType.manifest })).toBe('oci');
  });

  it('refuses what Docker cannot hold', () => {
    expect(dockerMediaType(MediaType.layerZstd)).toBeUndefined();
    expect(dockerMediaType('toString')).toBeUndefined();
    expect(() => formatManifest('docker', cfg, [{ ...layer, mediaType: MediaType.layerZstd }])).toThrow(BadInputError);
  });
});
