// Builds a tiny image from this machine's own programs and their shared libraries (no network),
// commits it, and runs the result to check it.
import { from, $ } from 'cairn';

const name = process.argv[2] ?? 'localhost/hello:latest';
const c = await from('scratch');
try {
  await c.copy(['/bin/sh', '/bin/cat', '/bin/ls', '/bin/mkdir'], '/bin/', { withDeps: true });
  await c.config({ env: ['PATH=/bin'], cmd: ['/bin/cat', '/etc/motd'], workingdir: '/' });
  await c.checkpoint('programs and their libraries');
  await c.run`mkdir -p /etc && echo ${'hello from cairn'} > /etc/motd`;
  const image = await c.commit(name);
  console.log(`built ${name} ${image.id}`);

  const check = await from(name);
  try {
    const { stdout } = await check.run(['/bin/cat', '/etc/motd']);
    if (stdout.trim() !== 'hello from cairn') throw new Error(`unexpected output: ${stdout}`);
  } finally {
    await check.remove();
  }
  // Only the files listed, and what they need: a few MB, not a distribution.
  const { layers } = (await image.inspect()).manifest;
  const bytes = layers.reduce((n, l) => n + l.size, 0);
  if (bytes > 8 << 20) throw new Error(`expected a few MB, the layers hold ${bytes} bytes`);
  const host = (await $`uname -sm`).stdout.trim();
  console.log(`${name} has ${layers.length} layers (${(bytes / 1048576).toFixed(1)} MB of layers), built on ${host}`);
} finally {
  await c.remove();
}
