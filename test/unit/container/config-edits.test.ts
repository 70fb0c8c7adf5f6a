import { describe, expect, it } from 'vitest';
import { applyConfig, parseHealthcheck } from '../../../dsl/container/config.js';
import type { ImageConfig } from '../../../dsl/oci/types.js';

const base: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['A=1'] } };

describe('config edits a buildah user reaches for', () => {
  it('--arch, --os, --healthcheck, --shell, --onbuild, --stop-signal land where buildah puts them, with history', () => {
    const { config, createdBy } = applyConfig(base, {
      arch: 'arm64', os: 'linux', healthcheck: 'CMD curl -f http://localhost/', shell: '["/bin/bash","-c"]', onbuild: ['RUN a', 'RUN b'], stopSignal: 'SIGQUIT',
    });
    expect(config.architecture).toBe('arm64');
    expect(config.config).toEqual({
      Env: ['A=1'], StopSignal: 'SIGQUIT', Healthcheck: { Test: ['CMD-SHELL', 'curl -f http://localhost/'] }, Shell: ['/bin/bash', '-c'], OnBuild: ['RUN a', 'RUN b'],
    });
    expect(createdBy).toContain('#(nop) HEALTHCHECK CMD curl');
    expect(createdBy).toContain('#(nop) ONBUILD RUN b');
  });

  it("'' clears a health check and a shell; a health check is CMD …, CMD [json] or NONE", () => {
    const set = applyConfig(base, { healthcheck: 'NONE', shell: '/bin/zsh' }).config;
    expect(set.config).toMatchObject({ Healthcheck: { Test: ['NONE'] }, Shell: ['/bin/zsh'] });
    const cleared = applyConfig(set, { healthcheck: '', shell: '' }).config.config!;
    expect('Healthcheck' in cleared || 'Shell' in cleared).toBe(false);
    expect(parseHealthcheck('CMD ["/bin/check","-q"]')).toEqual({ Test: ['CMD', '/bin/check', '-q'] });
    expect(() => parseHealthcheck('WGET x')).toThrow(/invalid --healthcheck WGET x/);
  });
});
