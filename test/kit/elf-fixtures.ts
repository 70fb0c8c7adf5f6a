import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/*
 * Real ELF programs and libraries compiled with the host's gcc, for tests of copying programs with their
 * libraries: a library with a versioned soname and its soname symlink, programs that find it through
 * $ORIGIN in DT_RPATH or DT_RUNPATH, and a program that dlopen()s plugins (one of which needs a library).
 */

/** True when gcc is on PATH (tests that compile fixtures are skipped without it). */
export const HAS_GCC = spawnSync('sh', ['-c', 'command -v gcc']).status === 0;

/** The C of libgreet: greet() returns the message the library was built with. */
const GREET_C = 'const char *greet(void) { return GREET_MESSAGE; }\n';

/** A program printing `hello: ` and libgreet's message. */
const HELLO_C = '#include <stdio.h>\nconst char *greet(void);\nint main(void) { printf("hello: %s\\n", greet()); return 0; }\n';

/** A program that dlopen()s each argument by name and prints what its plug() returns. */
const HOST_C = `#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    void *h = dlopen(argv[i], RTLD_NOW);
    if (!h) { fprintf(stderr, "dlopen: %s\\n", dlerror()); return 1; }
    const char *(*plug)(void) = (const char *(*)(void))dlsym(h, "plug");
    if (!plug) { fprintf(stderr, "dlsym: %s\\n", dlerror()); return 1; }
    printf("%s: %s\\n", argv[i], plug());
  }
  return 0;
}
`;

/** A plugin whose plug() returns "plugged". */
const PLUG_C = 'const char *plug(void) { return "plugged"; }\n';

/** A plugin whose plug() returns "deep " and libgreet's message (so it needs libgreet.so.1). */
const DEEP_C = '#include <stdio.h>\nconst char *greet(void);\nstatic char buf[256];\nconst char *plug(void) { snprintf(buf, sizeof buf, "deep %s", greet()); return buf; }\n';

/** Compiles C source text with gcc into out (made with its directory), these arguments after the source. */
function gcc(out: string, text: string, args: string[]): string {
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cairn-cc-'));
  try {
    const c = path.join(tmp, 'src.c');
    writeFileSync(c, text);
    execFileSync('gcc', ['-o', out, c, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/**
 * Builds dir/libgreet.so.1.0.0 (soname libgreet.so.1, greet() returning message) and the soname symlink
 * libgreet.so.1 → libgreet.so.1.0.0, as a distribution lays a library out. Returns the real file's path.
 */
export function buildGreetLib(dir: string, message: string): string {
  const real = gcc(path.join(dir, 'libgreet.so.1.0.0'), GREET_C, ['-shared', '-fPIC', `-DGREET_MESSAGE=${JSON.stringify(message)}`, '-Wl,-soname,libgreet.so.1']);
  symlinkSync('libgreet.so.1.0.0', path.join(dir, 'libgreet.so.1'));
  return real;
}

/**
 * Builds a program printing `hello: <libgreet's message>`, linked against libgreet.so.1 in libDir, with the
 * given search path recorded as DT_RUNPATH (dtags 'runpath') or DT_RPATH ('rpath').
 */
export function buildHello(out: string, libDir: string, searchPath: string, dtags: 'rpath' | 'runpath'): string {
  const flag = dtags === 'runpath' ? '--enable-new-dtags' : '--disable-new-dtags';
  return gcc(out, HELLO_C, [`-L${libDir}`, '-l:libgreet.so.1', `-Wl,${flag},-rpath,${searchPath}`]);
}

/** The compiled tree of buildElfTree. */
export interface ElfTree {
  /** The tree's top directory: bin/, lib/ and plugins/ below it. */
  dir: string;
  /** lib/libgreet.so.1.0.0 (soname libgreet.so.1; lib/libgreet.so.1 is a symlink to it). */
  greet: string;
  /** bin/hello-rpath: needs libgreet.so.1, found through DT_RPATH $ORIGIN/../lib. */
  helloRpath: string;
  /** bin/hello-runpath: the same through DT_RUNPATH. */
  helloRunpath: string;
  /** bin/plugin-host: dlopen()s each argument, found through DT_RUNPATH $ORIGIN/../plugins, and prints its plug(). */
  pluginHost: string;
  /** plugins/libplug.so: plug() returns "plugged"; needs nothing but libc. */
  plug: string;
  /** plugins/libplugdeep.so: plug() returns "deep " + libgreet's message; needs libgreet.so.1 (its DT_RUNPATH $ORIGIN/../lib). */
  plugDeep: string;
}

/** Compiles the programs, libraries and plugins of an ElfTree under dir, libgreet returning message. */
export function buildElfTree(dir: string, message: string): ElfTree {
  const lib = path.join(dir, 'lib');
  const greet = buildGreetLib(lib, message);
  const helloRpath = buildHello(path.join(dir, 'bin/hello-rpath'), lib, '$ORIGIN/../lib', 'rpath');
  const helloRunpath = buildHello(path.join(dir, 'bin/hello-runpath'), lib, '$ORIGIN/../lib', 'runpath');
  const pluginHost = gcc(path.join(dir, 'bin/plugin-host'), HOST_C, ['-Wl,--enable-new-dtags,-rpath,$ORIGIN/../plugins', '-ldl']);
  const plug = gcc(path.join(dir, 'plugins/libplug.so'), PLUG_C, ['-shared', '-fPIC']);
  const plugDeep = gcc(path.join(dir, 'plugins/libplugdeep.so'), DEEP_C, ['-shared', '-fPIC', `-L${lib}`, '-l:libgreet.so.1', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib']);
  return { dir, greet, helloRpath, helloRunpath, pluginHost, plug, plugDeep };
}

/** The dynamic section's search-path tag of an ELF file as readelf shows it: 'RPATH', 'RUNPATH' or undefined. */
export function searchPathTag(file: string): 'RPATH' | 'RUNPATH' | undefined {
  const out = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
  return /\(RUNPATH\)/.test(out) ? 'RUNPATH' : /\(RPATH\)/.test(out) ? 'RPATH' : undefined;
}
