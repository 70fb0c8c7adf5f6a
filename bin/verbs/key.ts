import { keys, UsageError } from '../../dsl/index.js';
import { bool, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn key`: the local signing key and the keys trusted by verify and exec. */
export const spec: VerbSpec = {
  name: 'key',
  usage: 'key generate | show [--json] | trust PUB | list [--json]',
  summary:
    'Manage signing keys in ${XDG_CONFIG_HOME:-~/.config}/cairn: generate a new local key (the old one stays trusted), ' +
    'show the public key (PEM on stdout, its ID on stderr), trust PUB (a PEM file or an identity string), list trusted keys.',
  example: 'cairn key show > me.pub.pem   # elsewhere: cairn key trust me.pub.pem',
  flags: { json: { kind: 'bool', help: 'print JSON (show, list)' } },
  min: 1,
  max: 2,
};

/** Runs a key subcommand. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const [sub, arg] = p.args;
  const json = bool(p, 'json');
  if (sub !== 'trust' && arg !== undefined) throw new UsageError(`key ${sub} takes no argument`);
  switch (sub) {
    case 'generate': {
      const k = await keys.generate();
      return ctx.out(json ? JSON.stringify({ id: k.id, source: k.source }) : k.id);
    }
    case 'show': {
      const k = await keys.show();
      if (json) return ctx.out(JSON.stringify({ id: k.id, publicKey: k.pem, source: k.source }, null, 2));
      process.stderr.write(`key ID: ${k.id}\n`);
      return ctx.out(k.pem);
    }
    case 'trust': {
      if (arg === undefined) throw new UsageError('key trust needs PUB: a public key PEM file or an identity string');
      const k = await keys.trust(arg);
      return ctx.out(json ? JSON.stringify({ id: k.id, source: k.source }) : k.id);
    }
    case 'list': {
      const all = await keys.list();
      if (json) return ctx.out(JSON.stringify(all, null, 2));
      return ctx.out(all.map((k) => `${k.id}  ${k.source}`).join('\n'));
    }
    default:
      throw new UsageError(`unknown key subcommand ${sub}: use generate, show, trust or list`);
  }
}
