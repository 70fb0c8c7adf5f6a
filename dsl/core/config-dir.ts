import os from 'node:os';
import path from 'node:path';
import { findUser, readHostPasswd } from './passwd.js';

/*
 * cairn's key, trust and policy directory, without heavy imports: exec's cached start and the policy loader
 * need it and must not load the curve library that keys.ts loads.
 */

/** The home directory of the real user, also inside cairn's rootless namespace (where the uid is 0). */
export function realHome(): string {
  if (process.env.HOME) return process.env.HOME;
  const uid = process.env.CAIRN_ROOTLESS_UID;
  if (uid && /^\d+$/.test(uid)) {
    const home = findUser(readHostPasswd(), Number(uid))?.home;
    if (home) return home;
  }
  return os.homedir();
}

/** cairn's key and trust directory: ${XDG_CONFIG_HOME:-~/.config}/cairn. */
export function configDir(): string {
  const base = process.env.XDG_CONFIG_HOME && path.isAbsolute(process.env.XDG_CONFIG_HOME) ? process.env.XDG_CONFIG_HOME : path.join(realHome(), '.config');
  return path.join(base, 'cairn');
}
