import { it } from 'vitest';
import { writeTestLayout } from '../../kit/images.js';
import { readLayout } from '../../../dsl/image/oci-layout.js';
import { writeImage } from '../../../dsl/image/transports.js';
it('gen', async () => {
  await writeTestLayout('/tmp/chk/kit', { ref: 'v1' });
  const img = await readLayout('/tmp/chk/kit', 'v1');
  await writeImage({ transport: 'oci-archive', file: '/tmp/chk/o.tar', ref: 'v1' }, img, { tmpDir: '/tmp/chk/tmp' });
  await writeImage({ transport: 'docker-archive', file: '/tmp/chk/d.tar', ref: 'test/x:1' }, img, { tmpDir: '/tmp/chk/tmp' });
});
