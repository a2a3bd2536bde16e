import type * as tfNamespace from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, backend_util as BackendUtil, slice_util as SliceUtil } from '@tensorflow/tfjs';
import { ADAM_UPDATE, adamUpdateKernel, patchAdam, unpatchAdam } from './adam.js';
import { gatherV2Kernel, sliceKernel } from './batch-copy.js';
import { fusedBatchNormKernel, meanKernel, perChannelBinaryKernel, tileKernel } from './batch-norm.js';
import { conv2DBackpropFilterKernel } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputKernel } from './conv2d-backprop-input.js';
import { batchMatMulKernel, fusedMatMulKernel } from './mat-mul.js';
import { maxPoolGradKernel } from './max-pool-grad.js';
import { castKernel, identityKernel } from './shared-data.js';
import { sumKernel } from './sum.js';

/**
 * Training kernels for tfjs-backend-wasm 4.22: fast replacements for the kernels whose stock
 * version is slow in training (transposed matMuls, convolution and max-pool gradients, batch
 * slicing), the gradient kernel it lacks (`Conv2DBackpropFilter`), and a fused Adam step.
 */

/** The part of the `@tensorflow/tfjs` namespace the registration uses; pass `tf` itself. */
export interface TfKernelRegistry
  extends Pick<typeof tfNamespace, 'AdamOptimizer' | 'engine' | 'getBackend' | 'tidy' | 'zerosLike' | 'mul'> {
  registerKernel(config: KernelConfig): void;
  unregisterKernel(kernelName: string, backendName: string): void;
  getKernel(kernelName: string, backendName: string): KernelConfig | undefined;
  backend_util: Pick<typeof BackendUtil, 'computeConv2DInfo' | 'computePool2DInfo' | 'segment_util'>;
  slice_util: Pick<typeof SliceUtil, 'parseSliceParams'>;
}

export interface WasmKernelOptions {
  /**
   * Route `AdamOptimizer.applyGradients` through the fused `AtelierAdamUpdate` kernel while the
   * wasm backend is active (default true). It patches tfjs's AdamOptimizer class; `false` keeps
   * tfjs's own method.
   */
  fusedAdam?: boolean;
  /**
   * Use the WebAssembly SIMD kernels (simd-kernels.wat) where they apply (default true);
   * `false` uses their JavaScript equivalents, for tests.
   */
  simd?: boolean;
}

/** What `registerWasmTrainingKernels` did, for the engine's log and the benchmark's report. */
export interface WasmKernelRegistration {
  /** Kernels whose stock wasm version is now wrapped or replaced. */
  replaced: string[];
  /** Kernels the wasm backend did not have. */
  added: string[];
  /** Kernels that were already registered by an earlier call (nothing done). */
  alreadyRegistered: string[];
  /** tfjs methods now routed through the kernels (`AdamOptimizer.applyGradients`). */
  patched: string[];
}

const BACKEND = 'wasm';

/** Our kernel functions, each mapped to the stock config it replaced (undefined when it added one). */
const replacedStock = new WeakMap<KernelFunc, KernelConfig | undefined>();

interface Replacement {
  kernelName: string;
  /** Builds our kernel; `stock(name)` returns a stock wasm kernel it may delegate to. */
  make(stock: (name: string) => KernelFunc, tf: TfKernelRegistry, options: WasmKernelOptions): KernelFunc;
}

