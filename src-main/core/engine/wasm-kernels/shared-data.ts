import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * `Identity` and same-dtype `Cast` without a copy. The stock wasm kernels copy the tensor, the
 * cpu and webgl backends share its data and count references, as the wasm `Reshape` already
 * does: tensors are immutable and no kernel writes into its inputs, so sharing is safe. On the
 * CNN preset a training step runs ~60 of them, three on the 692k-element first activation.
 */

export function identityKernel(stockIdentity: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype === 'string') return stockIdentity(args);
    return shareData(args.backend as BackendWasm, x);
  };
}

/**
 * Also fixes the stock cast to bool, which copies the numbers' low byte (2 → 2, −1 → 255)
 * instead of testing x ≠ 0 as the cpu backend does.
 */
export function castKernel(stockCast: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as { x: TensorInfo };
    const { dtype } = (args.attrs ?? {}) as NamedAttrMap;
    const numeric = x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';
    if (dtype === x.dtype && numeric) return shareData(backend, x);
    if (dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
      const out = backend.makeOutput([...x.shape], 'bool');
      const from = backend.typedArrayFromHeap(x);
      const to = backend.typedArrayFromHeap(out);
      for (let i = 0; i < from.length; i++) to[i] = from[i] !== 0 ? 1 : 0;
      return out;
    }
    return stockCast(args);
  };
}

function shareData(backend: BackendWasm, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}
