import { describe, expect, it } from 'vitest';
import { checkpointHistory, containerImageConfig } from '../../../dsl/container/image-config.js';
import type { ContainerRecord } from '../../../dsl/store/containers.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const rec = {
  config: { architecture: 'amd64', os: 'linux', author: 'me', variant: 'v2', config: { Env: ['A=1'] }, rootfs: { type: 'layers', diff_ids: [] } },
  baseLayers: [{ diffID: D('a') }],
  baseHistory: [{ created: '2000-01-01T00:00:00Z', created_by: 'base' }],
  checkpoints: [
    { diffID: D('b'), created: '2020-01-01T00:00:00Z', createdBy: 'cairn run x', message: 'one' },
    { diffID: D('c'), created: '2021-01-01T00:00:00Z', createdBy: 'cairn copy y', message: '' },
  ],
} as unknown as ContainerRecord;

describe('the image config of a container (commit and export alike)', () => {
  it('checkpoint history keeps each time, or takes the clamped one for all', () => {
    expect(checkpointHistory(rec)).toEqual([
      { created: '2020-01-01T00:00:00Z', created_by: 'cairn run x', comment: 'one' },
      { created: '2021-01-01T00:00:00Z', created_by: 'cairn copy y' },
    ]);
    expect(checkpointHistory(rec, '1970-01-01T00:00:00Z').map((h) => h.created)).toEqual(['1970-01-01T00:00:00Z', '1970-01-01T00:00:00Z']);
  });

  it('carries the base config and fields in a fixed order (the image ID is the hash of these bytes)', () => {
    const c = containerImageConfig(rec, '1970-01-01T00:00:00Z', [D('a'), D('b')], [{ created_by: 'x' }]);
    expect(JSON.stringify(c)).toBe(JSON.stringify({
      created: '1970-01-01T00:00:00Z', author: 'me', architecture: 'amd64', os: 'linux', variant: 'v2',
      config: { Env: ['A=1'] }, rootfs: { type: 'layers', diff_ids: [D('a'), D('b')] }, history: [{ created_by: 'x' }],
    }));
    const bare = containerImageConfig({ ...rec, config: { architecture: 'arm64', os: 'linux' } } as unknown as ContainerRecord, 't', [], []);
    expect(Object.keys(bare)).toEqual(['created', 'architecture', 'os', 'config', 'rootfs', 'history']);
    expect(bare.config).toEqual({});
  });
});
