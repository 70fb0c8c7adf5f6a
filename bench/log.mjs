// Progress messages for the bench: stderr only, so stdout stays the report.

/** Writes a progress line to stderr, prefixed with the elapsed time since the bench started. */
export function log(msg) {
  const s = (performance.now() / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[bench ${s}s] ${msg}\n`);
}
