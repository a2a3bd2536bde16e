import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, simdKernelsFor } from './simd-kernels.js';
import { columnReductionKernel } from './sum.js';
import { heapF32, release } from './wasm-backend.js';

/**
 * The kernels a BatchNormalization layer's training step spends its time in on the wasm backend.
 * tfjs-layers computes the batch statistics with `tf.moments` (two `Mean`s over every axis but the
 * channels, a broadcasting `Sub`), normalises with `FusedBatchNorm`, and tfjs-core's gradient of
 * `FusedBatchNorm` tiles 1/√(var+ε) over the whole activation (`Tile` [1,1,1,C] → [N,H,W,C]: ~250 ms
 * at batch 64 on the stock kernel) and multiplies per channel. Each kernel here handles the
 * per-channel case (a [C] or [1,…,1,C] operand against [..., C]) and leaves the others to the stock
 * kernel, except `Tile`, which is general.
 */

type CopyView = Float32Array | Int32Array | Uint8Array;

function rawView(backend: BackendWasm, info: TensorInfo): CopyView | null {
  if (info.dtype !== 'float32' && info.dtype !== 'int32' && info.dtype !== 'bool') return null;
  return backend.typedArrayFromHeap(info) as CopyView;
}

/** `Tile`: copies on heap views; each tiled block is written once and then doubled with `copyWithin`. */
export function tileKernel(stockTile: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const reps = ((args.attrs ?? {}) as NamedAttrMap).reps as number[];
    if (rawView(backend, x) == null || !Array.isArray(reps) || reps.length !== x.shape.length) return stockTile(args);
    const out = backend.makeOutput(
      x.shape.map((d, i) => d * reps[i]!),
      x.dtype,
    );
    tileInto(rawView(backend, out)!, rawView(backend, x)!, x.shape, reps);
    return out;
  };
}

/** Writes `src` (row-major `shape`) tiled `reps` times along each axis into `dst`. */
export function tileInto(dst: CopyView, src: CopyView, shape: readonly number[], reps: readonly number[]): void {
  if (dst.length === 0) return;
  if (shape.length === 0) {
    dst[0] = src[0]!;
    return;
  }
  // Simplify: drop axes of size 1 repeated once, and merge an axis repeated once into the axis before it.
  const dims: number[] = [];
  const times: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    const r = reps[i]!;
    if (d === 1 && r === 1) continue;
    if (r === 1 && dims.length > 0) dims[dims.length - 1]! *= d;
    else {
      dims.push(d);
      times.push(r);
    }
  }
  if (dims.length === 0) {
    dst[0] = src[0]!;
    return;
  }
  const rank = dims.length;
  const srcStride = new Array<number>(rank);
  const dstStride = new Array<number>(rank);
  let s = 1;
  let t = 1;
  for (let i = rank - 1; i >= 0; i--) {
    srcStride[i] = s;
    dstStride[i] = t;
    s *= dims[i]!;
    t *= dims[i]! * times[i]!;
  }
  const fill = (axis: number, from: number, to: number): void => {
    const block = dims[axis]! * dstStride[axis]!;
    if (axis === rank - 1) {
      const n = dims[axis]!;
      if (n < 16) for (let k = 0; k < n; k++) dst[to + k] = src[from + k]!;
      else dst.set(src.subarray(from, from + n), to);
    } else {
      for (let i = 0; i < dims[axis]!; i++) fill(axis + 1, from + i * srcStride[axis]!, to + i * dstStride[axis]!);
    }
    repeatBlock(dst, to, block, times[axis]!);
  };
  fill(0, 0, 0);
}

/** dst[to + block … to + block·times) = `times − 1` more copies of dst[to … to + block), doubling. */
function repeatBlock(dst: CopyView, to: number, block: number, times: number): void {
  const total = block * times;
  let done = block;
  if (block < 16) {
    for (; done < total && done < 64; done += block) for (let k = 0; k < block; k++) dst[to + done + k] = dst[to + k]!;
  }
  while (done < total) {
    const n = Math.min(done, total - done); // both multiples of block
    dst.copyWithin(to + done, to, to + n);
    done += n;
  }
}

/**
 * `Mean` over every axis but the last (the batch mean and variance of `tf.moments` for a channels-last
 * batch normalisation): column sums in float64 as `Sum` does, divided by the row count. Other means
 * go to the stock kernel.
 */
export function meanKernel(stockMean: KernelFunc, useSimd = true): KernelFunc {
  return columnReductionKernel(stockMean, useSimd, true);
}

