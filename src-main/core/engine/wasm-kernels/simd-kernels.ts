import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * The WebAssembly SIMD kernels of simd-kernels.wat, instantiated on tfjs-backend-wasm's own
 * memory so they read and write tensors in place (pointers are the tensors' heap offsets).
 * The module is 5 KB, embedded below; simd-kernels.wat says how to rebuild it. `instantiateSimdKernels`
 * gives the same kernels a memory of their own instead (the fused Dense step, dense-step.ts).
 */

/** simd-kernels.wat compiled by wat2wasm (wabt 1.0.32), base64. */
export const SIMD_KERNELS_WASM =
  'AGFzbQEAAAABZQhgEH9/f39/f39/fX19fX19fX0AYAl/f39/f39/f38AYAV/f39/fwBgB39/f39/f38AYAh/f39/f39/fwBgCn9/f39/f39/f38AYAR/f39/AGARf39/f39/f39/f319fX19fX0AAg8BA2VudgZtZW1vcnkCAAADCgkAAQIDBAUGAQcHjQEJBGFkYW0AAA5tYXhQb29sR3JhZDJ4MgABB3N1bVJvd3MAAgpzcGFyc2VSb3dzAAMNcm93c1RvQ29sdW1ucwAEDGRlbnNlRm9yd2FyZAAFDGJpYXNHcmFkaWVudAAGEmRlbnNlSW5wdXRHcmFkaWVudAAHF2RlbnNlV2VpZ2h0R3JhZGllbnRBZGFtAAgK1CIJ8AIDA38LewN9IAj9EyETIAn9EyEUIAr9EyEVIAv9EyEWIAz9EyEXIA39EyEYIA79EyEZIA/9EyEaIAdBfHEhEQJAA0AgECARTw0BIBBBAnQhEiABIBJq/QACACEbIAIgEmr9AAIAIBP95gEgGyAV/eYB/eQBIRwgAyASav0AAgAgFP3mASAbIBv95gEgFv3mAf3kASEdIAQgEmogHCAX/ecBIB0gGP3nAf3jASAZ/eQB/ecBIBr95gEgACASav0AAgD95AH9CwIAIAUgEmogHP0LAgAgBiASaiAd/QsCACAQQQRqIRAMAAsLAkADQCAQIAdPDQEgEEECdCESIAEgEmoqAgAhHiACIBJqKgIAIAiUIB4gCpSSIR8gAyASaioCACAJlCAeIB6UIAuUkiEgIAQgEmogHyAMlSAgIA2VkSAOkpUgD5QgACASaioCAJI4AgAgBSASaiAfOAIAIAYgEmogIDgCACAQQQFqIRAMAAsLC80EAgh/CHsgBkECdCEOIAUgDmwhDQJAA0AgCSADTw0BQQAhCgJAA0AgCiAHTw0BIAkgBGwgCkEBdGogDWwhEEEAIQsCQANAIAsgCE8NAUEAIQwCQANAIAwgDk8NASAQIAtBAXQgDmwgDGpqIQ8gACAPav0AAgAhESAAIA8gDmpq/QACACESIAAgDyANamr9AAIAIRMgACAPIA0gDmpqav0AAgAhFCAR/QwAAID/AACA/wAAgP8AAID//UQhFyAR/QwAAID/AACA/wAAgP8AAID/IBf9UiEV/QwAAAAAAAAAAAAAAAAAAAAA/Qz/////////////////////IBf9UiEWIBIgFf1EIRcgEiAVIBf9UiEV/QwBAAAAAQAAAAEAAAABAAAAIBYgF/1SIRYgEyAV/UQhFyATIBUgF/1SIRX9DAIAAAACAAAAAgAAAAIAAAAgFiAX/VIhFiAUIBX9RCEX/QwDAAAAAwAAAAMAAAADAAAAIBYgF/1SIRYgAf0AAgAhGCACIA9qIBggFv0MAAAAAAAAAAAAAAAAAAAAAP03/U79CwIAIAIgDyAOamogGCAW/QwBAAAAAQAAAAEAAAABAAAA/Tf9Tv0LAgAgAiAPIA1qaiAYIBb9DAIAAAACAAAAAgAAAAIAAAD9N/1O/QsCACACIA8gDSAOampqIBggFv0MAwAAAAMAAAADAAAAAwAAAP03/U79CwIAIAFBEGohASAMQRBqIQwMAAsLIAtBAWohCwwACwsgCkEBaiEKDAALCyAJQQFqIQkMAAsLC9gBAwN/AXsBfyAEQQJ0IQcgAkEAIARBA3T8CwACQANAIAUgA08NAUEAIQYCQANAIAYgB08NASAAIAZq/QACACEIIAIgBkEBdGohCSAJIAn9AAMAIAj9X/3wAf0LAwAgCUEQaiAJQRBq/QADACAIIAj9DQgJCgsMDQ4PAAECAwQFBgf9X/3wAf0LAwAgBkEQaiEGDAALCyAAIAdqIQAgBUEBaiEFDAALC0EAIQYCQANAIAYgBE8NASABIAZBAnRqIAIgBkEDdGorAwC2OAIAIAZBAWohBgwACwsLmgEDA38BfQJ/AkADQCAHIAFPDQEgACAHIANsQQJ0aiELIAcgAmxBAnQhDEEAIQlBACEIAkADQCAIIAJPDQEgCyAIQQJ0aioCACEKIAQgDCAJQQJ0amogCDYCACAFIAwgCUECdGpqIAo4AgAgCSAKQwAAAABcaiEJIAhBAWohCAwACwsgBiAHQQJ0aiAJNgIAIAdBAWohBwwACwsLrwEBB38gB0EAIARBAnT8CwACQANAIAggA08NASAIIARsQQJ0IQwgAiAIQQJ0aigCACEKQQAhCQJAA0AgCSAKTw0BIAwgCUECdGohDiAAIA5qKAIAIQsgByALQQJ0aigCACENIAcgC0ECdGogDUEBajYCACALIANsIA1qQQJ0IQ0gBSANaiAINgIAIAYgDWogASAOaioCADgCACAJQQFqIQkMAAsLIAhBAWohCAwACwsLwwUCCX8KeyAIQQJ0IQ4gDkGAAWshD/0MAAAAAAAAAAAAAAAAAAAAAP0MAACA/wAAgP8AAID/AACA/yAJGyEUAkADQCAKIANPDQEgCiAEbEECdCEQIAIgCkECdGooAgAhDCAHIAogDmxqIRFBACENAkADQCANIA9KDQEgBiANav0AAgAhFSAGIA1q/QACECEWIAYgDWr9AAIgIRcgBiANav0AAjAhGCAGIA1q/QACQCEZIAYgDWr9AAJQIRogBiANav0AAmAhGyAGIA1q/QACcCEcQQAhCwJAA0AgCyAMTw0BIAEgECALQQJ0amr9CQIAIRMgBSANaiAAIBAgC0ECdGpqKAIAIA5saiESIBUgEyAS/QACAP3mAf3kASEVIBYgEyAS/QACEP3mAf3kASEWIBcgEyAS/QACIP3mAf3kASEXIBggEyAS/QACMP3mAf3kASEYIBkgEyAS/QACQP3mAf3kASEZIBogEyAS/QACUP3mAf3kASEaIBsgEyAS/QACYP3mAf3kASEbIBwgEyAS/QACcP3mAf3kASEcIAtBAWohCwwACwsgESANaiAVIBT96QH9CwIAIBEgDWogFiAU/ekB/QsCECARIA1qIBcgFP3pAf0LAiAgESANaiAYIBT96QH9CwIwIBEgDWogGSAU/ekB/QsCQCARIA1qIBogFP3pAf0LAlAgESANaiAbIBT96QH9CwJgIBEgDWogHCAU/ekB/QsCcCANQYABaiENDAALCwJAA0AgDSAOTw0BIAYgDWr9AAIAIRVBACELAkADQCALIAxPDQEgASAQIAtBAnRqav0JAgAhEyAFIA1qIAAgECALQQJ0amooAgAgDmxqIRIgFSATIBL9AAIA/eYB/eQBIRUgC0EBaiELDAALCyARIA1qIBUgFP3pAf0LAgAgDUEQaiENDAALCyAKQQFqIQoMAAsLC2wBBH8gAkECdCEGIANBACAG/AsAAkADQCAEIAFPDQEgACAEIAZsaiEHQQAhBQJAA0AgBSAGTw0BIAMgBWogAyAFav0AAgAgByAFav0AAgD95AH9CwIAIAVBEGohBQwACwsgBEEBaiEEDAALCwvwAQMIfwF7AX0gAkECdCEMIAZBAnQhDQJAA0AgCSABTw0BIAAgCSAMbGohDkEAIQoCQANAIAogBE8NASAJIA1sIApBAnRqIRBDAAAAACESIAdFIAUgEGoqAgBDAAAAAF5yBEAgAyAKIAxsaiEP/QwAAAAAAAAAAAAAAAAAAAAAIRFBACELAkADQCALIAxPDQEgESAOIAtq/QACACAPIAtq/QACAP3mAf3kASERIAtBEGohCwwACwsgEf0fACAR/R8BkiAR/R8CIBH9HwOSkiESCyAIIBBqIBI4AgAgCkEBaiEKDAALCyAJQQFqIQkMAAsLC8UOAgp/EnsgCv0TIRwgC/0TIR0gDP0TIR4gDf0TIR8gDv0TISAgD/0TISEgEP0TISIgBkECdCEVIBVBgAFrIRYCQANAIBEgBE8NASARIANsQQJ0IRcgAiARQQJ0aigCACETIBEgFWwhGEEAIRQCQANAIBQgFkoNAf0MAAAAAAAAAAAAAAAAAAAAACEl/QwAAAAAAAAAAAAAAAAAAAAAISb9DAAAAAAAAAAAAAAAAAAAAAAhJ/0MAAAAAAAAAAAAAAAAAAAAACEo/QwAAAAAAAAAAAAAAAAAAAAAISn9DAAAAAAAAAAAAAAAAAAAAAAhKv0MAAAAAAAAAAAAAAAAAAAAACEr/QwAAAAAAAAAAAAAAAAAAAAAISxBACESAkADQCASIBNPDQEgASAXIBJBAnRqav0JAgAhGyAFIBRqIAAgFyASQQJ0amooAgAgFWxqIRkgJSAbIBn9AAIA/eYB/eQBISUgJiAbIBn9AAIQ/eYB/eQBISYgJyAbIBn9AAIg/eYB/eQBIScgKCAbIBn9AAIw/eYB/eQBISggKSAbIBn9AAJA/eYB/eQBISkgKiAbIBn9AAJQ/eYB/eQBISogKyAbIBn9AAJg/eYB/eQBISsgLCAbIBn9AAJw/eYB/eQBISwgEkEBaiESDAALCyAYIBRBAGpqIRogCCAaav0AAgAgHP3mASAlIB795gH95AEhIyAJIBpq/QACACAd/eYBICUgJf3mASAf/eYB/eQBISQgCCAaaiAj/QsCACAJIBpqICT9CwIAIAcgGmogByAaav0AAgAgIyAg/eYBICT94wEgIf3mASAi/eQB/ecB/eQB/QsCACAYIBRBEGpqIRogCCAaav0AAgAgHP3mASAmIB795gH95AEhIyAJIBpq/QACACAd/eYBICYgJv3mASAf/eYB/eQBISQgCCAaaiAj/QsCACAJIBpqICT9CwIAIAcgGmogByAaav0AAgAgIyAg/eYBICT94wEgIf3mASAi/eQB/ecB/eQB/QsCACAYIBRBIGpqIRogCCAaav0AAgAgHP3mASAnIB795gH95AEhIyAJIBpq/QACACAd/eYBICcgJ/3mASAf/eYB/eQBISQgCCAaaiAj/QsCACAJIBpqICT9CwIAIAcgGmogByAaav0AAgAgIyAg/eYBICT94wEgIf3mASAi/eQB/ecB/eQB/QsCACAYIBRBMGpqIRogCCAaav0AAgAgHP3mASAoIB795gH95AEhIyAJIBpq/QACACAd/eYBICggKP3mASAf/eYB/eQBISQgCCAaaiAj/QsCACAJIBpqICT9CwIAIAcgGmogByAaav0AAgAgIyAg/eYBICT94wEgIf3mASAi/eQB/ecB/eQB/QsCACAYIBRBwABqaiEaIAggGmr9AAIAIBz95gEgKSAe/eYB/eQBISMgCSAaav0AAgAgHf3mASApICn95gEgH/3mAf3kASEkIAggGmogI/0LAgAgCSAaaiAk/QsCACAHIBpqIAcgGmr9AAIAICMgIP3mASAk/eMBICH95gEgIv3kAf3nAf3kAf0LAgAgGCAUQdAAamohGiAIIBpq/QACACAc/eYBICogHv3mAf3kASEjIAkgGmr9AAIAIB395gEgKiAq/eYBIB/95gH95AEhJCAIIBpqICP9CwIAIAkgGmogJP0LAgAgByAaaiAHIBpq/QACACAjICD95gEgJP3jASAh/eYBICL95AH95wH95AH9CwIAIBggFEHgAGpqIRogCCAaav0AAgAgHP3mASArIB795gH95AEhIyAJIBpq/QACACAd/eYBICsgK/3mASAf/eYB/eQBISQgCCAaaiAj/QsCACAJIBpqICT9CwIAIAcgGmogByAaav0AAgAgIyAg/eYBICT94wEgIf3mASAi/eQB/ecB/eQB/QsCACAYIBRB8ABqaiEaIAggGmr9AAIAIBz95gEgLCAe/eYB/eQBISMgCSAaav0AAgAgHf3mASAsICz95gEgH/3mAf3kASEkIAggGmogI/0LAgAgCSAaaiAk/QsCACAHIBpqIAcgGmr9AAIAICMgIP3mASAk/eMBICH95gEgIv3kAf3nAf3kAf0LAgAgFEGAAWohFAwACwsCQANAIBQgFU8NAf0MAAAAAAAAAAAAAAAAAAAAACElQQAhEgJAA0AgEiATTw0BIAEgFyASQQJ0amr9CQIAIRsgBSAUaiAAIBcgEkECdGpqKAIAIBVsaiEZICUgGyAZ/QACAP3mAf3kASElIBJBAWohEgwACwsgGCAUQQBqaiEaIAggGmr9AAIAIBz95gEgJSAe/eYB/eQBISMgCSAaav0AAgAgHf3mASAlICX95gEgH/3mAf3kASEkIAggGmogI/0LAgAgCSAaaiAk/QsCACAHIBpqIAcgGmr9AAIAICMgIP3mASAk/eMBICH95gEgIv3kAf3nAf3kAf0LAgAgFEEQaiEUDAALCyARQQFqIREMAAsLCw==';

export interface SimdKernels {
  adam(
    w: number, g: number, m: number, v: number, ow: number, om: number, ov: number, n: number,
    beta1: number, beta2: number, oneMinusBeta1: number, oneMinusBeta2: number,
    correction1: number, correction2: number, epsilon: number, negLearningRate: number,
  ): void;
  maxPoolGrad2x2(x: number, dy: number, dx: number, batch: number, inHeight: number, inWidth: number, channels: number, outHeight: number, outWidth: number): void;
  sumRows(x: number, out: number, scratch: number, rows: number, cols: number): void;
  // The fused Dense training step's kernels (dense-step.ts); pointers are byte offsets.
  sparseRows(x: number, rows: number, cols: number, stride: number, idx: number, val: number, count: number): void;
  rowsToColumns(idx: number, val: number, count: number, rows: number, cols: number, cidx: number, cval: number, ccount: number): void;
  denseForward(idx: number, val: number, count: number, rows: number, cols: number, w: number, b: number, out: number, stride: number, relu: number): void;
  denseWeightGradientAdam(
    cidx: number, cval: number, ccount: number, rows: number, cols: number, dz: number, stride: number, w: number, m: number, v: number,
    beta1: number, beta2: number, oneMinusBeta1: number, oneMinusBeta2: number, k1: number, k2: number, epsilon: number,
  ): void;
  biasGradient(dz: number, rows: number, stride: number, gb: number): void;
  denseInputGradient(dz: number, rows: number, stride: number, w: number, cols: number, act: number, inStride: number, relu: number, dx: number): void;
}

// The project's TypeScript libs (ES2023, no DOM) do not declare WebAssembly; these few members do.
interface WebAssemblyApi {
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
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
      kernels = new wasmApi.Instance(compiledModule(), { env: { memory } }).exports as unknown as SimdKernels;
    } catch {
      kernels = null;
    }
    instances.set(memory, kernels);
  }
  return kernels;
}

let compiled: object | undefined;
function compiledModule(): object {
  compiled ??= new wasmApi.Module(Uint8Array.from(atob(SIMD_KERNELS_WASM), (c) => c.charCodeAt(0)));
  return compiled;
}

/**
 * The kernels on a fresh, zero-filled memory of at least `bytes` bytes of their own (for the
 * fused Dense step), or null where WebAssembly SIMD cannot run.
 */
export function instantiateSimdKernels(bytes: number): { kernels: SimdKernels; memory: { buffer: ArrayBuffer } } | null {
  try {
    const memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    const kernels = new wasmApi.Instance(compiledModule(), { env: { memory } }).exports as unknown as SimdKernels;
    return { kernels, memory };
  } catch {
    return null;
  }
}

/** Byte offset of a tensor's data in the wasm heap. */
export function heapOffset(backend: BackendWasm, dataId: object): number {
  const data = backend.dataIdMap.get(dataId);
  if (data == null) throw new Error('wasm-kernels: tensor data not found in the wasm backend');
  return data.memoryOffset;
}
