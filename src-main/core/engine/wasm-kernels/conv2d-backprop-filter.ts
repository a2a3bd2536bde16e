import type { KernelFunc, NamedAttrMap, TensorInfo, backend_util as BackendUtil } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, simdKernelsFor } from './simd-kernels.js';
import { callKernel, heapF32, release } from './wasm-backend.js';

/**
 * `Conv2DBackpropFilter` (the filter gradient of a 2-D convolution), which tfjs-backend-wasm
 * 4.22 does not have. It is one matrix product over the output positions p = (b,oh,ow):
 * dW[(kh,kw,ci), co] = Σ_p colsᵀ[(kh,kw,ci), p] · dy[p, co], where `cols` (im2col) holds the
 * input pixel each filter tap sees. The product runs on the stock XNNPACK matMul, dy on the
 * right. (The other orientation, (dyᵀ·cols)ᵀ, measured 2–3× slower for both layers of the CNN
 * preset: XNNPACK handles a product with few output columns poorly.)
 *
 * colsᵀ is built whichever way moves memory faster:
 * - wide input rows (kw·ci ≥ 16, e.g. 3×3×32): im2col as [p, taps], where each (b,oh,ow,kh)
 *   is one `set` of a contiguous run of the input row, then the stock wasm Transpose;
 * - narrow rows (e.g. the first layer, ci = 1), where per-run copies would cost more than the
 *   data: written transposed directly, element by element.
 *
 * A gradient small enough to stay in L1 (taps × co ≤ SMALL_GRADIENT floats, e.g. the first layer's
 * 9 × 32) skips both: `convFilterGradientSmall` (simd-kernels.wat) adds each nonzero input pixel
 * times its dy row straight into the gradient — there im2col plus a product with 9 rows and
 * 21,632-long sums took ~3.3 ms a step, this ~0.5 ms.
 */

/** Largest gradient (taps × output channels, floats) the direct kernel takes: 16 KB, in L1. */
const SMALL_GRADIENT = 4096;

export interface ConvFilterGradStock {
  batchMatMul: KernelFunc;
  transpose: KernelFunc;
}

export type ConvInfoFns = Pick<typeof BackendUtil, 'computeConv2DInfo'>;

export function conv2DBackpropFilterKernel(stock: ConvFilterGradStock, util: ConvInfoFns, useSimd = true): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x: xIn, dy: dyIn } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    const filterShape = attrs.filterShape as [number, number, number, number];
    const channelsFirst = attrs.dataFormat === 'NCHW';
    if (xIn.dtype !== 'float32' || dyIn.dtype !== 'float32') {
      throw new Error(`Conv2DBackpropFilter on wasm supports float32 only, got ${xIn.dtype} and ${dyIn.dtype}`);
    }
    const temporaries: TensorInfo[] = [];
    try {
      // The im2col below reads channels-last; NCHW inputs are transposed once, which is cheap.
      const toChannelsLast = (t: TensorInfo): TensorInfo => {
        const nhwc = callKernel(stock.transpose, backend, { x: t }, { perm: [0, 2, 3, 1] });
        temporaries.push(nhwc);
        return nhwc;
      };
      const x = channelsFirst ? toChannelsLast(xIn) : xIn;
      const dy = channelsFirst ? toChannelsLast(dyIn) : dyIn;
      const info = util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filterShape,
        attrs.strides as [number, number] | number,
        1,
        attrs.pad as 'valid' | 'same' | number,
        attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
        false,
        'channelsLast',
      );
      const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
      const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
      const positions = batchSize * outHeight * outWidth;
      const taps = filterHeight * filterWidth * inChannels;

      const geometry: Im2colGeometry = {
        batchSize, inHeight, inWidth, inChannels, outHeight, outWidth,
        filterHeight, filterWidth, strideHeight, strideWidth,
        padTop: info.padInfo.top, padLeft: info.padInfo.left,
      };
      const simd = useSimd && outChannels % 4 === 0 && taps * outChannels <= SMALL_GRADIENT ? simdKernelsFor(backend) : null;
      if (simd) {
        const grad = backend.makeOutput([...filterShape], 'float32');
        heapF32(backend, grad).fill(0);
        simd.convFilterGradientSmall(
          heapOffset(backend, x.dataId), heapOffset(backend, dy.dataId), heapOffset(backend, grad.dataId),
          batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
          filterHeight, filterWidth, strideHeight, strideWidth, info.padInfo.top, info.padInfo.left,
        );
        return grad;
      }
      const dy2d = { dataId: dy.dataId, shape: [positions, outChannels], dtype: dy.dtype };
      const product = (left: TensorInfo, right: TensorInfo): TensorInfo =>
        callKernel(stock.batchMatMul, backend, { a: left, b: right }, { transposeA: false, transposeB: false });
      const transposed = (t: TensorInfo): TensorInfo => {
        const out = callKernel(stock.transpose, backend, { x: t }, { perm: [1, 0] });
        temporaries.push(out);
        return out;
      };
      const wide = filterWidth * inChannels >= WIDE_ROW;
      let colsT: TensorInfo;
      if (wide) {
        colsT = transposed(im2col());
      } else {
        colsT = backend.makeOutput([taps, positions], 'float32');
        temporaries.push(colsT);
        fillTransposedIm2col(heapF32(backend, colsT), heapF32(backend, x), geometry);
      }
      const grad = product(colsT, dy2d);
      return { dataId: grad.dataId, shape: [...filterShape], dtype: grad.dtype };

      function im2col(): TensorInfo {
        const cols = backend.makeOutput([positions, taps], 'float32');
        temporaries.push(cols);
        fillIm2col(heapF32(backend, cols), heapF32(backend, x), geometry);
        return cols;
      }
    } finally {
      for (const t of temporaries) release(backend, t);
    }
  };
}

