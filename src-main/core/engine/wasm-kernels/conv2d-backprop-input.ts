import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { ConvInfoFns } from './conv2d-backprop-filter.js';
import { callKernel, heapF32, release } from './wasm-backend.js';

/**
 * `Conv2DBackpropInput` (the input gradient of a 2-D convolution). The stock wasm kernel is a
 * scalar loop (~85 ms for the CNN preset's second layer at batch 32); this one rewrites the
 * gradient as a forward convolution, which the stock `Conv2D` runs on XNNPACK:
 * dx = conv2d(dilate(dy, stride), flip(W) with in/out channels swapped, stride 1, padding
 * (k − 1 − pad)). Cases that formula does not cover (NCHW, padding wider than the filter) go to
 * the stock kernel.
 */

export interface ConvInputGradStock {
  conv2D: KernelFunc;
  conv2DBackpropInput: KernelFunc;
}

export function conv2DBackpropInputKernel(stock: ConvInputGradStock, util: ConvInfoFns): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    if (attrs.dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
      return stock.conv2DBackpropInput(args);
    }
    const inputShape = attrs.inputShape as [number, number, number, number];
    const info = util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides as [number, number] | number,
      1,
      attrs.pad as 'valid' | 'same' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
      false,
      'channelsLast',
    );
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
    const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
    const dilatedHeight = (outHeight - 1) * strideHeight + 1;
    const dilatedWidth = (outWidth - 1) * strideWidth + 1;
    const top = filterHeight - 1 - info.padInfo.top;
    const left = filterWidth - 1 - info.padInfo.left;
    const bottom = inHeight - dilatedHeight + filterHeight - 1 - top;
    const right = inWidth - dilatedWidth + filterWidth - 1 - left;
    if (top < 0 || left < 0 || bottom < 0 || right < 0) return stock.conv2DBackpropInput(args);

    const temporaries: TensorInfo[] = [];
    try {
      const flipped = backend.makeOutput([filterHeight, filterWidth, outChannels, inChannels], 'float32');
      temporaries.push(flipped);
      let dilated = dy;
      if (strideHeight > 1 || strideWidth > 1) {
        dilated = backend.makeOutput([batchSize, dilatedHeight, dilatedWidth, outChannels], 'float32');
        temporaries.push(dilated);
        dilate(heapF32(backend, dilated), heapF32(backend, dy), batchSize, outHeight, outWidth, outChannels, strideHeight, strideWidth);
      }
      flipFilter(heapF32(backend, flipped), heapF32(backend, filter), filterHeight, filterWidth, inChannels, outChannels);
      return callKernel(stock.conv2D, backend, { x: dilated, filter: flipped }, {
        strides: [1, 1],
        pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
        dataFormat: 'NHWC',
        dilations: [1, 1],
        dimRoundingMode: null,
      } as unknown as NamedAttrMap);
    } finally {
      for (const t of temporaries) release(backend, t);
    }
  };
}

/** out[kh, kw, co, ci] = w[KH−1−kh, KW−1−kw, ci, co]. */
export function flipFilter(out: Float32Array, w: Float32Array, kh: number, kw: number, ci: number, co: number): void {
  let o = 0;
  for (let h = 0; h < kh; h++) {
    for (let x = 0; x < kw; x++) {
      const base = ((kh - 1 - h) * kw + (kw - 1 - x)) * ci * co;
      for (let c = 0; c < co; c++) {
        for (let i = 0; i < ci; i++) out[o++] = w[base + i * co + c]!;
      }
    }
  }
}

/** Spreads dy's pixels `stride` apart with zeros between them (the transposed convolution's input). */
function dilate(
  out: Float32Array,
  dy: Float32Array,
  batch: number,
  height: number,
  width: number,
  channels: number,
  strideHeight: number,
  strideWidth: number,
): void {
  out.fill(0);
  const outWidth = (width - 1) * strideWidth + 1;
  const outHeight = (height - 1) * strideHeight + 1;
  let src = 0;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < height; h++) {
      const rowBase = (b * outHeight + h * strideHeight) * outWidth;
      for (let w = 0; w < width; w++) {
        const dst = (rowBase + w * strideWidth) * channels;
        out.set(dy.subarray(src, src + channels), dst);
        src += channels;
      }
    }
  }
}
