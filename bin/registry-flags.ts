import type { RegistryOptions } from '../dsl/index.js';
import { str, type FlagSpec, type Parsed } from './args.js';

/** The registry flags of verbs that read or write docker:// references, as skopeo spells them. */
export const REGISTRY_FLAGS: Record<string, FlagSpec> = {
  creds: { kind: 'string', help: 'registry credentials USER:PASS', arg: 'USER:PASS' },
  authfile: { kind: 'string', help: 'read registry credentials from this auth file only', arg: 'FILE' },
  'tls-verify': { kind: 'bool', help: 'verify the registry\'s TLS certificate (default true; =false also allows plain HTTP)' },
  'cert-dir': { kind: 'string', help: 'directory of *.crt CAs and NAME.cert/NAME.key client pairs for the registry', arg: 'DIR' },
  platform: { kind: 'string', help: 'the image to choose from a multi-platform index (default: this machine\'s)', arg: 'OS/ARCH[/VARIANT]' },
  'registries.d': { kind: 'string', help: 'the registries.d directory saying where OpenPGP signatures are stored (lookaside)', arg: 'DIR' },
};

/** One side of a copy: `src` or `dest`. */
export type CopySide = 'src' | 'dest';

/** The flags of one side of a copy (skopeo's --src-creds, --dest-tls-verify, …), over the plain ones for that side. */
function sideFlags(side: CopySide): Record<string, FlagSpec> {
  const which = side === 'src' ? 'the source' : 'the destination';
  return {
    [`${side}-creds`]: { kind: 'string', help: `credentials USER:PASS for ${which} registry`, arg: 'USER:PASS' },
    [`${side}-authfile`]: { kind: 'string', help: `read credentials for ${which} registry from this auth file only`, arg: 'FILE' },
    [`${side}-tls-verify`]: { kind: 'bool', help: `verify the TLS certificate of ${which} registry (=false also allows plain HTTP)` },
    [`${side}-cert-dir`]: { kind: 'string', help: `directory of *.crt CAs and client pairs for ${which} registry`, arg: 'DIR' },
  };
}

/** The per-side registry flags of copy-image. */
export const SIDE_REGISTRY_FLAGS: Record<string, FlagSpec> = { ...sideFlags('src'), ...sideFlags('dest') };

function verifyFlag(p: Parsed, name: string): boolean | undefined {
  const v = p.flags[name];
  return typeof v === 'boolean' ? v : undefined;
}

/** The registry options the flags give. */
export function registryOptions(p: Parsed): RegistryOptions {
  return { creds: str(p, 'creds'), authfile: str(p, 'authfile'), tlsVerify: verifyFlag(p, 'tls-verify'), certDir: str(p, 'cert-dir'), platform: str(p, 'platform'), registriesD: str(p, 'registries.d') };
}

/** The registry options one side's own flags give (unset ones left out, so that the plain flags apply). */
export function sideRegistryOptions(p: Parsed, side: CopySide): RegistryOptions {
  const o: RegistryOptions = { creds: str(p, `${side}-creds`), authfile: str(p, `${side}-authfile`), tlsVerify: verifyFlag(p, `${side}-tls-verify`), certDir: str(p, `${side}-cert-dir`) };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as RegistryOptions;
}
