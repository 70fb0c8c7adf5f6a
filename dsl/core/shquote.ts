/** Quotes s for a POSIX shell with single quotes (dash reads it; no bash-only forms). */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
