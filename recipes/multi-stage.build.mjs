// A multi-stage build: a C program compiled in a Debian container with gcc, then only the program copied into
// `scratch`, its shared libraries taken from the builder's tree (withDeps with `from`), not from this host.
// Checks that the image runs it and is a few MB; the builder is removed.
//   cairn build recipes/multi-stage.build.mjs [IMAGE]     (DEBIAN_BASE=FILE: where the base tarball is kept)
import { from } from 'cairn';
import { debianBase } from './debian-base.mjs';

const name = process.argv[2] ?? 'localhost/multi-stage:latest';
const source = `#include <stdio.h>
#include <sys/utsname.h>
int main(int argc, char **argv) {
  struct utsname u;
  uname(&u);
  printf("hello %s from a %s program\\n", argc > 1 ? argv[1] : "world", u.sysname);
  return 0;
}
`;

const builder = await from(`tarball:${await debianBase()}`);
const c = await from('scratch');
try {
  await builder.run`apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null`;
  await builder.run`mkdir -p /src && printf %s ${source} > /src/hello.c && gcc -O2 -s -o /usr/local/bin/hello /src/hello.c`;

  await c.copy('/usr/local/bin/hello', '/usr/local/bin/', { from: builder, withDeps: true });
  await c.config({ entrypoint: ['/usr/local/bin/hello'], cmd: ['world'] });
  const image = await c.commit(name);
  console.log(`built ${name} ${image.id}`);

  const check = await from(name);
  try {
    const { stdout } = await check.run(['/usr/local/bin/hello', 'stages']);
    if (stdout !== 'hello stages from a Linux program\n') throw new Error(`hello printed ${JSON.stringify(stdout)}`);
  } finally {
    await check.remove();
  }
  const { manifest } = await image.inspect();
  const bytes = manifest.layers.reduce((n, l) => n + l.size, 0);
  if (manifest.layers.length !== 1 || bytes > 4e6) throw new Error(`expected one layer of a few MB, found ${manifest.layers.length} of ${bytes} bytes`);
  console.log(`${name}: ${manifest.layers.length} layer, ${(bytes / 1e6).toFixed(1)} MB`);
} finally {
  await c.remove();
  await builder.remove();
}
