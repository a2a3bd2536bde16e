import type { KernelFunc, NamedAttrMap, TensorInfo, backend_util as BackendUtil } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapF32 } from './wasm-backend.js';

/**
 * `MaxPoolGrad` for the wasm backend. The stock kernel takes ~19 ms for the CNN preset's first
 * pooling layer at batch 32; routing each output's gradient to its window's maximum takes one
 * pass over the input. Ties go to the first maximum in row-major window order and NaN never
 * wins, as in the cpu backend, so both backends train the same.
 */

export type PoolInfoFns = Pick<typeof BackendUtil, 'computePool2DInfo'>;

export function maxPoolGradKernel(util: PoolInfoFns): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
      throw new Error(`MaxPoolGrad on wasm supports float32 only, got ${input.dtype} and ${dy.dtype}`);
    }
    const info = util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize as [number, number] | number,
      attrs.strides as [number, number] | number,
      1,
      attrs.pad as 'valid' | 'same' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const out = backend.makeOutput([...input.shape], 'float32');
    const dx = heapF32(backend, out);
    routeToMaxima(dx, heapF32(backend, input), heapF32(backend, dy), {
      batchSize: info.batchSize,
      inHeight: info.inHeight,
      inWidth: info.inWidth,
      channels: info.inChannels,
      outHeight: info.outHeight,
      outWidth: info.outWidth,
      filterHeight: info.filterHeight,
      filterWidth: info.filterWidth,
      strideHeight: info.strideHeight,
      strideWidth: info.strideWidth,
      padTop: info.padInfo.top,
      padLeft: info.padInfo.left,
    });
    return out;
  };
}

export interface PoolGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** dx = 0, then dx[argmax of each window] += dy of that window; channels innermost for locality. */
export function routeToMaxima(dx: Float32Array, x: Float32Array, dy: Float32Array, g: PoolGeometry): void {
  const { batchSize, inHeight, inWidth, channels, outHeight, outWidth } = g;
  dx.fill(0);
  const best = new Float64Array(channels);
  const at = new Int32Array(channels);
  let d = 0;
  for (let b = 0; b < batchSize; b++) {
    const imageBase = b * inHeight * inWidth * channels;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * g.strideHeight - g.padTop;
      const hStart = Math.max(0, h0);
      const hEnd = Math.min(inHeight, h0 + g.filterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * g.strideWidth - g.padLeft;
        const wStart = Math.max(0, w0);
        const wEnd = Math.min(inWidth, w0 + g.filterWidth);
        best.fill(Number.NEGATIVE_INFINITY);
        at.fill(-1);
        for (let h = hStart; h < hEnd; h++) {
          for (let w = wStart; w < wEnd; w++) {
            const base = imageBase + (h * inWidth + w) * channels;
            for (let c = 0; c < channels; c++) {
              const v = x[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                at[c] = base + c;
              }
            }
          }
        }
        for (let c = 0; c < channels; c++) {
          const i = at[c]!;
          if (i >= 0) dx[i]! += dy[d]!;
          d++;
        }
      }
    }
  }
}
