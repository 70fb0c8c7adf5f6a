// Bundles the compiled CLI (dist/bin, dist/dsl: run after tsc) into dist/cli, the code the `cairn` command
// runs, and writes dist/cli/lock-server.pl, the lock server the command starts beside node.
//
// Start-up time is mostly modules: Node.js pays for every ESM file it loads, and esbuild's code splitting
// gives a chunk to every set of entry points (each `import()` target is one) that share code: `from` loaded
// 34 files. So every `import()` target of cairn's own also imports the hot group below (a verb's common path:
// argv, logger, public API, store, container engine, image lookup, and what they import), which puts all of
// it in one chunk: a verb loads that chunk, its own file and the few stubs of what it imports lazily. The
// registry client's common path is one more group (one chunk for a push or a pull). The rest (transports,
// layers, signing, exec…) stays split and is loaded only when used; undici has a file of its own (see there).
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { isBuiltin } from 'node:module';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

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

/**
 * The registry client's common path (what a docker:// source or destination loads, with what they import): an
 * `import()` of any module of registry/ but the light ones (the plugs, and the short-name rules read before it is
 * known whether a registry will be asked) also imports all of them, so that they share one chunk rather than a
 * dozen small ones.
 */
const REGISTRY = ['dsl/registry/source.js', 'dsl/registry/signature-policy.js', 'dsl/registry/push.js', 'dsl/registry/sign-push.js'].map((f) => path.join(dist, f));
const REGISTRY_DIR = path.join(dist, 'dsl', 'registry') + path.sep;
const LIGHT = ['plug.js', 'names-plug.js', 'short-names.js'].map((f) => REGISTRY_DIR + f);
/** Whether an `import()` of file also loads the registry group. */
function inRegistryGroup(file) {
  return file.startsWith(REGISTRY_DIR) && !LIGHT.includes(file);
}

