// Builds the same image twice, in two containers a few seconds apart, and checks that both have the same ID and
// the same layer digests: with a timestamp (SOURCE_DATE_EPOCH, else the commit's `timestamp` option) file times,
// history and config dates are fixed, so the same inputs give the same bytes. Prints the ID.
//   SOURCE_DATE_EPOCH=1700000000 cairn build recipes/reproducible.build.mjs [IMAGE]
import { from } from 'cairn';

const name = process.argv[2] ?? 'localhost/reproducible:latest';
const timestamp = process.env.SOURCE_DATE_EPOCH ?? '1700000000';

/** One build: host programs with their libraries, a file written by a run step, config; returns the image. */
async function build() {
  const c = await from('scratch');
  try {
    await c.copy(['/bin/sh', '/bin/cat', '/bin/mkdir'], '/bin/', { withDeps: true });
    await c.checkpoint('programs');
    await c.run`mkdir -p /etc && echo ${'built reproducibly'} > /etc/motd`;
    await c.config({ env: ['PATH=/bin'], cmd: ['/bin/cat', '/etc/motd'] });
    return await c.commit(name, { timestamp });
  } finally {
    await c.remove();
  }
}

const first = await build();
await new Promise((resolve) => setTimeout(resolve, 1100)); // so that the second build's files are newer
const second = await build();

const digests = async (image) => (await image.inspect()).manifest.layers.map((l) => l.digest);
const [a, b] = [await digests(first), await digests(second)];
if (first.id !== second.id) throw new Error(`two builds gave two images: ${first.id} and ${second.id}`);
if (a.length !== 2 || a.join() !== b.join()) throw new Error(`layer digests differ:\n${a.join(' ')}\n${b.join(' ')}`);
console.log(`${name} ${first.id} (${a.length} layers, built twice, timestamp ${timestamp})`);
