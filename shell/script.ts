import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Session, startLine } from './session.js';
import type { LayerView, StepRecord, VerbTable } from './types.js';

/*
 * The plain runner: `cairn shell FILE.cairn`, a `#!/usr/bin/env -S cairn shell` script, or lines piped in
 * without a terminal. Each line runs as in the interactive shell (`#` comments and blank lines skipped); the
 * output is plain text: the step's output, then for a step that changed the tree one "changed:" line. The first
 * failing line stops the run with `FILE:LINE: message`, and its status is the run's (a command's exit status,
 * else 125).
 */

/** Options of runScript. */
export interface ScriptOptions {
  verbs: VerbTable;
  root?: string;
  /** A container to use or an image to start from before the first line. */
  start?: string;
  /** The script file; without it, lines are read from input as they come. */
  file?: string;
  input?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

/** Runs the lines; resolves with the exit status. */
export async function runScript(opts: ScriptOptions): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const label = opts.file ?? 'stdin';
  const session = await Session.open({ verbs: opts.verbs, root: opts.root, handoff: (fn) => fn(), historyFile: null });
  session.on('output', (_rec: StepRecord, line: string) => stdout.write(line + '\n'));
  session.on('warn', (text: string) => stderr.write(`cairn: warning: ${text}\n`));
  /** Runs one line; a number ends the run with that status. */
  const one = async (line: string, where: string): Promise<number | undefined> => {
    const rec = await session.exec(line);
    if (rec.n === 0) return undefined;
    if (rec.layers) for (const l of formatLayers(rec.layers)) stdout.write(l + '\n');
    if (rec.changes?.length) stdout.write(changedLine(rec) + '\n');
    if (rec.status !== 'ok') {
      stderr.write(`${where}: ${rec.error ?? (rec.status === 'interrupted' ? 'interrupted' : 'failed')}\n`);
      return rec.exitCode !== undefined && rec.exitCode !== 0 ? rec.exitCode : 125;
    }
    if (rec.verb === 'exit') return rec.exitCode ?? 0;
    return undefined;
  };
  try {
    if (opts.start) {
      const st = await one(await startLine(opts.start, opts.root), `${label}:0`);
      if (st !== undefined) return st;
    }
    if (opts.file !== undefined) {
      const lines = readFileSync(opts.file, 'utf8').split('\n');
      for (let i = 0; i < lines.length; i++) {
        const st = await one(lines[i], `${label}:${i + 1}`);
        if (st !== undefined) return st;
      }
      return 0;
    }
    let n = 0;
    for await (const line of createInterface({ input: opts.input ?? process.stdin, crlfDelay: Infinity })) {
      const st = await one(line, `${label}:${++n}`);
      if (st !== undefined) return st;
    }
    return 0;
  } finally {
    await session.close();
  }
}

/** `changed: N paths, X bytes` for a step that changed the tree. */
export function changedLine(rec: StepRecord): string {
  const ch = rec.changes ?? [];
  const bytes = ch.reduce((s, c) => s + c.size, 0);
  const kinds = (['A', 'C', 'D'] as const).map((k) => [k, ch.filter((c) => c.kind === k).length] as const).filter(([, n]) => n > 0);
  return `changed: ${ch.length} path${ch.length === 1 ? '' : 's'}, ${bytes} bytes (${kinds.map(([k, n]) => `${n} ${k}`).join(', ')})`;
}

/** The layers view as plain lines: one per layer, then its waste, caches and suggestions. */
export function formatLayers(layers: readonly LayerView[]): string[] {
  const out: string[] = [];
  for (const l of layers) {
    const name = l.kind === 'checkpoint' ? `checkpoint ${l.index}` : l.kind;
    const what = l.message ?? (l.diffID ? l.diffID.slice(0, 19) : '');
    out.push(`${name.padEnd(14)} ${String(l.size).padStart(12)} bytes  +${l.added.length} ~${l.changed.length} -${l.deleted.length}  ${what}`.trimEnd());
    if (l.wasted.bytes) out.push(`  wasted: ${l.wasted.bytes} bytes in ${l.wasted.paths.length} paths (${l.wasted.paths.slice(0, 3).join(', ')}${l.wasted.paths.length > 3 ? ', …' : ''})`);
    for (const c of l.caches) out.push(`  cache left behind: ${c.path} (${c.bytes} bytes)`);
    for (const s of l.suggestions) out.push(`  suggestion: ${s}`);
  }
  return out;
}
