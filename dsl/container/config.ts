import { BadInputError } from '../core/errors.js';
import type { ImageConfig, RunConfig } from '../oci/types.js';

/** Edits to a container's image config, as `cairn config` flags give them. */
export interface ConfigEdits {
  /** `K=V` sets, `K-` removes. */
  env?: string[];
  /** A JSON array, or a shell-form string run by /bin/sh -c; '' clears. */
  entrypoint?: string | string[];
  /** As entrypoint: the default arguments (or command). */
  cmd?: string | string[];
  /** The working directory of the container's processes. */
  workingdir?: string;
  /** The user (and group) the container's processes run as, `U[:G]`. */
  user?: string;
  /** `K=V` sets, `K-` removes. */
  labels?: string[];
  /** `P[/proto]` adds, `P-` removes. */
  ports?: string[];
  /** `PATH` adds, `PATH-` removes. */
  volumes?: string[];
  /** The image's author. */
  author?: string;
  /** The signal that stops the container (SIGTERM, 15…). */
  stopSignal?: string;
  /** Manifest annotations written at commit: `K=V` sets, `K-` removes. */
  annotations?: string[];
  /** The architecture the image is for (amd64, arm64…). */
  arch?: string;
  /** The operating system the image is for (linux). */
  os?: string;
  /** `CMD command…` (run by the shell), `CMD ["prog","arg"]`, or `NONE`; '' clears. */
  healthcheck?: string;
  /** The shell of shell-form commands, as a JSON array. */
  shell?: string;
  /** ONBUILD triggers to add. */
  onbuild?: string[];
}

/** The Healthcheck test of a --healthcheck value, as buildah and Docker write it (undefined clears it). */
export function parseHealthcheck(v: string): { Test: string[] } | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  if (t === 'NONE') return { Test: ['NONE'] };
  const m = /^CMD\s+(.+)$/s.exec(t);
  if (!m) throw new BadInputError(`invalid --healthcheck ${v}`, { hint: "use 'CMD command args', 'CMD [\"prog\",\"arg\"]' or NONE" });
  const cmd = parseCommand(m[1], '--healthcheck');
  return cmd && m[1].trim().startsWith('[') ? { Test: ['CMD', ...cmd] } : { Test: ['CMD-SHELL', m[1].trim()] };
}

/** Sets or removes `K=V` entries of a map (`K-` removes). */
export function editMap(map: Record<string, string> | undefined, edits: string[], what: string): Record<string, string> {
  const out = { ...(map ?? {}) };
  for (const l of edits) {
    const [k, v] = kv(l, what);
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Parses an entrypoint/cmd value: a JSON array of strings, or a shell-form string. */
export function parseCommand(v: string | string[], what: string): string[] | null {
  if (Array.isArray(v)) return v;
  const t = v.trim();
  if (t === '') return null;
  if (t.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      throw new BadInputError(`${what} ${v} is not a valid JSON array`, { hint: `give ${what} as '["prog","arg"]' or as a shell command string` });
    }
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new BadInputError(`${what} must be a JSON array of strings`);
    return parsed as string[];
  }
  return ['/bin/sh', '-c', v];
}

function kv(item: string, what: string): [string, string | undefined] {
  if (item.endsWith('-') && !item.includes('=')) return [item.slice(0, -1), undefined];
  const i = item.indexOf('=');
  if (i <= 0) throw new BadInputError(`invalid ${what} ${JSON.stringify(item)}`, { hint: `use KEY=VALUE, or KEY- to remove it` });
  return [item.slice(0, i), item.slice(i + 1)];
}

/** Sets or removes env entries in a `K=V` list, keeping order. */
export function editEnv(list: string[], edits: string[]): string[] {
  const out = [...list];
  for (const e of edits) {
    const [k, v] = kv(e, '--env');
    const at = out.findIndex((x) => x === k || x.startsWith(k + '='));
    if (v === undefined) {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) out[at] = `${k}=${v}`;
    else out.push(`${k}=${v}`);
  }
  return out;
}

function editSet(obj: Record<string, object> | undefined, edits: string[], norm: (s: string) => string): Record<string, object> {
  const out = { ...(obj ?? {}) };
  for (const e of edits) {
    if (e.endsWith('-')) delete out[norm(e.slice(0, -1))];
    else out[norm(e)] = {};
  }
  return out;
}

function normPort(p: string): string {
  if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/.test(p)) throw new BadInputError(`invalid port ${p}`, { hint: 'use PORT or PORT/tcp, PORT/udp' });
  return p.includes('/') ? p : `${p}/tcp`;
}

