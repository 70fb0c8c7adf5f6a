/** Formats rows as space-padded columns, with an optional heading. */
export function table(head: string[] | null, rows: string[][]): string {
  const all = head ? [head, ...rows] : rows;
  if (all.length === 0) return '';
  const w = all[0].map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] + 2))).join('').trimEnd()).join('\n');
}