/** True when `small` is one value per channel of `full` ([C] or [1,…,1,C] with C = full's last axis). */
function perChannel(small: TensorInfo, full: TensorInfo): boolean {
  const rank = full.shape.length;
  const c = full.shape[rank - 1];
  if (rank < 2 || small.shape.length > rank || small.shape.length === 0) return false;
  if (small.shape[small.shape.length - 1] !== c) return false;
  return small.shape.slice(0, -1).every((d) => d === 1);
}

type BinaryOp = 'Multiply' | 'Sub' | 'Add';

/**
 * `Multiply`, `Sub`, `Add` of a [..., C] tensor and a per-channel one (either order). The stock
 * kernels broadcast the per-channel operand element by element (~3× slower than the same operation
 * on equal shapes); this tiles it to the full shape first (doubling copies) and calls the stock kernel
 * on equal shapes. Exactly the same arithmetic. Everything else goes to the stock kernel directly.
 */
export function perChannelBinaryKernel(stock: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
    const aFull = a.shape.length >= b.shape.length && perChannel(b, a);
    const bFull = !aFull && perChannel(a, b);
    if (!aFull && !bFull) return stock(args);
    const full = aFull ? a : b;
    const tiled = tilePerChannel(backend, aFull ? b : a, full.shape);
    try {
      return stock({ ...args, inputs: aFull ? { a, b: tiled } : { a: tiled, b } });
    } finally {
      release(backend, tiled);
    }
  };
}

/** A temporary `shape` tensor whose every row of C is `channels` (release it). */
function tilePerChannel(backend: BackendWasm, channels: TensorInfo, shape: readonly number[]): TensorInfo {
  const out = backend.makeOutput(shape.slice(), 'float32');
  const values = heapF32(backend, out);
  const c = shape[shape.length - 1]!;
  if (values.length > 0) {
    values.set(heapF32(backend, channels).subarray(0, c), 0);
    repeatBlock(values, 0, c, values.length / c);
  }
  return out;
}

/**
 * `FusedBatchNorm` with per-channel mean, variance, scale and offset (each [C] or [1,…,1,C]); the
 * stock kernel spends ~15 ns per element. Here: (x − mean)·f + offset with f = scale/√(var + ε) per
 * channel, as three stock equal-shape operations on tiled rows. Other shapes go to the stock kernel.
 */
export function fusedBatchNormKernel(stock: KernelFunc, ops: { sub: KernelFunc; mul: KernelFunc; add: KernelFunc }): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x, mean, variance, scale, offset } = args.inputs as Record<string, TensorInfo | undefined>;
    const epsilonAttr = ((args.attrs ?? {}) as NamedAttrMap).varianceEpsilon as number | undefined;
    const epsilon = epsilonAttr ?? 0.001;
    if (x == null || mean == null || variance == null) return stock(args);
    const params = [mean, variance, scale, offset].filter((t): t is TensorInfo => t != null);
    if (x.dtype !== 'float32' || !params.every((p) => p.dtype === 'float32' && perChannel(p, x))) return stock(args);
    const c = x.shape[x.shape.length - 1]!;
    const perChannelValues = backend.makeOutput([3, c], 'float32');
    const temps: TensorInfo[] = [perChannelValues];
    try {
      const pc = heapF32(backend, perChannelValues);
      const m = heapF32(backend, mean);
      const v = heapF32(backend, variance);
      const s = scale ? heapF32(backend, scale) : null;
      const b = offset ? heapF32(backend, offset) : null;
      for (let k = 0; k < c; k++) {
        pc[k] = m[k]!;
        pc[c + k] = (s ? s[k]! : 1) / Math.sqrt(v[k]! + epsilon);
        pc[2 * c + k] = b ? b[k]! : 0;
      }
      const row = (i: number): TensorInfo => {
        const t = tilePerChannelFrom(backend, perChannelValues, i * c, x.shape);
        temps.push(t);
        return t;
      };
      const centred = ops.sub({ ...args, inputs: { a: x, b: row(0) }, attrs: {} }) as TensorInfo;
      temps.push(centred);
      const scaled = ops.mul({ ...args, inputs: { a: centred, b: row(1) }, attrs: {} }) as TensorInfo;
      temps.push(scaled);
      return ops.add({ ...args, inputs: { a: scaled, b: row(2) }, attrs: {} }) as TensorInfo;
    } finally {
      for (const t of temps) release(backend, t);
    }
  };
}

function tilePerChannelFrom(backend: BackendWasm, source: TensorInfo, start: number, shape: readonly number[]): TensorInfo {
  const out = backend.makeOutput(shape.slice(), 'float32');
  const values = heapF32(backend, out);
  const c = shape[shape.length - 1]!;
  if (values.length > 0) {
    values.set(heapF32(backend, source).subarray(start, start + c), 0);
    repeatBlock(values, 0, c, values.length / c);
  }
  return out;
}
