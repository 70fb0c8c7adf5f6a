import { GEAR } from './gear.js';

/*
 * The gear hash's inner loop in WebAssembly. V8 runs chunker.ts's JavaScript loop at 2.5–3.5 ns a byte (every
 * typed-array access is bounds-checked); this module, optimized, at about 1 ns. Its memory holds the gear table
 * (bytes 0–1023, 256 little-endian i32) and a window of the bytes to hash (from 1024). The module, as text:
 *
 *   (module
 *     (memory (export "mem") 1)
 *     (func (export "roll") (param $from i32) (param $to i32) (param $mask i32) (param $h i32) (result i32)
 *       (local $i i32)
 *       (local.set $i (local.get $from))
 *       (block $done
 *         (loop $next
 *           (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
 *           (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
 *                                  (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
 *           (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
 *             (then (global.set $hash (local.get $h)) (return (local.get $i))))
 *           (local.set $i (i32.add (local.get $i) (i32.const 1)))
 *           (br $next)))
 *       (global.set $hash (local.get $h))
 *       (i32.const -1))
 *     (global $hash (export "hash") (mut i32) (i32.const 0)))
 *
 * assembled by wabt's wat2wasm 1.0.32 into the bytes below. test/unit/delta/chunker.test.ts checks that it cuts
 * where the JavaScript loop does.
 */
const MODULE =
  'AGFzbQEAAAABCQFgBH9/f38BfwMCAQAFAwEAAQYGAX8BQQALBxUDA21lbQIABHJvbGwAAARoYXNoAwAKSQFHAQF/IAAhBAJAA0AgBCABTw0BIANBAXQgBC0AAEECdCgCAGohAyADIAJxRQRAIAMkACAEDwsgBEEBaiEEDAALCyADJABBfws=';

/** Where the window of bytes to hash starts in the module's memory (after the gear table). */
const WINDOW_AT = 1024;
/** Bytes hashed per call: the window (the memory is grown to hold it). */
const WINDOW = 256 << 10;

/** The gear loop over buf[from..to), as chunker.ts's roll: the first i where the hash has no bit of mask set, or -1; the hash so far in state[0]. */
export type Roll = (buf: Uint8Array, from: number, to: number, mask: number, state: Int32Array) => number;

let made: Roll | null | undefined;

/** The WebAssembly gear loop, or undefined where WebAssembly cannot run (the caller keeps its JavaScript loop). */
export function wasmRoll(): Roll | undefined {
  if (made === undefined) made = compile();
  return made ?? undefined;
}

function compile(): Roll | null {
  let exports: WebAssembly.Exports;
  try {
    exports = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(MODULE, 'base64'))).exports;
  } catch {
    return null;
  }
  const mem = exports.mem as WebAssembly.Memory;
  const run = exports.roll as (from: number, to: number, mask: number, h: number) => number;
  const hash = exports.hash as WebAssembly.Global;
  mem.grow(Math.ceil((WINDOW_AT + WINDOW) / 65536) - mem.buffer.byteLength / 65536);
  const table = new DataView(mem.buffer, 0, 1024);
  GEAR.forEach((v, i) => table.setInt32(4 * i, v, true));
  const heap = new Uint8Array(mem.buffer);
  return (buf, from, to, mask, state) => {
    let h = state[0];
    for (let at = from; at < to; ) {
      const n = Math.min(WINDOW, to - at);
      heap.set(buf.subarray(at, at + n), WINDOW_AT);
      const i = run(WINDOW_AT, WINDOW_AT + n, mask, h);
      h = hash.value as number;
      if (i >= 0) {
        state[0] = h;
        return at + i - WINDOW_AT;
      }
      at += n;
    }
    state[0] = h;
    return -1;
  };
}
