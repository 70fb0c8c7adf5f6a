// Builds an app on a Debian base (an mmdebstrap tarball): one checkpoint per concern (packages, app, config),
// apt's lists and downloads deleted in the step that made them, so no layer carries them. Then checks the
// image: its layers, that the app runs, and that apt left nothing behind.
//   cairn build recipes/debian-app.build.mjs [IMAGE]      (DEBIAN_BASE=FILE: where the base tarball is kept)
import { from } from 'cairn';
import { debianBase } from './debian-base.mjs';

const name = process.argv[2] ?? 'localhost/debian-app:latest';
const c = await from(`tarball:${await debianBase()}`);
try {
  await c.run`apt-get update -qq && apt-get install -y -qq --no-install-recommends jq >/dev/null &&
    apt-get clean && rm -rf /var/lib/apt/lists/*`;
  await c.checkpoint('packages: jq');

  const greet = `#!/bin/sh\njq -r '.greeting + ", " + .who' /etc/greet.json\n`;
  await c.run`mkdir -p /opt/greet && printf %s ${greet} > /opt/greet/greet && chmod 0755 /opt/greet/greet`;
  await c.checkpoint('app: /opt/greet');

  await c.run`echo ${JSON.stringify({ greeting: 'hello', who: 'debian' })} > /etc/greet.json`;
  await c.config({ env: ['PATH=/opt/greet:/usr/local/bin:/usr/bin:/bin'], cmd: ['greet'], labels: ['recipe=debian-app'] });
  await c.checkpoint('config: /etc/greet.json');
  const image = await c.commit(name);
  console.log(`built ${name} ${image.id}`);

  const check = await from(name);
  try {
    // The base and one layer per checkpoint; none carries a file of apt's lists or caches.
    const layers = await image.layers();
    if (layers.length !== 4) throw new Error(`expected 4 layers, found ${layers.length}`);
    const apt = /^\/var\/(lib\/apt\/lists|cache\/apt)\//;
    for (const [i, l] of layers.entries()) {
      const kept = [...l.added, ...l.changed].filter((p) => apt.test(p.path) && p.size > 0).map((p) => p.path);
      if (kept.length || l.caches.length) throw new Error(`layer ${i} carries apt's caches: ${[...kept, ...l.caches.map((x) => x.path)].slice(0, 3).join(' ')}…`);
    }
    const { stdout: left } = await check.run`find /var/lib/apt/lists /var/cache/apt -type f ! -name lock`;
    if (left.trim()) throw new Error(`apt's caches are in the image:\n${left}`);

    const { stdout } = await check.run(['greet']);
    if (stdout.trim() !== 'hello, debian') throw new Error(`greet printed ${JSON.stringify(stdout)}`);
    console.log(`${name}: ${layers.length} layers, greet says "${stdout.trim()}"`);
  } finally {
    await check.remove();
  }
} finally {
  await c.remove();
}
