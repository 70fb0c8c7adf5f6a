import { describe, expect, it } from 'vitest';
import { BadInputError, NotFoundError } from '../../../dsl/core/errors.js';
import type { Descriptor } from '../../../dsl/oci/types.js';
import { choosePlatform, parsePlatform } from '../../../dsl/registry/platform.js';

const entry = (architecture: string, variant?: string, os = 'linux'): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${(architecture + (variant ?? '') + os).padEnd(64, '0').replace(/[^0-9a-f]/g, 'a').slice(0, 64)}`,
  size: 1,
  platform: { os, architecture, ...(variant ? { variant } : {}) },
});

describe('platforms', () => {
  it('parses os/arch[/variant]', () => {
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64' });
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    for (const bad of ['linux', 'linux/', 'a/b/c/d', 'Linux/AMD64']) expect(() => parsePlatform(bad)).toThrow(BadInputError);
  });

  const index = [entry('amd64'), entry('arm', 'v6'), entry('arm', 'v7'), entry('arm64', 'v8'), entry('unknown', undefined, 'unknown')];

  it('chooses by os, architecture and variant', () => {
    expect(choosePlatform(index, { os: 'linux', architecture: 'amd64' }, 'i')).toBe(index[0]);
    expect(choosePlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'i')).toBe(index[2]);
    expect(choosePlatform(index, { os: 'linux', architecture: 'arm' }, 'i')).toBe(index[1]);
    expect(choosePlatform([entry('arm64')], { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'i').platform?.architecture).toBe('arm64');
  });

  it('names the platforms there are when none fits (attestations left out)', () => {
    expect(() => choosePlatform(index, { os: 'linux', architecture: 's390x' }, 'the index of x')).toThrow(NotFoundError);
    try {
      choosePlatform(index, { os: 'linux', architecture: 's390x' }, 'the index of x');
    } catch (e) {
      expect((e as NotFoundError).message).toBe('the index of x has no image for linux/s390x');
      expect((e as NotFoundError).hint).toBe('it has linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8: choose one with --platform');
    }
  });
});
