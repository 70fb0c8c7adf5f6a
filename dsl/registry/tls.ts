import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BadInputError, NotFoundError } from '../core/errors.js';
import { realHome } from '../core/config-dir.js';
import { extraCAs } from '../core/extra-ca.js';
import { direntsOrEmpty, statOrUndefined } from '../core/fsutil.js';

/*
 * TLS settings of one registry, as containers-certs.d(5) lays them out: a directory per `host[:port]` holding
 * CA certificates (`*.crt`, trusted besides the system's) and client certificate pairs (`NAME.cert` with
 * `NAME.key`). The directory is --cert-dir when given, else the first of the user's
 * ${XDG_CONFIG_HOME:-~/.config}/containers/certs.d/HOST, /etc/containers/certs.d/HOST and /etc/docker/certs.d/HOST
 * that exists.
 */

/** The TLS options one registry's connections use. */
export interface TlsSettings {
  /** Verify the server's certificate (--tls-verify, default true). */
  verify: boolean;
  /** Extra CA certificates (PEM) trusted besides the system's. */
  ca: string[];
  /** A client certificate and its key (PEM), when the directory holds one. */
  cert?: string;
  key?: string;
  /** The directory the files came from, for messages. */
  dir?: string;
}

/** What the user gave: --tls-verify and --cert-dir. */
export interface TlsOptions {
  tlsVerify?: boolean;
  certDir?: string;
}

/** The per-host certificate directories looked at for registry (host[:port]), in order. */
export function certDirs(registry: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const config = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(realHome(), '.config');
  return [path.join(config, 'containers', 'certs.d', registry), path.join('/etc/containers/certs.d', registry), path.join('/etc/docker/certs.d', registry)];
}

async function readPem(file: string): Promise<string> {
  return fsp.readFile(file, 'utf8');
}

/** Reads one certificate directory: its CAs and at most one client pair. */
export async function readCertDir(dir: string): Promise<Omit<TlsSettings, 'verify'>> {
  const names = (await direntsOrEmpty(dir)).filter((d) => d.isFile() || d.isSymbolicLink()).map((d) => d.name).sort();
  const ca: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  for (const n of names) {
    if (n.endsWith('.crt')) ca.push(await readPem(path.join(dir, n)));
    if (n.endsWith('.cert')) {
      const keyName = n.slice(0, -'.cert'.length) + '.key';
      if (!names.includes(keyName)) throw new BadInputError(`client certificate ${path.join(dir, n)} has no key ${keyName} beside it`, { hint: 'put NAME.key next to NAME.cert (containers-certs.d(5))' });
      if (cert === undefined) {
        cert = await readPem(path.join(dir, n));
        key = await readPem(path.join(dir, keyName));
      }
    }
    if (n.endsWith('.key') && !names.includes(n.slice(0, -'.key'.length) + '.cert')) {
      throw new BadInputError(`key ${path.join(dir, n)} has no client certificate ${n.slice(0, -'.key'.length)}.cert beside it`, { hint: 'put NAME.cert next to NAME.key (containers-certs.d(5))' });
    }
  }
  return { ca, cert, key, dir };
}

/** The TLS settings for registry (host[:port]) under the user's options. */
export async function tlsSettings(registry: string, o: TlsOptions, env: NodeJS.ProcessEnv = process.env): Promise<TlsSettings> {
  const verify = o.tlsVerify ?? true;
  const extra = await extraCAs(env);
  const withExtra = (t: Omit<TlsSettings, 'verify'>): TlsSettings => ({ verify, ...t, ca: [...extra, ...t.ca] });
  if (o.certDir !== undefined) {
    const st = await statOrUndefined(o.certDir);
    if (!st) throw new NotFoundError(`certificate directory ${o.certDir} does not exist`, { hint: 'give --cert-dir a directory of *.crt CAs and NAME.cert/NAME.key pairs' });
    if (!st.isDirectory()) throw new BadInputError(`--cert-dir ${o.certDir} is not a directory`, { hint: 'give --cert-dir a directory of *.crt CAs and NAME.cert/NAME.key pairs' });
    return withExtra(await readCertDir(o.certDir));
  }
  for (const dir of certDirs(registry, env)) {
    if ((await statOrUndefined(dir))?.isDirectory()) return withExtra(await readCertDir(dir));
  }
  return withExtra({ ca: [] });
}
