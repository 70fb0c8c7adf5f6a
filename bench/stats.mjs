// Small statistics and number formatting for the bench report.

/** The median of numbers (mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A duration in seconds as "123 ms" below one second, else "4.21 s". */
export function fmtTime(sec) {
  if (sec === undefined || Number.isNaN(sec)) return 'n/a';
  return sec < 1 ? `${(sec * 1000).toFixed(0)} ms` : `${sec.toFixed(2)} s`;
}

/** A ratio as "0.42×" (n/a when either side is missing). */
export function fmtRatio(r) {
  return r === undefined || !Number.isFinite(r) ? 'n/a' : `${r.toFixed(2)}×`;
}

/** cairn time / buildah time, or undefined when either is missing. */
export function ratio(cairn, buildah) {
  return cairn === undefined || buildah === undefined || buildah === 0 ? undefined : cairn / buildah;
}

/** Bytes as MB (10^6) with one decimal. */
export function fmtMB(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
