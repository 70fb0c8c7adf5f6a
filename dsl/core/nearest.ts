/*
 * The closest of a set of names to a mistyped one: verbs (the CLI, the shell) and option names (the script API).
 */

/** The edit distance between a and b (insertions, deletions, substitutions). */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The name closest to word within an edit distance of 2, and of half the word's length (`ls` is no `gc`), if any. */
export function didYouMean(word: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Math.min(2, Math.floor(word.length / 2)) + 1;
  for (const n of names) {
    const d = levenshtein(word, n);
    if (d < bestD && d > 0) [best, bestD] = [n, d];
  }
  return best;
}