/** A module importing each of files whole (namespace imports, exported: a bare import of a module without side effects would be dropped). */
function groupModule(files, name) {
  return files.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};\n`).join('') + `export const ${name} = [${files.map((_, i) => `m${i}`).join(', ')}];\n`;
}

/**
 * Makes each `import()` of a relative module load a stub that also imports (and so keeps) the hot group (hot: the
 * modules of dist/ a build's common path loads), and the registry group for its modules.
 */
function hotGroupOf(hot) {
  return {
    name: 'cairn-hot-group',
    setup(build) {
      build.onResolve({ filter: /^\./ }, (args) => {
        if (args.kind !== 'dynamic-import' || args.namespace === 'cairn-stub') return undefined;
        return { path: path.resolve(args.resolveDir, args.path), namespace: 'cairn-stub' };
      });
      build.onLoad({ filter: /.*/, namespace: 'cairn-stub' }, (args) => ({
        contents:
          `export { hot as __cairnHot } from 'cairn:hot';\n` +
          (inRegistryGroup(args.path) ? `export { registry as __cairnRegistry } from 'cairn:registry';\n` : '') +
          `export * from ${JSON.stringify(args.path)};\n`,
        resolveDir: path.dirname(args.path),
      }));
      build.onResolve({ filter: /^cairn:(hot|registry)$/ }, (args) => ({ path: args.path.slice('cairn:'.length), namespace: 'cairn-group' }));
      build.onLoad({ filter: /.*/, namespace: 'cairn-group' }, (args) => ({ contents: args.path === 'hot' ? groupModule(hot, 'hot') : groupModule(REGISTRY, 'registry'), resolveDir: dist }));
    },
  };
}
const hotGroup = hotGroupOf(HOT);

/** The shell's screen (shell/ui/run.js) is its own file, dist/cli/shell-ui.js, built below. */
const SHELL_UI = './shell-ui.js';
const shellUi = {
  name: 'cairn-shell-ui',
  setup(build) {
    build.onResolve({ filter: /^\.\/ui\/run\.js$/ }, (args) => (args.importer.endsWith(path.join('shell', 'index.js')) ? { path: SHELL_UI, external: true } : undefined));
  },
};

/**
 * The Dockerfile parser's packages and the .dockerignore matcher are bundled into the builder's chunk: loaded file
 * by file (~40 CommonJS files, and the matcher through Node.js's CommonJS loader) they cost a `cairn build` ~40 ms
 * more than one file does. An ESM chunk has no require() for Node.js built-ins: the one they ask for (the
 * matcher's `path`) is given by nodeBuiltinsForCjs below. The Ed25519 packages (@noble/curves and
 * @noble/hashes: a dozen ES modules, FROST among them, which cairn does not use) are bundled into the signing
 * chunk for the same reason: a verify or a signed export resolved and loaded them file by file (~25 ms).
 */
const BUNDLED = /^(dockerfile-ast|vscode-languageserver-types|vscode-languageserver-textdocument|@balena\/dockerignore|@noble\/curves|@noble\/hashes)(\/|$)/;

/** A bundled CommonJS package's require() of a Node.js built-in gets the built-in as an ESM import of the chunk. */
const nodeBuiltinsForCjs = {
  name: 'node-builtins-for-cjs',
  setup(build) {
    build.onResolve({ filter: /^[\w:/]+$/ }, (args) => (args.kind === 'require-call' && isBuiltin(args.path) ? { path: args.path.replace(/^node:/, ''), namespace: 'cairn-builtin' } : undefined));
    // Named exports (a require() of an ES module gets its names), taken from this Node.js's own module.
    build.onLoad({ filter: /.*/, namespace: 'cairn-builtin' }, async (args) => {
      const names = Object.keys(await import(`node:${args.path}`)).filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
      return { contents: `import m from 'node:${args.path}';\nexport const { ${names.join(', ')} } = m;\n` };
    });
  },
};

/** Packages stay in node_modules (but BUNDLED); undici is built into a file of its own, below. */
const packagesExternal = {
  name: 'packages-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || args.path.startsWith('cairn:') || BUNDLED.test(args.path)) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/*
 * undici (the registry client's HTTP) is bundled into one CommonJS file of its own, undici-HASH.cjs: its files,
 * loaded one by one, cost a registry verb more than their code. The file holds what cairn uses of undici (an
 * Agent, with the request API undici's index adds to every dispatcher, and the redirect interceptor of signature
 * lookaside), not the index, which also loads fetch, WebSocket, mocks and caches, and a dozen Node.js built-ins
 * with them. undici-load-HASH.mjs compiles it from a V8 code cache made here (undici-HASH.cache, which V8
 * ignores when another Node.js or other V8 flags made it): that halves its cost. Cairn's modules import
 * 'undici' as usual; the bundle gives them the loader's. HASH is that of the file, so a command still running
 * never mixes two builds' files.
 */
const UNDICI_EXPORTS = ['Agent', 'interceptors'];
const UNDICI_ENTRY = `const Dispatcher = require('undici/lib/dispatcher/dispatcher');
Object.assign(Dispatcher.prototype, require('undici/lib/api'));
module.exports = { Agent: require('undici/lib/dispatcher/agent'), interceptors: { redirect: require('undici/lib/interceptor/redirect') } };
`;
/**
 * undici's HTTP/2 client loads node:http2 when it loads (~6 ms, with what it pulls in) for a few header names;
 * cairn never asks undici for HTTP/2. Its require() gets node:http2's constants (this Node.js's own values) and a
 * connect() that loads node:http2 when first called.
 */
const { constants: H2 } = await import('node:http2');
const lazyHttp2 = {
  name: 'lazy-http2',
  setup(build) {
    build.onResolve({ filter: /^node:http2$/ }, (args) => (args.namespace === 'cairn-http2' ? { path: 'node:http2', external: true } : { path: 'http2', namespace: 'cairn-http2' }));
    build.onLoad({ filter: /.*/, namespace: 'cairn-http2' }, () => ({
      contents: `module.exports = { constants: ${JSON.stringify(H2)}, connect: (...a) => require('node:http2').connect(...a) };\n`,
      loader: 'js',
    }));
  },
};
const undiciBuild = await esbuild.build({
  stdin: { contents: UNDICI_ENTRY, resolveDir: path.dirname(dist), sourcefile: 'undici-entry.cjs' },
  plugins: [lazyHttp2],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  write: false,
  outfile: path.join(outdir, 'undici.cjs'),
  logLevel: 'warning',
  minifyWhitespace: true,
  minifySyntax: true,
});
const undiciSource = undiciBuild.outputFiles[0].contents;
const undiciHash = createHash('sha256').update(undiciSource).digest('hex').slice(0, 8).toUpperCase();
const UNDICI = `undici-${undiciHash}.cjs`;
const UNDICI_CACHE = `undici-${undiciHash}.cache`;
const UNDICI_LOADER = `undici-load-${undiciHash}.mjs`;
const UNDICI_LOADER_SOURCE = `// Loads ${UNDICI} with its V8 code cache ${UNDICI_CACHE} (all written by bin/bundle.mjs).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const filename = fileURLToPath(new URL('./${UNDICI}', import.meta.url));
let cachedData;
try {
  cachedData = readFileSync(fileURLToPath(new URL('./${UNDICI_CACHE}', import.meta.url)));
} catch {
  // No cache: compiled from source.
}
const script = new Script('(function (exports, require, module, __filename, __dirname) {\\n' + readFileSync(filename, 'utf8') + '\\n})', { filename, lineOffset: -1, cachedData });
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(filename), module, filename, dirname(filename));
/** undici's exports. */
export const undici = module.exports;
/** Whether V8 refused the code cache (undefined: there was none). */
export const cacheRejected = cachedData ? script.cachedDataRejected : undefined;
/** V8's code cache of the file as compiled so far. */
export function codeCache() {
  return script.createCachedData();
}
`;

/** Cairn's imports of 'undici' get the loader's: a module re-exporting each of undici's names. */
const undiciLoader = {
  name: 'undici-loader',
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', namespace: 'cairn-undici' }));
    build.onResolve({ filter: /^\.\/undici-load-/ }, (args) => (args.namespace === 'cairn-undici' ? { path: args.path, external: true } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'cairn-undici' }, () => ({
      contents: `import { undici } from './${UNDICI_LOADER}';\nexport const { ${UNDICI_EXPORTS.join(', ')} } = undici;\n`,
    }));
  },
};

/** Writes file whole or not at all. */
function writeAtomic(file, bytes) {
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
}

mkdirSync(outdir, { recursive: true });
writeAtomic(path.join(outdir, UNDICI), undiciSource);
writeAtomic(path.join(outdir, UNDICI_LOADER), UNDICI_LOADER_SOURCE);
// The code cache: what loading the file and a registry verb's use of it (an Agent's requests to a server on the
// loopback address, as http.ts makes them, and a TLS attempt refused) compiled, in a Node.js of the same flags.
// Without a loopback address the cache holds the load only; without a cache the file is compiled from source.
const exercise = `
import { createServer } from 'node:http';
import { undici, codeCache } from ${JSON.stringify(pathToFileURL(path.join(outdir, UNDICI_LOADER)).href)};
const agent = new undici.Agent({ connect: { rejectUnauthorized: false }, connectTimeout: 30000, headersTimeout: 60000, bodyTimeout: 60000, connections: 8 });
const server = createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(req.method === 'PUT' ? 201 : 200, { 'content-type': 'application/json', location: '/x' }); res.end(req.method === 'HEAD' ? undefined : '{}'); }); });
try {
  await new Promise((resolve, reject) => server.on('error', reject).listen(0, '127.0.0.1', resolve));
  const origin = 'http://127.0.0.1:' + server.address().port;
  await agent.request({ origin: origin.replace('http:', 'https:'), path: '/v2/', method: 'GET', headers: {} }).then(() => {}, () => {});
  for (const method of ['GET', 'HEAD', 'POST', 'PUT']) {
    const r = await agent.request({ origin, path: '/v2/', method, headers: { 'user-agent': 'cairn' }, body: method === 'PUT' ? Buffer.from('{}') : undefined });
    for await (const _ of r.body) void _;
  }
} catch {
  // No loopback: the load alone.
}
await agent.destroy();
server.close();
process.stdout.write(codeCache());
`;
const made = spawnSync(process.execPath, ['--input-type=module', '-e', exercise], { maxBuffer: 64 << 20 });
if (made.status === 0 && made.stdout.length) writeAtomic(path.join(outdir, UNDICI_CACHE), made.stdout);
else console.warn(`bundle: no code cache for ${UNDICI} (${String(made.stderr || made.error).trim()}); it is compiled at each load`);

/**
 * The build's ID (dsl/core/build-id.ts): a digest of the compiled code (dist/bin, dist/dsl) and package-lock.json,
 * so what cairn remembers of its own results (parsed Dockerfiles) is never read by another build.
 */
function buildId() {
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const f = path.join(dir, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.name.endsWith('.js')) h.update(`${path.relative(dist, f)}\0`).update(readFileSync(f));
    }
  };
  walk(path.join(dist, 'bin'));
  walk(path.join(dist, 'dsl'));
  h.update(readFileSync(path.join(dist, '..', 'package-lock.json')));
  return h.digest('hex');
}

/** What the CLI's build and the library's share: ES modules split into chunks, packages left in node_modules. */
const split = {
  metafile: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  splitting: true,
  outdir,
  logLevel: 'warning',
  define: { __CAIRN_BUILD_ID__: JSON.stringify(buildId()) },
  minifyWhitespace: true,
  minifySyntax: true,
};

const main = await esbuild.build({
  ...split,
  entryPoints: [path.join(dist, 'bin', 'cairn.js'), path.join(dist, 'bin', 'build-hooks.js')],
  plugins: [shellUi, hotGroup, undiciLoader, nodeBuiltinsForCjs, packagesExternal],
});

/*
 * The library `cairn build` gives a build script's `import … from 'cairn'` (bin/verbs/build.ts), bundled as the
 * CLI is: dist/dsl/index.js, loaded file by file, each file resolved through the thread Node.js runs the loader
 * hooks on, cost a script 30 ms more before its first line. A build of its own (dist/cli/lib.js and its
 * libchunk-HASH.js files): in the CLI's, its entry would pull all of the library's names (zx's `$` among them)
 * into the chunk every verb loads. Its hot group is the CLI's without bin/.
 */
const LIB_HOT = HOT.filter((f) => !f.startsWith(path.join(dist, 'bin') + path.sep));
const lib = await esbuild.build({
  ...split,
  entryPoints: { lib: path.join(dist, 'dsl', 'index.js') },
  chunkNames: 'libchunk-[hash]',
  plugins: [hotGroupOf(LIB_HOT), undiciLoader, nodeBuiltinsForCjs, packagesExternal],
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
const built = new Set([...[main, lib].flatMap((b) => Object.keys(b.metafile.outputs)).map((f) => path.resolve(f)), ...[UNDICI, UNDICI_CACHE, UNDICI_LOADER].map((f) => path.join(outdir, f))]);
for (const name of readdirSync(outdir)) {
  const file = path.join(outdir, name);
  if (/^chunk-.*\.js$|^[\w-]+-[A-Z0-9]{8}\.(js|mjs|cjs|cache)$/.test(name) && !built.has(file) && Date.now() - statSync(file).mtimeMs > 10 * 60_000) rmSync(file, { force: true });
}

const { LOCK_SERVER_PROGRAM } = await import(path.join(dist, 'dsl', 'store', 'lock-server.js'));
writeFileSync(path.join(outdir, 'lock-server.pl'), LOCK_SERVER_PROGRAM);
