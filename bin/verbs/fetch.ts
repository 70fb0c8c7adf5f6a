import { fetchImage, humanBytes } from '../../dsl/index.js';
import { bool, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn fetch`: bring a flat signed image at a URL into the exec cache, or update it, without running it. */
export const spec: VerbSpec = {
  name: 'fetch',
  usage: 'fetch [--dry-run] [--key PUB] [--signature-policy FILE] [--insecure-skip-verify] [--json] URL',
  summary:
    'Fetch a flat signed image from an http(s) URL into the exec cache (verified and unpacked, as cairn exec does) ' +
    'without running it. When the server publishes URL.cidx beside the file, only the segments no cached image ' +
    'holds are downloaded, by range requests. --dry-run reads the index only and reports what an update would download.',
  example: 'cairn fetch --dry-run https://example.com/web.tar.gz',
  flags: {
    'dry-run': { kind: 'bool', help: 'download only the index: report the bytes and requests an update would take' },
    key: { kind: 'string', help: 'accept signatures by this key only (PEM file or identity string)', arg: 'PUB' },
    'signature-policy': { kind: 'string', help: 'also apply this signature policy file (a valid signature is always required)', arg: 'FILE' },
    'insecure-skip-verify': { kind: 'bool', help: 'keep an unsigned or untrusted image (with a warning)' },
    json: { kind: 'bool', help: 'print the figures as JSON' },
  },
  min: 1,
  max: 1,
};

/** Fetches (or plans) and prints one line of figures (or JSON). */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const dryRun = bool(p, 'dry-run');
  const r = await fetchImage(p.args[0], {
    root: ctx.root,
    key: str(p, 'key'),
    signaturePolicy: str(p, 'signature-policy'),
    insecure: bool(p, 'insecure-skip-verify'),
    dryRun,
  });
  if (bool(p, 'json')) return ctx.out(JSON.stringify(r, null, 2));
  const size = r.size !== undefined ? ` of ${humanBytes(r.size)}` : '';
  const figures = `${humanBytes(r.downloaded + r.indexBytes)} in ${r.requests} requests (index ${humanBytes(r.indexBytes)}), ${humanBytes(r.reused)} reused${size}`;
  if (r.kind === 'current') return ctx.out(`up to date ${r.digest} (${r.requests} request, ${humanBytes(r.indexBytes)})`);
  if (dryRun) return ctx.out(`would download ${figures}`);
  ctx.out(`fetched ${r.digest}: ${figures}${r.kind === 'rebuilt' ? '' : ` (${r.kind === 'whole' ? 'the server sent the whole file' : 'plain download'})`}`);
}
