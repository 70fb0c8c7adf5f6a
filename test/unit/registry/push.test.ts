import { describe, expect, it } from 'vitest';
import { pushScope } from '../../../dsl/registry/auth.js';
import { chunkSizeOf, DEFAULT_CHUNK_SIZE } from '../../../dsl/registry/push.js';
import { addQuery, bytesHeld, chunkRanges, contentRange, resolveLocation } from '../../../dsl/registry/upload.js';

const REQ = 'https://reg.example:5000/v2/team/app/blobs/uploads/';

describe('resolveLocation', () => {
  it.each([
    ['a relative path with a query', '/v2/team/app/blobs/uploads/u1?_state=abc%3D%3D', 'https://reg.example:5000/v2/team/app/blobs/uploads/u1?_state=abc%3D%3D'],
    ['a path relative to the request', 'u2', 'https://reg.example:5000/v2/team/app/blobs/uploads/u2'],
    ['an absolute URL on the registry', 'https://reg.example:5000/v2/team/app/blobs/uploads/u3', 'https://reg.example:5000/v2/team/app/blobs/uploads/u3'],
    ['an absolute URL elsewhere, query kept', 'https://uploads.example/s3/u4?X-Sig=a%2Bb&x=1', 'https://uploads.example/s3/u4?X-Sig=a%2Bb&x=1'],
    ['a fragment dropped', '/v2/u5#frag', 'https://reg.example:5000/v2/u5'],
  ])('%s', (_name, location, want) => {
    expect(resolveLocation(location, REQ, 'blob')).toBe(want);
  });

  it('refuses a missing Location and a scheme that is not http(s)', () => {
    expect(() => resolveLocation(undefined, REQ, 'blob x')).toThrow(/without a Location/);
    expect(() => resolveLocation('', REQ, 'blob x')).toThrow(/without a Location/);
    expect(() => resolveLocation('file:///etc/passwd', REQ, 'blob x')).toThrow(/file: Location/);
  });
});

describe('addQuery', () => {
  it.each([
    ['no query', 'https://r/v2/u', 'https://r/v2/u?digest=sha256%3Aab'],
    ['a query kept byte for byte', 'https://r/v2/u?_state=a%2Fb%3D&x=+', 'https://r/v2/u?_state=a%2Fb%3D&x=+&digest=sha256%3Aab'],
    ['an empty query', 'https://r/v2/u?', 'https://r/v2/u?digest=sha256%3Aab'],
  ])('%s', (_name, url, want) => {
    expect(addQuery(url, 'digest', 'sha256:ab')).toBe(want);
  });
});

describe('chunk arithmetic', () => {
  it.each([
    [10, 4, [[0, 4], [4, 4], [8, 2]]],
    [8, 4, [[0, 4], [4, 4]]],
    [3, 4, [[0, 3]]],
    [1, 1, [[0, 1]]],
    [0, 4, []],
  ] as const)('a blob of %i bytes in chunks of %i', (size, chunk, want) => {
    const ranges = chunkRanges(size, chunk);
    expect(ranges).toEqual(want);
    // The chunks cover the blob exactly, in order.
    expect(ranges.reduce((n, [start, len]) => (expect(start).toBe(n), n + len), 0)).toBe(size);
  });

  it('Content-Range is START-END with END inclusive', () => {
    expect(contentRange(0, 4)).toBe('0-3');
    expect(contentRange(8, 2)).toBe('8-9');
    expect(contentRange(5, 1)).toBe('5-5');
    expect(() => contentRange(0, 0)).toThrow(RangeError);
    expect(() => chunkRanges(4, 0)).toThrow(RangeError);
  });

  it("reads the registry's Range answer as the bytes it holds", () => {
    expect(bytesHeld('0-3')).toBe(4);
    expect(bytesHeld('bytes=0-9')).toBe(10);
    expect(bytesHeld('0-0')).toBe(1);
    expect(bytesHeld(undefined)).toBeUndefined();
    expect(bytesHeld('2-3')).toBeUndefined();
    expect(bytesHeld('junk')).toBeUndefined();
  });
});

describe('push options', () => {
  it('the chunk size comes from the option, else the environment, else 128 MiB', () => {
    expect(DEFAULT_CHUNK_SIZE).toBe(128 << 20);
    expect(chunkSizeOf({}, {})).toBe(DEFAULT_CHUNK_SIZE);
    expect(chunkSizeOf({}, { CAIRN_REGISTRY_CHUNK_BYTES: '65536' })).toBe(65536);
    expect(chunkSizeOf({}, { CAIRN_REGISTRY_CHUNK_BYTES: 'lots' })).toBe(DEFAULT_CHUNK_SIZE);
    expect(chunkSizeOf({ chunkSize: 10 }, { CAIRN_REGISTRY_CHUNK_BYTES: '65536' })).toBe(10);
    expect(() => chunkSizeOf({ chunkSize: 0 })).toThrow(/positive/);
  });

  it('a push asks pull and push on its repository, and pull on the one it mounts from', () => {
    expect(pushScope('team/app')).toBe('repository:team/app:pull,push');
    expect(pushScope('team/app', 'team/base')).toBe('repository:team/app:pull,push repository:team/base:pull');
    expect(pushScope('team/app', 'team/app')).toBe('repository:team/app:pull,push');
  });
});
