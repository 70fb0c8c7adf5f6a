import type { RegistryOptions } from '../dsl/index.js';
import { bool, str, type FlagSpec, type Parsed } from './args.js';

/** The signing flags of verbs that write docker:// images, as skopeo spells them (docs/registry-signatures.md). */
export const SIGN_FLAGS: Record<string, FlagSpec> = {
  sign: { kind: 'bool', help: 'attach a sigstore signature made with your cairn key (tag sha256-HEX.sig)' },
  'sign-key': { kind: 'string', help: 'sign the sigstore signature with this private key PEM instead of your cairn key (implies --sign)', arg: 'FILE' },
  'sign-by': { kind: 'string', help: 'add an OpenPGP simple signature made by gpg with this key, to the lookaside registries.d names', arg: 'FINGERPRINT' },
  'sign-passphrase-file': { kind: 'string', help: 'read the passphrase of the --sign-by key from FILE', arg: 'FILE' },
  'registries.d': { kind: 'string', help: 'the registries.d directory saying where OpenPGP signatures are stored', arg: 'DIR' },
};

/** The signing options the flags give (only those given: the rest stay unset). */
export function signOptions(p: Parsed): Pick<RegistryOptions, 'sign' | 'signKey' | 'signBy' | 'signPassphraseFile' | 'registriesD'> {
  const o = { sign: bool(p, 'sign') || undefined, signKey: str(p, 'sign-key'), signBy: str(p, 'sign-by'), signPassphraseFile: str(p, 'sign-passphrase-file'), registriesD: str(p, 'registries.d') };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
