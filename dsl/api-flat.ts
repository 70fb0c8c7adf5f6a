import type { ExecOptions, PreparedExec } from './exec/start.js';
import type { Launch } from './exec/launch.js';
import type { FetchImageResult, FetchOptions } from './exec/fetch-image.js';
import type { VerifyOptions, VerifyResult } from './exec/verify-file.js';

/*
 * Flat signed images (the bali format) beyond export: the signing keys, verification of a file or URL, and
 * running one in place (`cairn exec`). Each call loads its engine (and the curve library) when it is made.
 */

/** A key as cairn shows it: its identity string (the key ID) and the file (or text) it came from. */
export interface KeyInfo {
  id: string;
  source: string;
}

/** The local signing key and the keys trusted by verify and exec, kept in ${XDG_CONFIG_HOME:-~/.config}/cairn. */
export const keys = {
  /** Makes a new local key (the old one stays trusted, so what it signed still verifies); returns it. */
  async generate(): Promise<KeyInfo> {
    const { generateKey } = await import('./sign/keys.js');
    const k = await generateKey();
    return { id: k.id, source: k.source };
  },
  /** The local public key (made on first use): its ID, its file and its PEM text. */
  async show(): Promise<KeyInfo & { pem: string }> {
    const [{ localKey }, { publicKeyToPem }] = await Promise.all([import('./sign/keys.js'), import('./sign/pem.js')]);
    const k = await localKey();
    return { id: k.id, source: k.source, pem: publicKeyToPem(k.publicKey) };
  },
  /** Trusts a public key, given as a PEM file or an identity string; returns it. */
  async trust(pub: string): Promise<KeyInfo> {
    const { trustKey } = await import('./sign/keys.js');
    const k = await trustKey(pub);
    return { id: k.id, source: k.source };
  },
  /** Every key verify and exec trust (the local keys included). */
  async list(): Promise<KeyInfo[]> {
    const { trustedKeys } = await import('./sign/keys.js');
    return (await trustedKeys()).map((k) => ({ id: k.id, source: k.source }));
  },
};

/**
 * Verifies a flat tarball, a file or an http(s) URL: a valid signature by a trusted key (or only opts.key)
 * that the signature policy accepts; throws a SignatureError naming the file otherwise.
 */
export async function verify(fileOrUrl: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const { verifyFlat } = await import('./exec/verify-file.js');
  return verifyFlat(fileOrUrl, opts);
}

/** Verifies (or finds unchanged in the exec cache) a flat signed image and prepares the command that runs it in place. */
export async function prepareExec(fileOrUrl: string, opts: ExecOptions = {}): Promise<PreparedExec> {
  const { prepareExec: prepare } = await import('./exec/start.js');
  return prepare(fileOrUrl, opts);
}

/** Runs a prepared image as a child process, forwarding signals to it; resolves to its exit status. */
export async function runExec(launch: Launch): Promise<number> {
  const { runExec: run } = await import('./exec/start.js');
  return run(launch);
}

/** Verifies a flat signed image (a file or an http(s) URL) and runs it as a child process; resolves to its exit status. */
export async function exec(fileOrUrl: string, opts: ExecOptions = {}): Promise<number> {
  return runExec(await prepareExec(fileOrUrl, opts));
}

/** Fetches (or updates) a flat signed image at an http(s) URL into the exec cache without running it; with dryRun, only reports what it would download. */
export async function fetchImage(url: string, opts: FetchOptions = {}): Promise<FetchImageResult> {
  const { fetchImage: fetch } = await import('./exec/fetch-image.js');
  return fetch(url, opts);
}
