import { it, expect } from 'vitest';
import { debianRootfs } from '../kit/debian.js';
it('builds python3 variant once', async () => {
  const t = Date.now();
  const [a, b] = await Promise.all([debianRootfs({ include: ['python3'] }), debianRootfs({ include: ['python3'] })]);
  console.log(a, b, Date.now() - t);
  expect(a).toBe(b);
}, 300_000);
