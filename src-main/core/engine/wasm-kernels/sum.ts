import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, simdKernelsFor } from './simd-kernels.js';
import { heapF32, release } from './wasm-backend.js';

/**
 * `Sum` over every axis but the last — the bias gradient of a Dense or Conv2D layer (for the
 * CNN preset's first layer, 21,632 rows of 32). The stock kernel transposes the input so the
 * reduced axes come last, then sums (~1.7 ms there); this sums the columns in place, with
 * WebAssembly SIMD when the row length is a multiple of 4. Float64 accumulation in row order,
 * as the cpu backend does: the same result bit for bit. Other reductions go to the stock kernel.
 */
export function sumKernel(stockSum: KernelFunc, useSimd = true): KernelFunc {
  return columnReductionKernel(stockSum, useSimd, false);
}

/**
 * Column sums over every axis but the last, divided by the row count when `mean` (batch
 * normalisation's `Mean`, batch-norm.ts); any other reduction goes to `stock`.
 */
export function columnReductionKernel(stock: KernelFunc, useSimd: boolean, mean: boolean): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { axis, keepDims } = (args.attrs ?? {}) as NamedAttrMap;
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank < 2 || !reducesAllButLast(axis, rank)) return stock(args);
    const cols = x.shape[rank - 1]!;
    const rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const out = backend.makeOutput(keepDims === true ? [...new Array<number>(rank - 1).fill(1), cols] : [cols], 'float32');
    const simd = useSimd && cols % 4 === 0 && rows > 0 ? simdKernelsFor(backend) : null;
    if (simd) {
      const scratch = backend.makeOutput([2 * cols], 'float32');
      try {
        simd.sumRows(heapOffset(backend, x.dataId), heapOffset(backend, out.dataId), heapOffset(backend, scratch.dataId), rows, cols);
      } finally {
        release(backend, scratch);
      }
    } else {
      sumRows(heapF32(backend, out), heapF32(backend, x), rows, cols);
    }
    if (mean) {
      const values = heapF32(backend, out);
      for (let c = 0; c < cols; c++) values[c] = values[c]! / rows;
    }
    return out;
  };
}

/** True when `axis` (a number, a list, negative entries allowed) is exactly 0 … rank−2. */
function reducesAllButLast(axis: unknown, rank: number): boolean {
  const list = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? (axis as number[]) : null;
  if (list == null || list.length !== rank - 1) return false;
  const normal = list.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  return normal.every((a, i) => a === i);
}

export function sumRows(out: Float32Array, x: Float32Array, rows: number, cols: number): void {
  const acc = new Float64Array(cols);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) acc[c]! += x[o + c]!;
    o += cols;
  }
  out.set(acc);
}
