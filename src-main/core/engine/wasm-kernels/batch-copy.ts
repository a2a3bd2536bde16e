import type { KernelFunc, NamedAttrMap, TensorInfo, backend_util as BackendUtil, slice_util as SliceUtil } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * `Slice` and `GatherV2` — how a training loop takes a batch out of the data set — for the wasm
 * backend. The stock `Slice` copies the whole input out of the wasm heap (`readSync`) before
 * copying the slice, so taking 32 images out of 60,000 moved 188 MB; the stock `Gather` spends
 * ~25 ns per element. Both are pure copies: done here on views of the heap, row by row.
 */

type CopyView = Float32Array | Int32Array | Uint8Array;

/** A view of the tensor in the wasm heap, or null for dtypes kept outside it (string, complex). */
function rawView(backend: BackendWasm, info: TensorInfo): CopyView | null {
  if (info.dtype !== 'float32' && info.dtype !== 'int32' && info.dtype !== 'bool') return null;
  return backend.typedArrayFromHeap(info) as CopyView;
}

export type SliceFns = Pick<typeof SliceUtil, 'parseSliceParams'>;

export function sliceKernel(stockSlice: KernelFunc, sliceUtil: SliceFns): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') return stockSlice(args);
    const [begin = [], size = []] = sliceUtil.parseSliceParams(x as never, attrs.begin as number[], attrs.size as number[]);
    const out = backend.makeOutput(size, x.dtype);
    copySlice(rawView(backend, out)!, rawView(backend, x)!, x.shape, begin, size);
    return out;
  };
}

/** Copies the box `begin … begin+size` of a row-major `shape` tensor, one innermost run at a time. */
export function copySlice(dst: CopyView, src: CopyView, shape: readonly number[], begin: readonly number[], size: readonly number[]): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0]!;
    return;
  }
  // Merge trailing axes that are taken whole: the innermost contiguous run is then as long as possible.
  let inner = rank - 1;
  let run = size[inner]!;
  while (inner > 0 && size[inner] === shape[inner] && begin[inner] === 0) {
    inner--;
    run *= size[inner]!;
  }
  const strides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  const outer = inner; // axes 0 … inner−1 are iterated, axis `inner` starts each run
  let total = 1;
  for (let i = 0; i < outer; i++) total *= size[i]!;
  if (run === 0 || total === 0) return;
  const index = new Array<number>(outer).fill(0);
  let o = 0;
  for (let n = 0; n < total; n++) {
    let from = begin[inner]! * strides[inner]!;
    for (let i = 0; i < outer; i++) from += (begin[i]! + index[i]!) * strides[i]!;
    dst.set(src.subarray(from, from + run), o);
    o += run;
    for (let i = outer - 1; i >= 0; i--) {
      if (++index[i]! < size[i]!) break;
      index[i] = 0;
    }
  }
}

export type GatherFns = Pick<typeof BackendUtil, 'segment_util'>;

export function gatherV2Kernel(stockGather: KernelFunc, util: GatherFns): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    if (indices.dtype !== 'int32' || rawView(backend, x) == null) return stockGather(args);
    const axisAttr = attrs.axis as number;
    const axis = axisAttr < 0 ? axisAttr + x.shape.length : axisAttr;
    const batchDims = (attrs.batchDims as number | undefined) ?? 0;
    const shapeInfo = util.segment_util.collectGatherOpShapeInfo(x as never, indices as never, axis, batchDims);
    const out = backend.makeOutput(shapeInfo.outputShape, x.dtype);
    const src = rawView(backend, x)!;
    const dst = rawView(backend, out)!;
    const idx = rawView(backend, indices) as Int32Array;
    const { batchSize, outerSize, dimSize, sliceSize } = shapeInfo;
    const perBatch = idx.length / batchSize;
    for (let i = 0; i < idx.length; i++) {
      const v = idx[i]!;
      if (v < 0 || v >= dimSize) {
        backend.disposeData(out.dataId);
        throw new Error(`GatherV2: the index value ${v} is not in [0, ${dimSize - 1}]`);
      }
    }
    let o = 0;
    for (let b = 0; b < batchSize; b++) {
      for (let outerIndex = 0; outerIndex < outerSize; outerIndex++) {
        const base = (b * outerSize + outerIndex) * dimSize * sliceSize;
        for (let j = 0; j < perBatch; j++) {
          const from = base + idx[b * perBatch + j]! * sliceSize;
          if (sliceSize < 16) {
            for (let k = 0; k < sliceSize; k++) dst[o + k] = src[from + k]!;
          } else {
            dst.set(src.subarray(from, from + sliceSize), o);
          }
          o += sliceSize;
        }
      }
    }
    return out;
  };
}
