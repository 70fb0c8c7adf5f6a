import type { History, ImageConfig } from '../oci/types.js';
import type { ContainerRecord } from '../store/containers.js';

/*
 * The image config a working container yields, written in one place for commit (commit.ts) and a
 * container's flat export (export.ts), so that both carry the same config for the same container.
 */

/**
 * History entries of rec's checkpoints, base first: each with its own time, or with `clamped` (the
 * reproducible build's time) for every one when given, and its message as the comment.
 */
export function checkpointHistory(rec: ContainerRecord, clamped?: string): History[] {
  return rec.checkpoints.flatMap((cp) => [
    ...(cp.steps ?? []).map((s) => ({ created: clamped ?? cp.created, created_by: s, empty_layer: true })),
    { created: clamped ?? cp.created, created_by: cp.createdBy, ...(cp.message ? { comment: cp.message } : {}) },
  ]);
}

/** The image config of rec's base config with the layers diffIDs (base first) and history, created at `created`. */
export function containerImageConfig(rec: ContainerRecord, created: string, diffIDs: string[], history: History[]): ImageConfig {
  const base = rec.config;
  return {
    created,
    ...(base.author ? { author: base.author } : {}),
    architecture: base.architecture,
    os: base.os,
    ...(base.variant ? { variant: base.variant } : {}),
    config: base.config ?? {},
    rootfs: { type: 'layers', diff_ids: diffIDs },
    history,
  };
}