/** Applies edits to a config, returning a new one; also returns the created_by text describing them. */
export function applyConfig(config: ImageConfig, e: ConfigEdits): { config: ImageConfig; createdBy: string } {
  const rc: RunConfig = { ...(config.config ?? {}) };
  const said: string[] = [];
  if (e.env?.length) {
    rc.Env = editEnv(rc.Env ?? [], e.env);
    said.push(...e.env.map((x) => `ENV ${x}`));
  }
  if (e.entrypoint !== undefined) {
    rc.Entrypoint = parseCommand(e.entrypoint, '--entrypoint');
    said.push(`ENTRYPOINT ${JSON.stringify(rc.Entrypoint)}`);
  }
  if (e.cmd !== undefined) {
    rc.Cmd = parseCommand(e.cmd, '--cmd');
    said.push(`CMD ${JSON.stringify(rc.Cmd)}`);
  }
  if (e.workingdir !== undefined) {
    if (e.workingdir && !e.workingdir.startsWith('/')) throw new BadInputError(`--workingdir must be absolute: ${e.workingdir}`);
    rc.WorkingDir = e.workingdir;
    said.push(`WORKDIR ${e.workingdir}`);
  }
  if (e.user !== undefined) {
    rc.User = e.user;
    said.push(`USER ${e.user}`);
  }
  if (e.labels?.length) {
    rc.Labels = editMap(rc.Labels, e.labels, '--label');
    said.push(...e.labels.map((x) => `LABEL ${x}`));
  }
  if (e.ports?.length) {
    rc.ExposedPorts = editSet(rc.ExposedPorts, e.ports, normPort);
    said.push(...e.ports.map((x) => `EXPOSE ${x}`));
  }
  if (e.volumes?.length) {
    rc.Volumes = editSet(rc.Volumes, e.volumes, (v) => {
      if (!v.startsWith('/')) throw new BadInputError(`--volume must be an absolute path: ${v}`);
      return v;
    });
    said.push(...e.volumes.map((x) => `VOLUME ${x}`));
  }
  if (e.stopSignal !== undefined) {
    rc.StopSignal = e.stopSignal;
    said.push(`STOPSIGNAL ${e.stopSignal}`);
  }
  if (e.healthcheck !== undefined) {
    const h = parseHealthcheck(e.healthcheck);
    if (h) rc.Healthcheck = h;
    else delete rc.Healthcheck;
    said.push(`HEALTHCHECK ${e.healthcheck}`);
  }
  if (e.shell !== undefined) {
    const t = e.shell.trim();
    const sh = t === '' ? null : parseCommand(t.startsWith('[') ? t : JSON.stringify([t]), '--shell');
    if (sh?.length) rc.Shell = sh;
    else delete rc.Shell;
    said.push(`SHELL ${JSON.stringify(sh ?? [])}`);
  }
  if (e.onbuild?.length) {
    rc.OnBuild = [...(rc.OnBuild ?? []), ...e.onbuild];
    said.push(...e.onbuild.map((x) => `ONBUILD ${x}`));
  }
  const out: ImageConfig = { ...config, config: rc };
  if (e.arch !== undefined) out.architecture = e.arch;
  if (e.os !== undefined) out.os = e.os;
  if (e.author !== undefined) {
    out.author = e.author;
    said.push(`MAINTAINER ${e.author}`);
  }
  return { config: out, createdBy: said.map((s) => `/bin/sh -c #(nop) ${s}`).join(' && ') };
}
