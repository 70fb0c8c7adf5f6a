// The printed report: one table per case, then the goals summary (stdout only).
import { fmtRatio, fmtTime, ratio } from './stats.mjs';

/** Pads cells into aligned columns (first column left-aligned, the others right-aligned). */
export function table(header, rows) {
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c ?? '').padEnd(w[i]) : String(c ?? '').padStart(w[i]))).join('   ').trimEnd();
  return [line(header), w.map((n) => '─'.repeat(n)).join('   '), ...rows.map(line)].join('\n');
}

/** A value of a row's column: seconds (± σ when known) or MiB. */
function cell(row, key) {
  const v = row[key];
  if (v === undefined) return '—';
  if (row.unit === 'MiB') return `${v.toFixed(1)} MiB`;
  const sd = row.sd?.[key];
  return sd === undefined ? fmtTime(v) : `${fmtTime(v)} ± ${fmtTime(sd)}`;
}

/** The individual run times of a row, e.g. "cairn 4.1/4.2/4.3 s; buildah 6.0/6.4/6.9 s". */
function runsLine(runs) {
  return Object.entries(runs)
    .map(([k, xs]) => `${k} ${xs.map((x) => x.toFixed(2)).join(' / ')} s`)
    .join('; ');
}

/** Prints one case's section: title, table of rows (cairn, buildah, ratio, or a lone "time" column; res.columns renames the pair), notes. */
export function printSection(res) {
  const out = [`\n■ ${res.title}\n`];
  const tableRows = [];
  for (const r of res.rows) {
    if (r.other !== undefined) tableRows.push([r.what, '', '', '', cell(r, 'other')]);
    else tableRows.push([r.what, cell(r, 'cairn'), cell(r, 'buildah'), r.buildah === undefined ? '' : fmtRatio(ratio(r.cairn, r.buildah)), '']);
  }
  const hasOther = res.rows.some((r) => r.other !== undefined);
  const hasPair = res.rows.some((r) => r.other === undefined);
  const header = ['', ...(res.columns ?? ['cairn', 'buildah', 'cairn/buildah']), 'time'];
  const keep = header.map((_, i) => i === 0 || (i < 4 ? hasPair : hasOther));
  const pick = (r) => r.filter((_, i) => keep[i]);
  out.push(table(pick(header), tableRows.map(pick)).replace(/^/gm, '  '));
  for (const r of res.rows) if (r.runs) out.push(`  runs (${r.what.split('  vs  ')[0].trim()}): ${runsLine(r.runs)}`);
  for (const n of res.notes ?? []) out.push(`  note: ${n}`);
  process.stdout.write(out.join('\n') + '\n');
}

/** A goal's measured value as text: a ratio, a time, or MiB. */
function measured(g) {
  if (g.measured === undefined) return 'n/a';
  if (g.kind === 'ratio') return fmtRatio(g.measured);
  if (g.kind === 'time') return fmtTime(g.measured);
  return `${Number.isInteger(g.measured) ? g.measured : g.measured.toFixed(1)} ${g.kind}`;
}

/** A goal's target as text. */
function target(g) {
  if (g.error) return '—';
  if (g.kind === 'ratio') return `≤ ${fmtRatio(g.target)}`;
  if (g.kind === 'time') return `≤ ${fmtTime(g.target)}`;
  if (g.kind === 'MB/s') return `≥ ${g.target} MB/s`;
  return `< ${g.target} ${g.kind}`;
}

/** Prints the summary table of every goal with PASS or MISS (and ERROR for a case that crashed). */
export function printSummary(goals) {
  const rows = goals.map((g) => [g.goal, measured(g), target(g), g.error ? 'ERROR' : g.pass ? 'PASS' : 'MISS']);
  const pass = goals.filter((g) => g.pass).length;
  process.stdout.write(`\n■ Summary: ${pass} of ${goals.length} goals met\n\n${table(['goal', 'measured', 'target', 'result'], rows).replace(/^/gm, '  ')}\n`);
}