const REPLACEMENTS: readonly Replacement[] = [
  {
    kernelName: 'BatchMatMul',
    make: (stock) =>
      batchMatMulKernel({ batchMatMul: stock('BatchMatMul'), fusedMatMul: stock('_FusedMatMul'), transpose: stock('Transpose') }),
  },
  {
    kernelName: '_FusedMatMul',
    make: (stock) =>
      fusedMatMulKernel({ batchMatMul: stock('BatchMatMul'), fusedMatMul: stock('_FusedMatMul'), transpose: stock('Transpose') }),
  },
  {
    kernelName: 'Conv2DBackpropFilter',
    make: (stock, tf, options) =>
      conv2DBackpropFilterKernel({ batchMatMul: stock('BatchMatMul'), transpose: stock('Transpose') }, tf.backend_util, options.simd ?? true),
  },
  {
    kernelName: 'Conv2DBackpropInput',
    make: (stock, tf) =>
      conv2DBackpropInputKernel({ conv2D: stock('Conv2D'), conv2DBackpropInput: stock('Conv2DBackpropInput') }, tf.backend_util),
  },
  { kernelName: 'MaxPoolGrad', make: (_stock, tf, options) => maxPoolGradKernel(tf.backend_util, options.simd ?? true) },
  { kernelName: 'Slice', make: (stock, tf) => sliceKernel(stock('Slice'), tf.slice_util) },
  { kernelName: 'GatherV2', make: (stock, tf) => gatherV2Kernel(stock('GatherV2'), tf.backend_util) },
  { kernelName: 'Sum', make: (stock, _tf, options) => sumKernel(stock('Sum'), options.simd ?? true) },
  { kernelName: 'Identity', make: (stock) => identityKernel(stock('Identity')) },
  { kernelName: 'Cast', make: (stock) => castKernel(stock('Cast')) },
  { kernelName: 'Tile', make: (stock) => tileKernel(stock('Tile')) },
  { kernelName: 'Mean', make: (stock, _tf, options) => meanKernel(stock('Mean'), options.simd ?? true) },
  { kernelName: 'Multiply', make: (stock) => perChannelBinaryKernel(stock('Multiply')) },
  { kernelName: 'Sub', make: (stock) => perChannelBinaryKernel(stock('Sub')) },
  { kernelName: 'Add', make: (stock) => perChannelBinaryKernel(stock('Add')) },
  {
    kernelName: 'FusedBatchNorm',
    make: (stock) =>
      fusedBatchNormKernel(stock('FusedBatchNorm'), { sub: stock('Sub'), mul: stock('Multiply'), add: stock('Add') }),
  },
  { kernelName: ADAM_UPDATE, make: (_stock, _tf, options) => adamUpdateKernel(options.simd ?? true) },
];

/** The kernels added for batch normalisation's training step (for before/after measurements). */
export const BATCH_NORM_KERNEL_NAMES: readonly string[] = ['Tile', 'Mean', 'Multiply', 'Sub', 'Add', 'FusedBatchNorm'];

/** Names of every kernel this module registers for the wasm backend. */
export const WASM_TRAINING_KERNEL_NAMES: readonly string[] = REPLACEMENTS.map((r) => r.kernelName);

function isOurs(config: KernelConfig | undefined): boolean {
  return config != null && replacedStock.has(config.kernelFunc);
}

/**
 * Registers the training kernels for the `wasm` backend. Call once the wasm backend is
 * registered (importing `@tensorflow/tfjs-backend-wasm` does it), before or after
 * `tf.setBackend('wasm')`. Idempotent: a second call changes nothing. Kernels the stock backend
 * runs fast keep running there — the replacements only take over the slow or missing cases.
 */
export function registerWasmTrainingKernels(tf: TfKernelRegistry, options: WasmKernelOptions = {}): WasmKernelRegistration {
  const result: WasmKernelRegistration = { replaced: [], added: [], alreadyRegistered: [], patched: [] };
  const stockConfig = (name: string): KernelConfig | undefined => {
    const current = tf.getKernel(name, BACKEND);
    return isOurs(current) ? replacedStock.get(current!.kernelFunc) : current;
  };
  const stock = (name: string): KernelFunc => {
    const config = stockConfig(name);
    if (config == null) {
      throw new Error(`wasm-kernels: the wasm backend has no '${name}' kernel — import '@tensorflow/tfjs-backend-wasm' first`);
    }
    return config.kernelFunc;
  };
  for (const replacement of REPLACEMENTS) {
    const { kernelName } = replacement;
    const current = tf.getKernel(kernelName, BACKEND);
    if (isOurs(current)) {
      result.alreadyRegistered.push(kernelName);
      continue;
    }
    const kernelFunc = replacement.make(stock, tf, options);
    replacedStock.set(kernelFunc, current);
    const config: KernelConfig = { kernelName, backendName: BACKEND, kernelFunc };
    // The stock kernel binds its wasm function in setupFunc, which tfjs calls on every
    // setBackend; keep doing so, or a re-created wasm backend would run a stale binding.
    if (current?.setupFunc) config.setupFunc = current.setupFunc;
    if (current?.disposeFunc) config.disposeFunc = current.disposeFunc;
    if (current) tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel(config);
    (current ? result.replaced : result.added).push(kernelName);
  }
  if ((options.fusedAdam ?? true) && patchAdam(tf)) result.patched.push('AdamOptimizer.applyGradients');
  return result;
}

/**
 * Puts the stock wasm kernels back (and removes the added ones). For before/after measurements
 * and tests; the app has no reason to call it.
 */
export function unregisterWasmTrainingKernels(tf: TfKernelRegistry): void {
  unpatchAdam(tf);
  for (const { kernelName } of REPLACEMENTS) {
    const current = tf.getKernel(kernelName, BACKEND);
    if (!isOurs(current)) continue;
    const stock = replacedStock.get(current!.kernelFunc);
    tf.unregisterKernel(kernelName, BACKEND);
    if (stock) tf.registerKernel(stock);
  }
}
