import { existsSync } from 'node:fs';
import path from 'node:path';
import { CairnError } from './errors.js';

/** The PATH a command gets when its image sets none (docker's and buildah's default), without `PATH=`. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** DEFAULT_PATH as an environment entry. */
export const DEFAULT_PATH_ENV = `PATH=${DEFAULT_PATH}`;

/** Where host tools are looked for, distribution directories first (the caller's PATH is not trusted for them). */
export const HOST_TOOL_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

const found = new Map<string, string | undefined>();

/** The absolute path of host tool name in HOST_TOOL_DIRS (or in dirs), or undefined when none has it. Cached. */
export function which(name: string, dirs: readonly string[] = HOST_TOOL_DIRS): string | undefined {
  const key = dirs === HOST_TOOL_DIRS ? name : `${dirs.join(':')}\0${name}`;
  if (found.has(key)) return found.get(key);
  const p = dirs.map((d) => path.join(d, name)).find((f) => existsSync(f));
  // Only a hit is kept: a tool installed meanwhile is found on the next call.
  if (p) found.set(key, p);
  return p;
}

/**
 * The absolute path of a host tool, or a CairnError telling which package to install. Launchers name their
 * tools by absolute path: the image's PATH, not the host's, is in force when some of them run.
 */
export function hostTool(name: string, pkg: string): string {
  const p = which(name);
  if (!p) throw new CairnError(`${name} is not installed`, { hint: `install ${pkg}` });
  return p;
}

/** A copy of an image's Env with PATH=DEFAULT_PATH first when it sets no PATH (as buildah and docker run it). */
export function envWithPath(env: readonly string[] | undefined): string[] {
  const out = [...(env ?? [])];
  if (!out.some((e) => e.startsWith('PATH='))) out.unshift(DEFAULT_PATH_ENV);
  return out;
}
