import { runCommand } from '../core/spawn.js';
import { promises as fsp } from 'node:fs';
import { CairnError } from '../core/errors.js';

/** A special file to create: a char or block device, or a FIFO ('p'). */
export interface NodeSpec {
  path: string;
  kind: 'c' | 'b' | 'p';
  major: number;
  minor: number;
}

const SCRIPT = 'st=0; while [ $# -ge 4 ]; do if [ "$2" = p ]; then mknod -- "$1" p || st=1; else mknod -- "$1" "$2" "$3" "$4" || st=1; fi; shift 4; done; exit $st';
// Keep each command line well below ARG_MAX; a typical layer needs a single process.
const MAX_ARGS_BYTES = 100_000;

async function runScript(args: string[]): Promise<string> {
  try {
    return (await runCommand('sh', ['-c', SCRIPT, 'sh', ...args])).stderr;
  } catch (e) {
    throw new CairnError(`cannot run sh to create device nodes: ${(e as Error).message}`);
  }
}

/** Creates special files with one mknod process per batch (never one per file); returns those that could not be made. */
export async function makeNodes(nodes: NodeSpec[]): Promise<{ failed: NodeSpec[]; stderr: string }> {
  let stderr = '';
  for (let i = 0; i < nodes.length; ) {
    const args: string[] = [];
    let bytes = 0;
    while (i < nodes.length && (args.length === 0 || bytes < MAX_ARGS_BYTES)) {
      const n = nodes[i++];
      args.push(n.path, n.kind, String(n.major), String(n.minor));
      bytes += Buffer.byteLength(n.path) + 24;
    }
    stderr += await runScript(args);
  }
  const failed: NodeSpec[] = [];
  for (const n of nodes) {
    const st = await fsp.lstat(n.path).catch(() => undefined);
    const ok = n.kind === 'p' ? st?.isFIFO() : n.kind === 'c' ? st?.isCharacterDevice() : st?.isBlockDevice();
    if (!ok) failed.push(n);
  }
  return { failed, stderr: stderr.trim() };
}
