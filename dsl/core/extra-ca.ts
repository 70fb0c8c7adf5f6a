import { promises as fsp } from 'node:fs';

/**
 * The CAs of NODE_EXTRA_CA_CERTS when Node.js did not load them at start-up: the `cairn` command hands the
 * variable over as CAIRN_EXTRA_CA_CERTS (see bin/cairn), and what connects with TLS reads it then. A missing
 * file is ignored, as Node.js ignores it (with a warning).
 */
export async function extraCAs(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const file = env.NODE_EXTRA_CA_CERTS ? undefined : env.CAIRN_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [await fsp.readFile(file, 'utf8')];
  } catch {
    return [];
  }
}

/**
 * What a TLS client of cairn's passes as `ca`: the system's CAs and those of extraCAs(), when there are such
 * (Node's `ca` replaces the system's); undefined when there are none: Node.js's defaults are then complete.
 */
export async function trustedCAs(env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  const extra = await extraCAs(env);
  if (!extra.length) return undefined;
  const { rootCertificates } = await import('node:tls');
  return [...rootCertificates, ...extra];
}
