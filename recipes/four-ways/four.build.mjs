// The four-ways build (docs/four-ways.md) as a build script: a page and a motd, one layer each, then the config.
// Reads its files from this directory, the build context; prints the image ID.
//   cairn build recipes/four-ways/four.build.mjs [IMAGE]
import { fileURLToPath } from 'node:url';
import { from } from 'cairn';

const image = process.argv[2] ?? 'localhost/four-ways:latest';
const context = (file) => fileURLToPath(new URL(file, import.meta.url));

const c = await from('scratch');
await c.copy(context('index.html'), '/srv/www/index.html');
await c.checkpoint('page');
await c.copy(context('motd'), '/etc/motd');
await c.checkpoint('motd');
await c.config({ env: ['GREETING=hello'], labels: ['org.opencontainers.image.title=four-ways'] });
const img = await c.commit(image);
await c.remove();
console.log(img.id);
