import { verify } from '../../dsl/index.js';
import { bool, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

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

/** Verifies and prints OK and the signer's key ID (or JSON). */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const v = await verify(p.args[0], { key: str(p, 'key'), signaturePolicy: str(p, 'signature-policy') });
  if (bool(p, 'json')) return ctx.out(JSON.stringify({ ok: true, signer: v.signer.id, source: v.signer.source, sha256: v.sha256, tarSize: v.tarSize }, null, 2));
  ctx.out(`OK ${v.signer.id}`);
}
