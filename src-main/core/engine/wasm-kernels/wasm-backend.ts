import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Helpers shared by the replacement kernels. A kernel here runs inside `engine.runKernel`, so
 * anything it allocates is invisible to `tf.memory()` until it is returned: every temporary
 * must be released with `release` before the kernel returns, or the wasm heap leaks.
 */

/** Calls another kernel's function directly (no tape, no engine bookkeeping), as the stock wasm kernels do. */
export function callKernel(
  kernel: KernelFunc,
  backend: BackendWasm,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const out = kernel({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error('wasm-kernels: expected a kernel with one output');
  return out;
}

/** Frees a temporary made by `callKernel` or `backend.makeOutput`. */
export function release(backend: BackendWasm, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/**
 * A float32 view of a tensor's bytes in the wasm heap. Take views only after the last
 * allocation of the kernel: growing the heap detaches every earlier view.
 */
export function heapF32(backend: BackendWasm, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`wasm-kernels: expected float32, got ${info.dtype}`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** The permutation that swaps the last two axes of a rank-`rank` tensor. */
export function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

export function product(values: readonly number[]): number {
  let p = 1;
  for (const v of values) p *= v;
  return p;
}
