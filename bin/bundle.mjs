// Bundles the compiled CLI (dist/bin, dist/dsl: run after tsc) into dist/cli, the code the `cairn` command
// runs, and writes dist/cli/lock-server.pl, the lock server the command starts beside node.
//
// Start-up time is mostly modules: Node.js pays for every ESM file it loads, and esbuild's code splitting
// gives a chunk to every set of entry points (each `import()` target is one) that share code: `from` loaded
// 34 files. So every `import()` target of cairn's own also imports the hot group below (a verb's common path:
// argv, logger, public API, store, container engine, image lookup, and what they import), which puts all of
// it in one chunk: a verb loads that chunk, its own file and the few stubs of what it imports lazily. The
// rest (transports, registry, layers, signing, exec…) stays split and is loaded only when used.
import * as esbuild from 'esbuild';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dist = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'dist');
const outdir = path.join(dist, 'cli');

/** A verb's common path (modules of dist/; what they import statically comes along). */
const HOT = [
  'bin/dispatch.js',
  'bin/args.js',
  'bin/log.js',
  'bin/verb.js',
  'dsl/api.js',
  'dsl/api-container.js',
  'dsl/api-image.js',
  'dsl/api-flat.js',
  'dsl/inspect.js',
  'dsl/core/errors.js',
  'dsl/store/store.js',
  'dsl/store/paths.js',
  'dsl/container/engine.js',
  'dsl/image/resolve.js',
].map((f) => path.join(dist, f));

/** Makes each `import()` of a relative module load a stub that also imports (and so keeps) the hot group. */
const hotGroup = {
  name: 'cairn-hot-group',
  setup(build) {
    build.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind !== 'dynamic-import' || args.namespace === 'cairn-stub') return undefined;
      return { path: path.resolve(args.resolveDir, args.path), namespace: 'cairn-stub' };
    });
    build.onLoad({ filter: /.*/, namespace: 'cairn-stub' }, (args) => ({
      contents: `export { hot as __cairnHot } from 'cairn:hot';\nexport * from ${JSON.stringify(args.path)};\n`,
      resolveDir: path.dirname(args.path),
    }));
    build.onResolve({ filter: /^cairn:hot$/ }, () => ({ path: 'hot', namespace: 'cairn-hot' }));
    // Namespace imports, exported: every module of the group is kept whole (a bare import of a module without
    // side effects would be dropped).
    build.onLoad({ filter: /.*/, namespace: 'cairn-hot' }, () => ({
      contents: HOT.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};\n`).join('') + `export const hot = [${HOT.map((_, i) => `m${i}`).join(', ')}];\n`,
      resolveDir: dist,
    }));
  },
};

/** The shell's screen (shell/ui/run.js) is its own file, dist/cli/shell-ui.js, built below. */
const SHELL_UI = './shell-ui.js';
const shellUi = {
  name: 'cairn-shell-ui',
  setup(build) {
    build.onResolve({ filter: /^\.\/ui\/run\.js$/ }, (args) => (args.importer.endsWith(path.join('shell', 'index.js')) ? { path: SHELL_UI, external: true } : undefined));
  },
};

/**
 * Packages stay in node_modules, but for undici (the registry client's HTTP): its ~110 CommonJS files, loaded
 * one by one, cost a registry verb more than their code does once bundled into the registry's chunk.
 */
const BUNDLED_PACKAGES = new Set(['undici']);
const packagesExternal = {
  name: 'packages-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || args.path.startsWith('cairn:')) return undefined;
      const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
      // Inside a bundled package every import is bundled too (its own files, Node.js built-ins stay).
      if (BUNDLED_PACKAGES.has(name) || args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      return { path: args.path, external: true };
    });
  },
};

const main = await esbuild.build({
  entryPoints: [path.join(dist, 'bin', 'cairn.js'), path.join(dist, 'bin', 'build-hooks.js')],
  metafile: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  splitting: true,
  outdir,
  logLevel: 'warning',
  plugins: [shellUi, hotGroup, packagesExternal],
  minifyWhitespace: true,
  minifySyntax: true,
  // A bundled CommonJS package calls require() for Node.js built-ins.
  banner: { js: 'import { createRequire as __cairnRequire } from "node:module"; const require = __cairnRequire(import.meta.url);' },
});

/** Ink's optional development import, left out of the shell's screen (an empty module in its place). */
const noDevtools = {
  name: 'no-devtools',
  setup(build) {
    build.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'devtools', namespace: 'empty' }));
    build.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export default {};' }));
  },
};

/** Every string-width of the screen's packages goes through bundle/string-width-fast.mjs (see there). */
const fastStringWidth = {
  name: 'fast-string-width',
  setup(build) {
    const fast = path.join(path.dirname(new URL(import.meta.url).pathname), 'bundle', 'string-width-fast.mjs');
    // The fast path's own import is the real one.
    build.onResolve({ filter: /^string-width$/ }, (args) => (args.importer === fast ? undefined : { path: fast }));
  },
};

// The shell's screen with Ink and React bundled in, for production: loading Ink's ~200 files one by one (and
// es-toolkit whole) took most of a second before the first prompt; one file takes a fifth of that. It imports
// nothing of the engine (shell/ui sees the session through shell/types.ts), so nothing is loaded twice.
// react-devtools-core (Ink's optional DEV-only import) is left out.
await esbuild.build({
  entryPoints: [path.join(dist, 'shell', 'ui', 'run.js')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  minify: true,
  outfile: path.join(outdir, SHELL_UI),
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [noDevtools, fastStringWidth],
  // CommonJS parts of the bundle (React) call require() for Node.js built-ins. Ink's layout engine (yoga, WASM
  // embedded as a data: URL) loads its binary with fetch() when there is one, which loads undici and compiles
  // by streaming: a tenth of the prompt's time. Without fetch it decodes the same bytes in place; fetch is back
  // once the module has loaded (the footer runs after its top-level await).
  banner: {
    js: 'import { createRequire as __cairnRequire } from "node:module"; const require = __cairnRequire(import.meta.url); const __cairnFetch = globalThis.fetch; globalThis.fetch = undefined;',
  },
  footer: { js: 'globalThis.fetch = __cairnFetch;' },
});

// Chunk names change with their content: chunks of earlier builds are removed once no running command can
// still be loading them (ten minutes old), so they do not pile up.
const built = new Set(Object.keys(main.metafile.outputs).map((f) => path.resolve(f)));
for (const name of readdirSync(outdir)) {
  const file = path.join(outdir, name);
  if (/^chunk-.*\.js$|^[\w-]+-[A-Z0-9]{8}\.js$/.test(name) && !built.has(file) && Date.now() - statSync(file).mtimeMs > 10 * 60_000) rmSync(file, { force: true });
}

const { LOCK_SERVER_PROGRAM } = await import(path.join(dist, 'dsl', 'store', 'lock-server.js'));
writeFileSync(path.join(outdir, 'lock-server.pl'), LOCK_SERVER_PROGRAM);
