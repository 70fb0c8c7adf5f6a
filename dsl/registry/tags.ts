import { BadInputError } from '../core/errors.js';
import type { RegistryOptions } from '../transport/transports.js';
import { RegistryClient } from './client.js';
import { drain, header, readBody } from './http.js';
import { MANIFEST_ACCEPT } from './manifest.js';
import { formatRegistryRef, parseRegistryRef, type RegistryRef } from './reference.js';

/*
 * The tags of a repository (distribution spec: GET /v2/<name>/tags/list, pages linked by the Link header's
 * rel="next"), and the digest a tag names, for sync to tell what is already there.
 */

/** The largest tag list page cairn reads. */
const PAGE_LIMIT = 8 << 20;
/** Pages followed at most (a registry that links pages in a circle must not hold cairn forever). */
const MAX_PAGES = 10_000;

/** The URL of a Link header's rel="next" target, if any (`</v2/x/tags/list?last=a&n=100>; rel="next"`). */
export function nextLink(link: string | undefined): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*((?:;[^;]*)*)$/.exec(part);
    if (m && /;\s*rel="?next"?\s*(;|$)/i.test(m[2])) return m[1];
  }
  return undefined;
}

/** The tags of a tag list page (`{"name": …, "tags": […]}`; null tags is an empty repository). */
function pageTags(body: Buffer, what: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadInputError(`the tag list of ${what} is not JSON`, { hint: 'the registry is misbehaving' });
  }
  const tags = (doc as { tags?: unknown })?.tags;
  if (tags === null || tags === undefined) return [];
  if (!Array.isArray(tags) || tags.some((t) => typeof t !== 'string')) throw new BadInputError(`the tag list of ${what} is malformed`, { hint: 'the registry is misbehaving' });
  return tags as string[];
}

/** Lists every tag of a repository (`HOST/REPO`, the text after `docker://`), following the pages, in the registry's order. */
export async function listTags(repo: string, opts: RegistryOptions = {}): Promise<string[]> {
  const ref = parseRegistryRef(repo);
  const what = `docker://${ref.registry}/${ref.repository}`;
  const client = await RegistryClient.open(ref, opts);
  try {
    const tags: string[] = [];
    const visited = new Set<string>();
    let url: string | undefined = `/v2/${ref.repository}/tags/list`;
    const root = await client.apiRoot();
    for (let page = 0; url !== undefined; page++) {
      if (page >= MAX_PAGES) throw new BadInputError(`the tag list of ${what} has more than ${MAX_PAGES} pages`, { hint: 'the registry is misbehaving' });
      // A next link is a path (or an absolute URL of the same registry); the client takes paths below its root.
      const path: string = url.startsWith('/') ? url : new URL(url).pathname + new URL(url).search;
      if (!url.startsWith('/') && new URL(url).origin !== root) throw new BadInputError(`the tag list of ${what} links to another host (${new URL(url).origin})`, { hint: 'the registry is misbehaving' });
      if (visited.has(path)) throw new BadInputError(`the tag list of ${what} links its pages in a circle`, { hint: 'the registry is misbehaving' });
      visited.add(path);
      const res = await client.get(path, { what: `the tags of ${what}` });
      const body = await readBody(res, PAGE_LIMIT);
      if (!body) throw new BadInputError(`a tag list page of ${what} is larger than ${PAGE_LIMIT} bytes`, { hint: 'the registry is misbehaving' });
      tags.push(...pageTags(body, what));
      url = nextLink(header(res, 'link'));
    }
    return [...new Set(tags)];
  } finally {
    await client.close();
  }
}

/** The digest of the manifest ref names at its registry (HEAD, Docker-Content-Digest), or undefined when it has none. */
export async function manifestDigest(text: string, opts: RegistryOptions = {}): Promise<string | undefined> {
  const ref: RegistryRef = parseRegistryRef(text);
  const client = await RegistryClient.open(ref, opts);
  try {
    const res = await client.request({ method: 'HEAD', url: `/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag ?? 'latest'}`, headers: { accept: MANIFEST_ACCEPT }, what: `the manifest of docker://${formatRegistryRef(ref)}`, ok: [200, 404] });
    await drain(res);
    if (res.status === 404) return undefined;
    const d = header(res, 'docker-content-digest');
    return d?.startsWith('sha256:') ? d : undefined;
  } finally {
    await client.close();
  }
}
