// Tag lists against a real HTTP server (node:http on 127.0.0.1) that pages them as the distribution spec says:
// `Link: </v2/NAME/tags/list?n=2&last=T>; rel="next"`, relative or absolute, and one that links in a circle.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTags, nextLink } from '../../../dsl/registry/tags.js';

const TAGS = ['a', 'b', 'c', 'd', 'e'];
let server: http.Server;
let host: string;
const seen: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(url.pathname + url.search);
    if (url.pathname === '/v2/') return void res.writeHead(200).end('{}');
    const repo = url.pathname.split('/')[2];
    const last = url.searchParams.get('last');
    const from = last ? TAGS.indexOf(last) + 1 : 0;
    const page = TAGS.slice(from, from + 2);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const more = from + 2 < TAGS.length;
    if (repo === 'paged' && more) headers.link = `</v2/paged/tags/list?n=2&last=${page[page.length - 1]}>; rel="next"`;
    if (repo === 'absolute' && more) headers.link = `<http://${host}/v2/absolute/tags/list?n=2&last=${page[page.length - 1]}>; rel="next"`;
    if (repo === 'elsewhere' && more) headers.link = `<http://127.0.0.2:1/v2/elsewhere/tags/list?last=b>; rel="next"`;
    if (repo === 'circle') headers.link = '</v2/circle/tags/list>; rel="next"';
    res.writeHead(200, headers).end(JSON.stringify({ name: repo, tags: page }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('nextLink', () => {
  it('finds rel="next" among the links, quoted or not, and nothing else', () => {
    expect(nextLink('</v2/x/tags/list?n=2&last=b>; rel="next"')).toBe('/v2/x/tags/list?n=2&last=b');
    expect(nextLink('</a>; rel="prev", </b>; rel=next')).toBe('/b');
    expect(nextLink('</a>; rel="prev"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
});

describe('listTags', () => {
  const o = { tlsVerify: false, authfile: '/nonexistent' };

  it('follows relative and absolute next links to the last page, in order', async () => {
    expect(await listTags(`${host}/paged`, o)).toEqual(TAGS);
    expect(seen.filter((s) => s.startsWith('/v2/paged/'))).toEqual(['/v2/paged/tags/list', '/v2/paged/tags/list?n=2&last=b', '/v2/paged/tags/list?n=2&last=d']);
    expect(await listTags(`${host}/absolute`, o)).toEqual(TAGS);
  });

  it('refuses a next link to another host', async () => {
    await expect(listTags(`${host}/elsewhere`, o)).rejects.toThrow(/links to another host/);
  });

  it('stops a registry that links its pages in a circle', async () => {
    await expect(listTags(`${host}/circle`, o)).rejects.toThrow(/links its pages in a circle/);
  });
});
