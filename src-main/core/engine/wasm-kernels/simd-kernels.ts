import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The WebAssembly SIMD kernels of simd-kernels.wat, instantiated on tfjs-backend-wasm's own
 * memory so they read and write tensors in place (pointers are the tensors' heap offsets).
 * The module is 1 KB, embedded below; simd-kernels.wat says how to rebuild it.
 */

/** simd-kernels.wat compiled by wat2wasm (wabt 1.0.32), base64. */
export const SIMD_KERNELS_WASM =
  'AGFzbQEAAAABIAJgEH9/f39/f39/fX19fX19fX0AYAl/f39/f39/f38AAg8BA2VudgZtZW1vcnkCAAADAwIAAQcZAgRhZGFtAAAObWF4UG9vbEdyYWQyeDIAAQrCBwLwAgMDfwt7A30gCP0TIRMgCf0TIRQgCv0TIRUgC/0TIRYgDP0TIRcgDf0TIRggDv0TIRkgD/0TIRogB0F8cSERAkADQCAQIBFPDQEgEEECdCESIAEgEmr9AAIAIRsgAiASav0AAgAgE/3mASAbIBX95gH95AEhHCADIBJq/QACACAU/eYBIBsgG/3mASAW/eYB/eQBIR0gBCASaiAcIBf95wEgHSAY/ecB/eMBIBn95AH95wEgGv3mASAAIBJq/QACAP3kAf0LAgAgBSASaiAc/QsCACAGIBJqIB39CwIAIBBBBGohEAwACwsCQANAIBAgB08NASAQQQJ0IRIgASASaioCACEeIAIgEmoqAgAgCJQgHiAKlJIhHyADIBJqKgIAIAmUIB4gHpQgC5SSISAgBCASaiAfIAyVICAgDZWRIA6SlSAPlCAAIBJqKgIAkjgCACAFIBJqIB84AgAgBiASaiAgOAIAIBBBAWohEAwACwsLzQQCCH8IeyAGQQJ0IQ4gBSAObCENAkADQCAJIANPDQFBACEKAkADQCAKIAdPDQEgCSAEbCAKQQF0aiANbCEQQQAhCwJAA0AgCyAITw0BQQAhDAJAA0AgDCAOTw0BIBAgC0EBdCAObCAMamohDyAAIA9q/QACACERIAAgDyAOamr9AAIAIRIgACAPIA1qav0AAgAhEyAAIA8gDSAOampq/QACACEUIBH9DAAAgP8AAID/AACA/wAAgP/9RCEXIBH9DAAAgP8AAID/AACA/wAAgP8gF/1SIRX9DAAAAAAAAAAAAAAAAAAAAAD9DP////////////////////8gF/1SIRYgEiAV/UQhFyASIBUgF/1SIRX9DAEAAAABAAAAAQAAAAEAAAAgFiAX/VIhFiATIBX9RCEXIBMgFSAX/VIhFf0MAgAAAAIAAAACAAAAAgAAACAWIBf9UiEWIBQgFf1EIRf9DAMAAAADAAAAAwAAAAMAAAAgFiAX/VIhFiAB/QACACEYIAIgD2ogGCAW/QwAAAAAAAAAAAAAAAAAAAAA/Tf9Tv0LAgAgAiAPIA5qaiAYIBb9DAEAAAABAAAAAQAAAAEAAAD9N/1O/QsCACACIA8gDWpqIBggFv0MAgAAAAIAAAACAAAAAgAAAP03/U79CwIAIAIgDyANIA5qamogGCAW/QwDAAAAAwAAAAMAAAADAAAA/Tf9Tv0LAgAgAUEQaiEBIAxBEGohDAwACwsgC0EBaiELDAALCyAKQQFqIQoMAAsLIAlBAWohCQwACwsL';

export interface SimdKernels {
  adam(
    w: number, g: number, m: number, v: number, ow: number, om: number, ov: number, n: number,
    beta1: number, beta2: number, oneMinusBeta1: number, oneMinusBeta2: number,
    correction1: number, correction2: number, epsilon: number, negLearningRate: number,
  ): void;
  maxPoolGrad2x2(x: number, dy: number, dx: number, batch: number, inHeight: number, inWidth: number, channels: number, outHeight: number, outWidth: number): void;
}

// The project's TypeScript libs (ES2023, no DOM) do not declare WebAssembly; these few members do.
interface WebAssemblyApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const instances = new WeakMap<object, SimdKernels | null>();

/** The kernels bound to this backend's heap, or null where they cannot run (no SIMD, other build). */
export function simdKernelsFor(backend: BackendWasm): SimdKernels | null {
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    try {
      const bytes = Uint8Array.from(atob(SIMD_KERNELS_WASM), (c) => c.charCodeAt(0));
      kernels = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } }).exports as unknown as SimdKernels;
    } catch {
      kernels = null;
    }
    instances.set(memory, kernels);
  }
  return kernels;
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: BackendWasm, dataId: object): number {
  const data = backend.dataIdMap.get(dataId);
  if (data == null) throw new Error('wasm-kernels: tensor data not found in the wasm backend');
  return data.memoryOffset;
}
