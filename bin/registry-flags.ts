import type { RegistryOptions } from '../dsl/index.js';
import { str, type FlagSpec, type Parsed } from './args.js';

/** The registry flags of verbs that read or write docker:// references, as skopeo spells them. */
export const REGISTRY_FLAGS: Record<string, FlagSpec> = {
  creds: { kind: 'string', help: 'registry credentials USER:PASS', arg: 'USER:PASS' },
  authfile: { kind: 'string', help: 'read registry credentials from this auth file only', arg: 'FILE' },
  'tls-verify': { kind: 'bool', help: 'verify the registry\'s TLS certificate (default true; =false also allows plain HTTP)' },
  'cert-dir': { kind: 'string', help: 'directory of *.crt CAs and NAME.cert/NAME.key client pairs for the registry', arg: 'DIR' },
  platform: { kind: 'string', help: 'the image to choose from a multi-platform index (default: this machine\'s)', arg: 'OS/ARCH[/VARIANT]' },
};

/** The registry options the flags give. */
export function registryOptions(p: Parsed): RegistryOptions {
  const verify = p.flags['tls-verify'];
  return { creds: str(p, 'creds'), authfile: str(p, 'authfile'), tlsVerify: typeof verify === 'boolean' ? verify : undefined, certDir: str(p, 'cert-dir'), platform: str(p, 'platform') };
}
