/*
 * The build context's .dockerignore, as Docker reads it: `<Dockerfile>.dockerignore` beside the Dockerfile wins
 * over CONTEXT/.dockerignore. Lines are trimmed, `#` lines and blank lines skipped, each pattern cleaned like a
 * path (a leading `/` dropped: patterns are relative to the context root), `!` marks an exception, and the last
 * matching line decides. A path is excluded when it or a parent directory matches (Go's filepath.Match plus
 * `**`), the matching being @balena/dockerignore's port of moby's.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ignoreModule from '@balena/dockerignore';

// The package is CommonJS (module.exports = the factory) but its types declare an ES default export.
const ignore = ignoreModule as unknown as typeof ignoreModule.default;

/** What the context's .dockerignore leaves out. */
export interface ContextFilter {
  /** True when the context-relative path (with '/') is left out of the context. */
  excluded(rel: string): boolean;
  /** The cleaned patterns, in file order (`!` kept on exceptions). */
  patterns: string[];
}

/** Cleans one .dockerignore line as Docker does; undefined for comments and blank lines. */
export function cleanPattern(line: string): string | undefined {
  let p = line.trim();
  if (p === '' || p.startsWith('#')) return undefined;
  const not = p.startsWith('!');
  if (not) p = p.slice(1).trim();
  if (p === '') return undefined;
  p = path.posix.normalize(p.replace(/\\/g, '/'));
  if (p.length > 1 && p.startsWith('/')) p = p.replace(/^\/+/, '') || '/';
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return not ? `!${p}` : p;
}

/** The filter of a list of .dockerignore lines. */
export function filterOf(lines: string[]): ContextFilter {
  const patterns = lines.map(cleanPattern).filter((p): p is string => p !== undefined);
  // Without a pattern nothing is left out (a context without .dockerignore: no path is matched).
  if (patterns.length === 0) return { patterns, excluded: () => false };
  const ig = ignore().add(patterns);
  return {
    patterns,
    excluded(rel: string): boolean {
      const clean = path.posix.normalize(rel).replace(/^(\.\/)+|\/+$/g, '');
      if (clean === '' || clean === '.') return false;
      return ig.ignores(clean);
    },
  };
}

/** True when walking into the excluded directory rel may still find included files (an exception exists). */
export function mayHoldIncluded(filter: ContextFilter, rel: string): boolean {
  return !filter.excluded(rel) || filter.patterns.some((p) => p.startsWith('!'));
}

/** Reads the .dockerignore that applies to a build of contextDir with the Dockerfile at dockerfilePath (if a file). */
export async function contextFilter(contextDir: string, dockerfilePath?: string): Promise<ContextFilter> {
  const candidates = [];
  if (dockerfilePath !== undefined && dockerfilePath !== '-') candidates.push(`${dockerfilePath}.dockerignore`);
  candidates.push(path.join(contextDir, '.dockerignore'));
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    return filterOf(text.split(/\r?\n/));
  }
  return filterOf([]);
}
