/**
 * WebAssembly feature probes, decided in JS before any module is fetched (tfjs's approach): the
 * SIMD128 module is chosen only where the engine validates SIMD instructions; otherwise the scalar
 * build is used. `WebAssembly.validate` compiles nothing, so the probe is cheap and side-effect free.
 */

/**
 * The smallest module with a SIMD instruction: one function `() -> v128` whose body is
 * `i32.const 0; i8x16.splat; i8x16.popcnt; end`. Engines without SIMD128 reject the v128 type.
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0xfd, 0x62, 0x0b, // code section
]);

let simd: boolean | undefined;

/** True when this engine runs WebAssembly SIMD128 (Node ≥ 16.4, current browsers). Cached. */
export function simdSupported(): boolean {
  if (simd === undefined) {
    try {
      simd = typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
    } catch {
      simd = false;
    }
  }
  return simd;
}