/** Runs of at least this many floats are copied with one `set`; shorter ones element by element. */
const WIDE_ROW = 16;


export interface Im2colGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/**
 * cols[(kh,kw,ci), (b,oh,ow)] = x[b, oh·sh + kh − top, ow·sw + kw − left, ci], 0 outside the
 * image. Rows are written sequentially; the strided reads stay inside one small input tensor.
 */
export function fillTransposedIm2col(cols: Float32Array, x: Float32Array, g: Im2colGeometry): void {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = g;
  const rowStride = inWidth * ci;
  const imageStride = inHeight * rowStride;
  const colStep = sw * ci;
  let o = 0;
  for (let kh = 0; kh < g.filterHeight; kh++) {
    for (let kw = 0; kw < g.filterWidth; kw++) {
      const iw0 = kw - g.padLeft;
      // Output columns whose input column iw = ow·sw + iw0 falls inside [0, inWidth).
      const owStart = Math.min(outWidth, Math.max(0, Math.ceil(-iw0 / sw)));
      const owEnd = Math.max(owStart, Math.min(outWidth, Math.floor((inWidth - 1 - iw0) / sw) + 1));
      for (let c = 0; c < ci; c++) {
        for (let b = 0; b < batchSize; b++) {
          const imageBase = b * imageStride + c;
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * sh + kh - g.padTop;
            if (ih < 0 || ih >= inHeight) {
              cols.fill(0, o, o + outWidth);
              o += outWidth;
              continue;
            }
            for (let ow = 0; ow < owStart; ow++) cols[o++] = 0;
            let src = imageBase + ih * rowStride + (owStart * sw + iw0) * ci;
            for (let ow = owStart; ow < owEnd; ow++) {
              cols[o++] = x[src]!;
              src += colStep;
            }
            for (let ow = owEnd; ow < outWidth; ow++) cols[o++] = 0;
          }
        }
      }
    }
  }
}

/**
 * cols[(b,oh,ow), (kh,kw,ci)] = x[b, oh·sh + kh − top, ow·sw + kw − left, ci], 0 outside the
 * image. For a fixed (b,oh,ow,kh) the taps (kw,ci) are one contiguous run of the input row.
 */
export function fillIm2col(cols: Float32Array, x: Float32Array, g: Im2colGeometry): void {
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, filterHeight, filterWidth } = g;
  const run = filterWidth * ci;
  const rowStride = inWidth * ci;
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    const imageBase = b * inHeight * rowStride;
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const iw0 = ow * g.strideWidth - g.padLeft;
        // Taps kw whose input column iw0 + kw is inside the image.
        const kwStart = Math.max(0, -iw0);
        const kwEnd = Math.min(filterWidth, inWidth - iw0);
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * g.strideHeight + kh - g.padTop;
          if (ih < 0 || ih >= inHeight || kwEnd <= kwStart) {
            cols.fill(0, o, o + run);
          } else {
            const src = imageBase + ih * rowStride + (iw0 + kwStart) * ci;
            const head = kwStart * ci;
            const tail = kwEnd * ci;
            for (let j = 0; j < head; j++) cols[o + j] = 0;
            if (tail - head >= WIDE_ROW) {
              cols.set(x.subarray(src, src + tail - head), o + head);
            } else {
              for (let j = head; j < tail; j++) cols[o + j] = x[src + j - head]!;
            }
            for (let j = tail; j < run; j++) cols[o + j] = 0;
          }
          o += run;
        }
      }
    }
  }
}
