import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { BadInputError, NotFoundError } from '../../dsl/core/errors.js';
import { parseKeySpec } from '../../dsl/sign/keys.js';
import { fileScopes, refusalError, tarballRequirements } from '../../dsl/sign/trust.js';
import { judgeFile } from '../../dsl/flat/judge.js';
import { bool, str, type Parsed, type VerbSpec } from '../args.js';
import { out, type VerbContext } from '../verb.js';

/** `cairn verify`: check the signature of a flat signed tarball. */
export const spec: VerbSpec = {
  name: 'verify',
  usage: 'verify [--key PUB] [--signature-policy FILE] [--json] FILE|URL',
  summary:
    'Check that a flat tarball (gzip or plain, a file or an http(s) URL) is signed by a trusted key, or by PUB only ' +
    'with --key (a public key PEM file or an identity string), and by a key the signature policy accepts for it. ' +
    'Prints OK and the signer\'s key ID; an unsigned file fails as "unsigned".',
  example: 'cairn verify --key cDFJ6F4W6XT2WGTLTJTDQAPE4GYXX2VVLSV43KWENB7W76FA57XAGZQA alpine.tar.gz',
  flags: {
    key: { kind: 'string', help: 'verify against this key only (PEM file or identity string)', arg: 'PUB' },
    'signature-policy': { kind: 'string', help: 'also apply this signature policy file (containers-policy.json(5) format)', arg: 'FILE' },
    json: { kind: 'bool', help: 'print JSON: signer, sha256, tar size' },
  },
  min: 1,
  max: 1,
};

/** Opens FILE or an http(s) URL as a byte stream. */
async function open(src: string): Promise<Readable> {
  if (/^https?:\/\//i.test(src)) {
    let res: Response;
    try {
      res = await fetch(src);
    } catch (err) {
      throw new BadInputError(`cannot fetch: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, { hint: 'check the URL and the network', cause: err });
    }
    if (!res.ok || !res.body) throw new BadInputError(`HTTP ${res.status} ${res.statusText}`.trim(), { hint: 'check the URL' });
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }
  try {
    if ((await stat(src)).isDirectory()) throw new BadInputError('is a directory, not a file', { hint: 'give the path of a flat tarball (cairn export writes one) or an http(s) URL' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('no such file', { hint: 'give the path of a flat tarball (cairn export writes one) or an http(s) URL' });
    throw err;
  }
  return createReadStream(src, { highWaterMark: 1 << 20 });
}

/** Verifies: a valid signature by a key that --key or the trusted keys, and the signature policy, accept. */
export async function main(p: Parsed, _ctx: VerbContext): Promise<void> {
  const file = p.args[0];
  const url = /^https?:\/\//i.test(file);
  const a = tarballRequirements(fileScopes(file, url), str(p, 'signature-policy'));
  const keySpec = str(p, 'key');
  const key = keySpec !== undefined ? await parseKeySpec(keySpec) : undefined;
  let c;
  try {
    c = await judgeFile(a, () => open(file), { mode: 'signed', key });
  } catch (err) {
    // Name the file in the one line the CLI prints.
    if (err instanceof Error && (err as { cairn?: boolean }).cairn && !err.message.startsWith('signature policy')) err.message = `${file}: ${err.message}`;
    throw err;
  }
  if (!c.judgement.ok) throw refusalError(c.judgement, file);
  const v = c.verdict!;
  if (bool(p, 'json')) return out(JSON.stringify({ ok: true, signer: v.signer!.id, source: v.signer!.source, sha256: v.sha256, tarSize: v.tarSize }, null, 2));
  out(`OK ${v.signer!.id}`);
}
