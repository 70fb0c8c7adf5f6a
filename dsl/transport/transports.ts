import { BadInputError, CairnError } from '../core/errors.js';
import type { SourceImage } from './source.js';
import { formatReference, type ImageRef } from '../oci/reference.js';

/*
 * Each transport's module is loaded when a call uses it (import()): a copy from an OCI layout to a registry
 * loads neither the archive transports nor the tar code they need.
 */

/** Options of a docker:// registry, as skopeo spells them (docs/registries.md). */
export interface RegistryOptions {
  /** `USER:PASS` for the registry (--creds). */
  creds?: string;
  /** The auth file to read credentials from, instead of the default places (--authfile). */
  authfile?: string;
  /** Verify the registry's TLS certificate (default true); false also allows plain HTTP (--tls-verify=false). */
  tlsVerify?: boolean;
  /** A directory of *.crt CAs and NAME.cert/NAME.key client pairs for the registry (--cert-dir). */
  certDir?: string;
  /** The platform to choose from an index, `os/arch[/variant]` (default: this machine's). */
  platform?: string;
  /** Push: also attach a sigstore (cosign-layout) signature made with cairn's ed25519 key (--sign). */
  sign?: boolean;
  /** Push: the private key file to sign with instead of the user's cairn key (--sign-key). */
  signKey?: string;
  /** Push: also make an OpenPGP simple signature with the user's gpg key of this fingerprint (--sign-by). */
  signBy?: string;
  /** Push: a file holding the passphrase of the --sign-by key (--sign-passphrase-file). */
  signPassphraseFile?: string;
  /** The registries.d directory configuring where simple signatures are stored and read (--registries.d). */
  registriesD?: string;
}

/** Options every transport call takes. */
export interface TransportOptions {
  /** Where sources that must unpack (archives) keep their files until close(); same filesystem as the store is best. */
  tmpDir: string;
  /** The signature policy file to judge sources by (--signature-policy); else the default places (docs/signing.md). */
  signaturePolicy?: string;
  /** Options of docker:// sources and destinations. */
  registry?: RegistryOptions;
}

/** Opens a docker:// reference (the text after `docker://`) for reading. */
export type DockerSourceOpener = (ref: string, opts: TransportOptions) => Promise<SourceImage>;

/** Writes an image to a docker:// reference (the text after `docker://`). */
export type DockerDestinationWriter = (ref: string, img: SourceImage, opts: TransportOptions) => Promise<void>;

/*
 * The registry client sits above transport/ (overview.md): it plugs its docker:// reader in here when a
 * caller above both loads it (dsl/registry/plug.ts), so that nothing here imports it and no verb that does
 * not use a registry loads it.
 */
let dockerSource: DockerSourceOpener | undefined;
let dockerDestination: DockerDestinationWriter | undefined;

/** Registers the docker:// reader (called by dsl/registry/plug.ts). */
export function registerDockerSource(open: DockerSourceOpener): void {
  dockerSource = open;
}

/** Registers the docker:// writer (called by dsl/registry/plug.ts). */
export function registerDockerDestination(write: DockerDestinationWriter): void {
  dockerDestination = write;
}

/** Applies the signature policy to a source that carries no cairn signature; loaded only when used. */
async function admit(transport: string, location: string, ref: string | undefined, policy: string | undefined): Promise<void> {
  const { admitUnsignable } = await import('../sign/trust.js');
  admitUnsignable(transport, location, ref, policy);
}

function registryUnavailable(): CairnError {
  return new CairnError('registry transport docker:// is not available in this version', { hint: 'the public API (from, pull, inspect, push, copyImage) loads it; else use oci:, oci-archive: or docker-archive:' });
}

/** Opens the image r names for reading (oci, oci-archive, docker-archive, tarball, scratch, and docker once registered), as the signature policy allows. Call close() when done. */
export async function openSource(r: ImageRef, opts: TransportOptions): Promise<SourceImage> {
  switch (r.transport) {
    case 'scratch':
      return (await import('./assemble.js')).scratchImage();
    case 'oci': {
      const [m] = await Promise.all([import('./oci-layout.js'), admit('oci', r.dir, r.ref, opts.signaturePolicy)]);
      return m.readLayout(r.dir, r.ref);
    }
    case 'oci-archive': {
      const [m] = await Promise.all([import('./oci-archive.js'), admit('oci-archive', r.file, r.ref, opts.signaturePolicy)]);
      return m.readOciArchive(r.file, r.ref, opts.tmpDir);
    }
    case 'docker-archive': {
      const [m] = await Promise.all([import('./docker-archive.js'), admit('docker-archive', r.file, r.ref, opts.signaturePolicy)]);
      return m.readDockerArchive(r.file, r.ref, opts.tmpDir);
    }
    case 'tarball':
      return (await import('./tarball.js')).readTarball(r.path, { signaturePolicy: opts.signaturePolicy, tmpDir: opts.tmpDir });
    case 'docker':
      if (!dockerSource) throw registryUnavailable();
      return dockerSource(r.ref, opts);
    case 'store':
      throw new CairnError(`store image ${r.name} cannot be opened by the transport layer`, { hint: 'open store images through the image store' });
  }
}

/** The modules that write the file transports, loaded when used (writeImage, or preloadWriter ahead of it). */
const writers = {
  oci: () => import('./oci-layout.js'),
  'oci-archive': () => import('./oci-archive.js'),
  'docker-archive': () => import('./docker-archive.js'),
};

/** Starts loading the module that writes to r, so that it is ready when writeImage is called (a copy reads its source meanwhile). */
export function preloadWriter(r: ImageRef): void {
  // A module that fails to load fails writeImage's own import, which reports it.
  if (r.transport in writers) writers[r.transport as keyof typeof writers]().catch(() => undefined);
}

/**
 * Writes img to r (oci, oci-archive, docker-archive, and docker once registered). names are the image's names, used for a
 * docker archive's RepoTags when r has no NAME:TAG of its own.
 */
export async function writeImage(r: ImageRef, img: SourceImage, opts: TransportOptions & { names?: string[] }): Promise<void> {
  switch (r.transport) {
    case 'oci':
      return (await writers.oci()).writeLayout(r.dir, img, r.ref);
    case 'oci-archive':
      return (await writers['oci-archive']()).writeOciArchive(r.file, img, r.ref);
    case 'docker-archive':
      if (r.ref?.startsWith('@')) throw new BadInputError(`cannot write to ${formatReference(r)}`, { hint: 'name the image docker-archive:FILE:NAME:TAG, or leave the name out' });
      return (await writers['docker-archive']()).writeDockerArchive(r.file, img, r.ref ? [r.ref] : (opts.names ?? img.names ?? []), opts.tmpDir);
    case 'docker':
      if (!dockerDestination) throw registryUnavailable();
      return dockerDestination(r.ref, img, opts);
    case 'scratch':
    case 'tarball':
      throw new BadInputError(`cannot write an image to ${formatReference(r)}`, { hint: r.transport === 'tarball' ? 'use cairn export to write a flat tarball' : 'write to oci:, oci-archive: or docker-archive:' });
    case 'store':
      throw new CairnError(`store image ${r.name} cannot be written by the transport layer`, { hint: 'commit or pull into the store through the image store' });
  }
}
