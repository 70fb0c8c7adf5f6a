import { readFileSync } from 'node:fs';
import os from 'node:os';
import { store, type StoreOptions } from './api.js';

/** What `cairn info` reports: where the store is and how it works here, and the versions a bug report needs. */
export interface InfoFacts {
  store: { root: string; driver: string; xattrs: string; images: number; containers: number };
  rootless: { rootless: boolean; uid: number; uidMap: string[]; gidMap: string[]; subuid: string; subgid: string; runtimeDir: string };
  host: { os: string; kernel: string; arch: string; node: string; cpus: number; memory: string };
  tools: Record<string, string>;
}

/** A file's lines, or [] when it cannot be read. */
function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter(Boolean);
  } catch {
    return [];
  }
}

/** The first line of a host tool's version output (its stderr when stdout is empty), or 'missing'. */
async function toolVersion(cmd: string, args: string[]): Promise<string> {
  const { runCommand } = await import('./core/spawn.js');
  try {
    const r = await runCommand(cmd, args);
    return ((r.stdout.toString().trim() || r.stderr.trim()).split('\n')[0] ?? '').trim() || `exit ${r.code}`;
  } catch {
    return 'missing';
  }
}

/** Facts about this installation and host for a bug report (reads only; nothing is changed). */
export async function info(opts: StoreOptions = {}): Promise<InfoFacts> {
  const s = await store(opts);
  const [{ chooseDriver }, { subordinateRange, runtimeDir }] = await Promise.all([import('./container/drivers/select.js'), import('./sandbox/pause.js')]);
  // Inside the user's namespace (a normal user's verbs run there) this process is root: the user is the host's.
  const hostUid = Number(process.env.CAIRN_ROOTLESS_UID ?? process.getuid!());
  const { findUser, readHostPasswd } = await import('./core/passwd.js');
  const user = findUser(readHostPasswd(), hostUid)?.name ?? String(hostUid);
  const range = (file: string) => {
    const r = subordinateRange(file, user, hostUid);
    return r ? `${r.start}-${r.start + r.count - 1} (${r.count})` : 'none';
  };
  const release = Object.fromEntries(lines('/etc/os-release').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"|"$/g, '')]));
  const [driver, images, containers, tools] = await Promise.all([
    chooseDriver(s),
    s.images.list().then((l) => l.length),
    s.containers.list().then((l) => l.length),
    Promise.all([
      toolVersion('unshare', ['--version']),
      toolVersion('mount', ['--version']),
      toolVersion('perl', ['-e', 'print "perl $^V\\n"']),
      toolVersion('setfattr', ['--version']),
      toolVersion('newuidmap', ['--version']),
    ]),
  ]);
  return {
    store: { root: s.paths.root, driver, xattrs: s.flavor, images, containers },
    rootless: {
      rootless: hostUid !== 0,
      uid: hostUid,
      uidMap: lines('/proc/self/uid_map'),
      gidMap: lines('/proc/self/gid_map'),
      subuid: range('/etc/subuid'),
      subgid: range('/etc/subgid'),
      runtimeDir: runtimeDir(hostUid),
    },
    host: {
      os: release.PRETTY_NAME ?? os.type(),
      kernel: os.release(),
      arch: process.arch,
      node: process.version,
      cpus: os.availableParallelism(),
      memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    },
    tools: { 'util-linux unshare': tools[0], mount: tools[1], perl: tools[2], setfattr: tools[3], newuidmap: tools[4] },
  };
}
