// Import rules (docs/decisions.md, "Layout"): dsl/'s folders form layers and import only downward, with no
// cycles; bin/ and shell/ see only the public API (dsl/index.ts); the engine never imports a front door.
// Checked on the compiled tree by `npm test` (test/integration/layout/imports.test.ts): `npx depcruise --config .dependency-cruiser.cjs dist/bin/cairn.js dist/dsl/index.js` (from the entry points, so stale compiled files are not seen).
/**
 * dsl/'s folders from the top layer to the bottom one: the order of ../shared/design/overview.md, except that
 * flat/ (the bali format: names, trailer, signing, verification, reading) sits below transport/, whose
 * tarball: reads it, and exporting to a flat file (it mounts trees) lives in container/export.ts; and delta/
 * (chunked gzip, the .cidx index, range fetch) sits just above layer/, since every gzip cairn writes, store/'s
 * layers included, comes from its compressor.
 */
const LAYERS = ['dockerfile', 'exec', 'registry', 'container', 'sandbox', 'image', 'transport', 'flat', 'store', 'delta', 'layer', 'sign', 'oci', 'core'];

const downward = LAYERS.slice(1).map((name, i) => ({
  name: `layer-${name}`,
  comment: `dsl/${name}/ may import only the folders below it: ${LAYERS.slice(i + 2).join(', ') || 'none'}`,
  severity: 'error',
  from: { path: `^dist/dsl/${name}/` },
  to: { path: `^dist/dsl/(${LAYERS.slice(0, i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...downward,
    { name: 'no-cycle', severity: 'error', comment: 'no import cycle anywhere', from: {}, to: { circular: true } },
    {
      name: 'folders-below-the-api',
      severity: 'error',
      comment: "dsl/'s folders never import the public API's own files (dsl/*.ts)",
      from: { path: '^dist/dsl/[^/]+/' },
      to: { path: '^dist/dsl/[^/]+\\.js$' },
    },
    {
      name: 'front-doors-use-the-api',
      severity: 'error',
      comment: 'bin/ and shell/ import only dsl/index.ts of the engine',
      from: { path: '^dist/(bin|shell)/' },
      to: { path: '^dist/dsl/', pathNot: '^dist/dsl/index\\.js$' },
    },
    {
      name: 'engine-never-imports-a-front-door',
      severity: 'error',
      from: { path: '^dist/dsl/' },
      to: { path: '^dist/(bin|shell)/' },
    },
    {
      name: 'shell-below-bin',
      severity: 'error',
      comment: 'the shell is handed the CLI verbs by `cairn shell`; it never imports bin/',
      from: { path: '^dist/shell/' },
      to: { path: '^dist/bin/' },
    },
  ],
  options: {
    // The compiled JavaScript is cruised: the installed TypeScript (7) has no compiler API for the cruiser, and
    // what is checked is what loads at run time. dist/cli (the bundle) is not source.
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist/cli)/' },
  },
};
