// A case made of layer entries, run once per source it applies to.
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { fromSource } from './sources.js';
import { sha, tarOf, type RawEntry } from './tar.js';
import type { AfterCtx, CallResult, CaseCtx, HostileCase, Outcome, Source, Who } from './types.js';

/** Every source a layer can come from (for a few cases of each class: the transports share the extractor). */
export const ALL_SOURCES: Source[] = ['tarball', 'tarball-vfs', 'oci', 'oci-vfs', 'oci-archive', 'docker-archive', 'exec'];
/** Both storage drivers, for one-layer cases. */
export const DRIVERS: Source[] = ['tarball', 'tarball-vfs'];
/** Both storage drivers, for images of several layers. */
export const LAYERED: Source[] = ['oci', 'oci-vfs'];

/** What must be found in the extracted layer (when the call succeeded): a file's content, a link's target, a type. */
export interface Land {
  path: string;
  file?: string;
  symlink?: string;
  type?: 'dir' | 'char' | 'fifo' | 'absent';
  /** Permission bits including setuid. */
  mode?: number;
}

/** Checks lands in the extracted tree of the last layer (ROOT/layers/<diffID hex>). */
export function checkLands(root: string, lastLayer: Buffer, lands: Land[]): string[] {
  const dir = path.join(root, 'layers', sha(lastLayer).slice(7));
  const p: string[] = [];
  for (const l of lands) {
    const abs = path.join(dir, l.path);
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      st = undefined;
    }
    if (l.type === 'absent') {
      if (st) p.push(`/${l.path} should not be in the layer`);
      continue;
    }
    if (!st) {
      p.push(`/${l.path} is not in the layer (${dir})`);
      continue;
    }
    if (l.file !== undefined && (!st.isFile() || readFileSync(abs, 'utf8') !== l.file)) p.push(`/${l.path} should be a file holding ${JSON.stringify(l.file)}`);
    if (l.symlink !== undefined && (!st.isSymbolicLink() || readlinkSync(abs) !== l.symlink)) p.push(`/${l.path} should be a symlink to ${l.symlink}`);
    if (l.type === 'dir' && !st.isDirectory()) p.push(`/${l.path} should be a directory`);
    if (l.type === 'char' && !st.isCharacterDevice()) p.push(`/${l.path} should be a character device`);
    if (l.type === 'fifo' && !st.isFIFO()) p.push(`/${l.path} should be a FIFO`);
    if (l.mode !== undefined && (st.mode & 0o7777) !== l.mode) p.push(`/${l.path} has mode ${(st.mode & 0o7777).toString(8)}, not ${l.mode.toString(8)}`);
  }
  return p;
}

/** A case of layer entries (one list per layer, or a raw tar), expanded to one row per source. */
export interface LayerCaseSpec {
  klass: string;
  id: string;
  what: string;
  outcome: Outcome;
  only?: Who;
  /** The layers: entries of one layer, or of several (base first), or raw tar bytes per layer. */
  layers(ctx: CaseCtx): RawEntry[] | RawEntry[][] | Buffer[];
  /**
   * Default: a refused input once (both drivers extract every layer the same way first), a confined one once;
   * cases where the copying driver's second pass (whiteouts applied on one tree) matters name it.
   */
  sources?: Source[];
  /** The layer files as stored, when they are not the tars (broken or hostile compression). */
  blobs?(ctx: CaseCtx, tars: Buffer[]): Buffer[];
  /** Environment of the calls (CAIRN_MAX_LAYER_SIZE…). */
  env?: Record<string, string>;
  /** Where things must land (checked when the call succeeded, for sources that keep the layer: not exec). */
  lands?(ctx: CaseCtx): Land[];
  /** More checks after the call. */
  after?(ctx: AfterCtx, r: CallResult, source: Source, layers: Buffer[]): string[];
}

/** Normalizes a case's layers to tar bytes. */
function layerTars(spec: LayerCaseSpec, ctx: CaseCtx): Buffer[] {
  const l = spec.layers(ctx);
  if (l.length > 0 && Buffer.isBuffer(l[0])) return l as Buffer[];
  if (l.length > 0 && Array.isArray(l[0])) return (l as RawEntry[][]).map((e) => tarOf(e));
  return [tarOf(l as RawEntry[])];
}

/** Expands a layer case into rows. */
export function layerCase(spec: LayerCaseSpec): HostileCase[] {
  const sources = spec.sources ?? ['tarball'];
  return sources.map((source) => {
    let tars: Buffer[] = [];
    return {
      id: `${spec.klass}/${spec.id}@${source}`,
      klass: spec.klass,
      what: spec.what,
      outcome: spec.outcome,
      only: spec.only,
      prepare(ctx: CaseCtx) {
        tars = layerTars(spec, ctx);
        const steps = fromSource(ctx, source, { layers: tars, blobs: spec.blobs?.(ctx, tars) });
        return steps.map((s) => ({ ...s, env: { ...s.env, ...spec.env } }));
      },
      after(ctx: AfterCtx, r: CallResult) {
        const p: string[] = [];
        if (spec.lands && r.status === 0 && source !== 'exec') p.push(...checkLands(ctx.root, tars[tars.length - 1], spec.lands(ctx)));
        if (spec.after) p.push(...spec.after(ctx, r, source, tars));
        return p;
      },
    };
  });
}

/** The canary directory as a path relative to the root ('tmp/…/canary'), for names that land inside. */
export function rel(abs: string): string {
  return abs.replace(/^\/+/, '');
}
