/** The layer engine: deterministic tar writing, safe extraction, whiteouts and pending-change scans. */
export * from './entry.js';
export { readXattrs, writeXattrs } from './xattr.js';
export { scanUpper, scanTree, snapshotTree, saveSnapshot, loadSnapshot, scanTreeDiff, overlayChanges, type Snapshot, type SnapshotEntry } from './scan.js';
export { packEntries, headerOf } from './tarwriter.js';
export { extractLayer, type ExtractOptions } from './extract.js';
export { InRoot, resolveInRoot, cleanEntryPath, type Located } from './inroot.js';
export { compressor, decompress, layerMediaType, type Compression } from './compress.js';
