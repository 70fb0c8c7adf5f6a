import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, MAX_REDIRECTS, openUrl } from '../../../dsl/core/fetch.js';

/* cairn's one HTTP client against a server on 127.0.0.1: redirects, conditional GETs, errors, a body cut short. */

const BODY = Buffer.from('x'.repeat(100_000));
const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-fetch-'));
let server: Server;
let base = '';
let n = 0;
const dest = () => path.join(dir, `f${n++}`);

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = req.url ?? '/';
    if (u === '/file' || u === '/hop') {
      if (u === '/hop') return void res.writeHead(302, { location: '/file' }).end();
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { etag: '"v1"' }).end();
      return void res.writeHead(200, { etag: '"v1"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT', 'content-length': BODY.length }).end(BODY);
    }
    if (u === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (u === '/nolocation') return void res.writeHead(302).end();
    if (u === '/ftp') return void res.writeHead(302, { location: 'ftp://127.0.0.1/x' }).end();
    if (u === '/short') {
      res.writeHead(200, { 'content-length': BODY.length });
      return void res.write(BODY.subarray(0, 1000), () => res.destroy());
    }
    if (u === '/unconditional304') return void res.writeHead(304).end();
    res.writeHead(404, { 'content-type': 'text/plain' }).end('no\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('download', () => {
  it('follows a redirect, writes the body, and answers the validators', async () => {
    const f = dest();
    expect(await download(`${base}/hop`, f)).toEqual({ notModified: false, etag: '"v1"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT', size: BODY.length });
    expect(readFileSync(f).equals(BODY)).toBe(true);
  });

  it('a conditional GET answered 304 writes nothing', async () => {
    expect(await download(`${base}/hop`, dest(), { etag: '"v1"' })).toEqual({ notModified: true });
  });

  it.each([
    ['/loop', `too many redirects fetching BASE/loop (more than ${MAX_REDIRECTS}; a redirect loop?)`],
    ['/missing', 'HTTP 404 Not Found fetching BASE/missing'],
    ['/nolocation', 'HTTP 302 from BASE/nolocation without a Location'],
    ['/ftp', 'ftp://127.0.0.1/x is not an http(s) URL'],
    ['/short', 'the download of BASE/short was cut short after 1000 bytes'],
    ['/unconditional304', 'HTTP 304 from BASE/unconditional304 to a request that was not conditional'],
  ])('%s fails with one line naming the URL', async (p, message) => {
    await expect(download(`${base}${p}`, dest())).rejects.toThrow(message.replace(/BASE/g, base));
  });

  it('a connection refused names the URL', async () => {
    await expect(download('http://127.0.0.1:1/x', dest())).rejects.toThrow(/^cannot fetch http:\/\/127\.0\.0\.1:1\/x: .*ECONNREFUSED/);
  });
});

describe('openUrl (verify): the same client, its errors without the URL', () => {
  it('streams the body through a redirect', async () => {
    const chunks: Buffer[] = [];
    for await (const c of await openUrl(`${base}/hop`)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(BODY)).toBe(true);
  });

  it.each([
    ['/missing', 'HTTP 404 Not Found'],
    ['/loop', `too many redirects (more than ${MAX_REDIRECTS}; a redirect loop?)`],
  ])('%s → %s', async (p, message) => {
    await expect(openUrl(`${base}${p}`)).rejects.toThrow(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });

  it('a connection refused', async () => {
    await expect(openUrl('http://127.0.0.1:1/x')).rejects.toThrow(/^cannot fetch: .*ECONNREFUSED/);
  });
});
