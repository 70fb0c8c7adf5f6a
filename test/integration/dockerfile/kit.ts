import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliKit, type CliKit } from '../../kit/cli.js';
import { tinyRootfsTar } from '../../kit/tiny.js';

/** What the Dockerfile tests inspect of an image. */
export interface Inspected {
  id: string;
  config: {
    Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string; StopSignal?: string;
    Labels?: Record<string, string>; ExposedPorts?: Record<string, object>; Volumes?: Record<string, object>; Shell?: string[];
  };
  history: { created_by?: string; empty_layer?: boolean; comment?: string }[];
  rootfs: { diff_ids: string[] };
}

/** A CLI kit with the tiny image stored as `base`, and helpers for contexts, runs and inspection. */
export interface DfKit extends CliKit {
  base: string;
  /** A fresh context directory holding files (relative path → content). */
  context(files: Record<string, string>): string;
  /** Runs argv in a container of image; returns its trimmed stdout. */
  runIn(image: string, argv: string[]): string;
  /** The image's ID, config, history and diff IDs. */
  inspect(image: string): Inspected;
}

/** Makes the kit: a fresh store with the tiny image tagged localhost/tiny:1. */
export function dfKit(): DfKit {
  const k = cliKit('cairn-df-');
  const id = k.ok(['pull', `tarball:${tinyRootfsTar()}`]);
  k.ok(['tag', id, 'localhost/tiny:1']);
  return {
    ...k,
    base: 'localhost/tiny:1',
    context(files) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'cairn-df-ctx-'));
      for (const [f, body] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        writeFileSync(path.join(dir, f), body);
      }
      return dir;
    },
    runIn(image, argv) {
      const c = k.ok(['from', image]);
      try {
        return k.ok(['run', c, '--', ...argv]);
      } finally {
        k.ok(['rm', c]);
      }
    },
    inspect(image) {
      const j = JSON.parse(k.ok(['inspect', image]));
      return { id: j.id ?? j.Id, config: j.config.config ?? {}, history: j.config.history ?? [], rootfs: j.config.rootfs };
    },
  };
}
