import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The WebAssembly SIMD kernels of simd-kernels.wat, instantiated on tfjs-backend-wasm's own
 * memory so they read and write tensors in place (pointers are the tensors' heap offsets).
 * The module is 1.3 KB, embedded below; simd-kernels.wat says how to rebuild it.
 */

/** simd-kernels.wat compiled by wat2wasm (wabt 1.0.32), base64. */
export const SIMD_KERNELS_WASM =
  'AGFzbQEAAAABKANgEH9/f39/f39/fX19fX19fX0AYAl/f39/f39/f38AYAV/f39/fwACDwEDZW52Bm1lbW9yeQIAAAMEAwABAgcjAwRhZGFtAAAObWF4UG9vbEdyYWQyeDIAAQdzdW1Sb3dzAAIKnAkD8AIDA38LewN9IAj9EyETIAn9EyEUIAr9EyEVIAv9EyEWIAz9EyEXIA39EyEYIA79EyEZIA/9EyEaIAdBfHEhEQJAA0AgECARTw0BIBBBAnQhEiABIBJq/QACACEbIAIgEmr9AAIAIBP95gEgGyAV/eYB/eQBIRwgAyASav0AAgAgFP3mASAbIBv95gEgFv3mAf3kASEdIAQgEmogHCAX/ecBIB0gGP3nAf3jASAZ/eQB/ecBIBr95gEgACASav0AAgD95AH9CwIAIAUgEmogHP0LAgAgBiASaiAd/QsCACAQQQRqIRAMAAsLAkADQCAQIAdPDQEgEEECdCESIAEgEmoqAgAhHiACIBJqKgIAIAiUIB4gCpSSIR8gAyASaioCACAJlCAeIB6UIAuUkiEgIAQgEmogHyAMlSAgIA2VkSAOkpUgD5QgACASaioCAJI4AgAgBSASaiAfOAIAIAYgEmogIDgCACAQQQFqIRAMAAsLC80EAgh/CHsgBkECdCEOIAUgDmwhDQJAA0AgCSADTw0BQQAhCgJAA0AgCiAHTw0BIAkgBGwgCkEBdGogDWwhEEEAIQsCQANAIAsgCE8NAUEAIQwCQANAIAwgDk8NASAQIAtBAXQgDmwgDGpqIQ8gACAPav0AAgAhESAAIA8gDmpq/QACACESIAAgDyANamr9AAIAIRMgACAPIA0gDmpqav0AAgAhFCAR/QwAAID/AACA/wAAgP8AAID//UQhFyAR/QwAAID/AACA/wAAgP8AAID/IBf9UiEV/QwAAAAAAAAAAAAAAAAAAAAA/Qz/////////////////////IBf9UiEWIBIgFf1EIRcgEiAVIBf9UiEV/QwBAAAAAQAAAAEAAAABAAAAIBYgF/1SIRYgEyAV/UQhFyATIBUgF/1SIRX9DAIAAAACAAAAAgAAAAIAAAAgFiAX/VIhFiAUIBX9RCEX/QwDAAAAAwAAAAMAAAADAAAAIBYgF/1SIRYgAf0AAgAhGCACIA9qIBggFv0MAAAAAAAAAAAAAAAAAAAAAP03/U79CwIAIAIgDyAOamogGCAW/QwBAAAAAQAAAAEAAAABAAAA/Tf9Tv0LAgAgAiAPIA1qaiAYIBb9DAIAAAACAAAAAgAAAAIAAAD9N/1O/QsCACACIA8gDSAOampqIBggFv0MAwAAAAMAAAADAAAAAwAAAP03/U79CwIAIAFBEGohASAMQRBqIQwMAAsLIAtBAWohCwwACwsgCkEBaiEKDAALCyAJQQFqIQkMAAsLC9gBAwN/AXsBfyAEQQJ0IQcgAkEAIARBA3T8CwACQANAIAUgA08NAUEAIQYCQANAIAYgB08NASAAIAZq/QACACEIIAIgBkEBdGohCSAJIAn9AAMAIAj9X/3wAf0LAwAgCUEQaiAJQRBq/QADACAIIAj9DQgJCgsMDQ4PAAECAwQFBgf9X/3wAf0LAwAgBkEQaiEGDAALCyAAIAdqIQAgBUEBaiEFDAALC0EAIQYCQANAIAYgBE8NASABIAZBAnRqIAIgBkEDdGorAwC2OAIAIAZBAWohBgwACwsL';

export interface SimdKernels {
  adam(
    w: number, g: number, m: number, v: number, ow: number, om: number, ov: number, n: number,
    beta1: number, beta2: number, oneMinusBeta1: number, oneMinusBeta2: number,
    correction1: number, correction2: number, epsilon: number, negLearningRate: number,
  ): void;
  maxPoolGrad2x2(x: number, dy: number, dx: number, batch: number, inHeight: number, inWidth: number, channels: number, outHeight: number, outWidth: number): void;
  sumRows(x: number, out: number, scratch: number, rows: number, cols: number): void;
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
