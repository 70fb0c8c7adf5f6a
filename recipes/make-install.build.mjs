// Installs a project with its own `make install DESTDIR=…` into a mounted container, adds the host programs it
// needs with their shared libraries (withDeps), commits, and runs the result to check it.
//   cairn build recipes/make-install.build.mjs [IMAGE]
import { fileURLToPath } from 'node:url';
import { from, $ } from 'cairn';

const name = process.argv[2] ?? 'localhost/make-install:latest';
const src = fileURLToPath(new URL('hello-src', import.meta.url));
const c = await from('scratch');
try {
  await $`make -s -C ${src} install DESTDIR=${await c.mount()}`;
  await c.unmount();
  await c.copy(['/bin/sh', '/bin/cat'], '/bin/', { withDeps: true });
  await c.config({ env: ['PATH=/usr/local/bin:/bin'], cmd: ['hello'] });
  const image = await c.commit(name);
  console.log(`built ${name} ${image.id}`);

  const check = await from(name);
  try {
    const { stdout } = await check.run(['hello']);
    if (stdout !== 'hello from make\n') throw new Error(`hello printed ${JSON.stringify(stdout)}`);
  } finally {
    await check.remove();
  }
} finally {
  await c.remove();
}
