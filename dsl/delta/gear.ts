/*
 * The gear table of the chunker's rolling hash: 256 fixed 32-bit values, one per byte value. Segment boundaries
 * are a function of this table, so it must never change: another table would cut every file elsewhere and no
 * segment of an old index would match a new file. A different table gets a new id (the index records the id).
 * The values come from splitmix32 seeded with the ASCII bytes "cdc1": anything well mixed would do.
 */

/** The id of this table, recorded in every index (ChunkerParams.gear). */
export const GEAR_ID = 1;

function splitmix32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) | 0;
  };
}

/** The table, as signed 32-bit values (the hash is computed in int32 arithmetic). */
export const GEAR: Int32Array = (() => {
  const next = splitmix32(0x63646331);
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) t[i] = next();
  return t;
})();
