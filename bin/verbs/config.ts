import { container } from '../../dsl/index.js';
import { list, str, type Parsed, type VerbSpec } from '../args.js';
import type { VerbContext } from '../verb.js';

/** `cairn config`: edit the image config a container will commit. */
export const spec: VerbSpec = {
  name: 'config',
  usage: 'config [--env K=V]… [--entrypoint J] [--cmd J] [--workingdir D] [--user U] [--label K=V]… [--port P]… [--volume P]… [--author A] [--stop-signal S] [--annotation K=V]… [--arch A] [--os O] [--healthcheck CMD] [--shell J] [--onbuild I]… CTR',
  summary: 'Edit the image config the next commit writes. J is a JSON array or a shell-form string; K- removes an env or label, P- a port or volume.',
  example: 'cairn config --entrypoint \'["/usr/sbin/nginx","-g","daemon off;"]\' --port 80 web',
  flags: {
    env: { kind: 'list', alias: ['-e'], help: 'set (K=V) or remove (K-) an environment variable', arg: 'K=V' },
    entrypoint: { kind: 'string', help: 'entrypoint', arg: 'J' },
    cmd: { kind: 'string', help: 'default command', arg: 'J' },
    workingdir: { kind: 'string', help: 'working directory', arg: 'DIR' },
    user: { kind: 'string', alias: ['-u'], help: 'user to run as', arg: 'U[:G]' },
    label: { kind: 'list', alias: ['-l'], help: 'set (K=V) or remove (K-) a label', arg: 'K=V' },
    port: { kind: 'list', alias: ['-p'], help: 'expose (P) or unexpose (P-) a port', arg: 'P[/tcp]' },
    volume: { kind: 'list', alias: ['-v'], help: 'declare (P) or drop (P-) a volume', arg: 'PATH' },
    author: { kind: 'string', alias: ['-a'], help: 'author', arg: 'A' },
    'stop-signal': { kind: 'string', help: 'signal that stops the container', arg: 'SIG' },
    annotation: { kind: 'list', help: 'set (K=V) or remove (K-) a manifest annotation', arg: 'K=V' },
    arch: { kind: 'string', help: 'the architecture the image is for', arg: 'ARCH' },
    os: { kind: 'string', help: 'the operating system the image is for', arg: 'OS' },
    healthcheck: { kind: 'string', help: "health check: 'CMD command', 'CMD [\"prog\",\"arg\"]' or NONE ('' clears)", arg: 'CMD' },
    shell: { kind: 'string', help: 'shell of shell-form commands (JSON array)', arg: 'J' },
    onbuild: { kind: 'list', help: 'add an ONBUILD trigger', arg: 'INSTR' },
  },
  min: 1,
  max: 1,
};

/** Applies the edits. */
export async function main(p: Parsed, ctx: VerbContext): Promise<void> {
  const c = await container(p.args[0], { root: ctx.root });
  await c.config({
    env: list(p, 'env'),
    entrypoint: str(p, 'entrypoint'),
    cmd: str(p, 'cmd'),
    workingdir: str(p, 'workingdir'),
    user: str(p, 'user'),
    labels: list(p, 'label'),
    ports: list(p, 'port'),
    volumes: list(p, 'volume'),
    author: str(p, 'author'),
    stopSignal: str(p, 'stop-signal'),
    annotations: list(p, 'annotation'),
    arch: str(p, 'arch'),
    os: str(p, 'os'),
    healthcheck: str(p, 'healthcheck'),
    shell: str(p, 'shell'),
    onbuild: list(p, 'onbuild'),
  });
}
