import type { KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { callKernel, product, release, swapLastTwo } from './wasm-backend.js';

/**
 * tfjs-backend-wasm 4.22 runs `BatchMatMul` / `_FusedMatMul` through XNNPACK only when neither
 * operand is transposed; with `transposeA` or `transposeB` it falls back to a scalar loop about
 * 12× slower, and Dense layers' backward pass uses exactly those cases. These kernels move the
 * transposition out of the product: the wasm `Transpose` kernel is fast, so transposing an
 * operand (or the result) and calling the stock kernel without transposes wins by far.
 *
 * The second cost that matters: XNNPACK packs the right-hand operand ("weights") when it first
 * sees it, ~4.5 ns per element against ~1 ns for a transpose, and keeps the packed copy for as
 * long as that tensor lives. In training every tensor is new each step, so a Dense layer's
 * forward product [32,784]·[784,128] spends more time packing the 100k weights than
 * multiplying; computing it as (Wᵀ·xᵀ)ᵀ packs the 25k-element batch instead.
 */

/** The stock wasm kernels the replacements delegate to. */
export interface MatMulStock {
  batchMatMul: KernelFunc;
  fusedMatMul: KernelFunc;
  transpose: KernelFunc;
}

/**
 * How to get rid of the transposes:
 * - `inputs`: transpose the transposed operands, then `a·b`;
 * - `output`: use (op(a)·op(b))ᵀ = op(b)ᵀ·op(a)ᵀ — compute `op(b)ᵀ·op(a)ᵀ` (whose operands are
 *   the stored `b` / `a` when they were flagged as transposed) and transpose the result.
 */
export type TransposePlan = 'inputs' | 'output';

/** Cost of XNNPACK packing one right-hand element, in units of one element through Transpose (measured). */
const PACK_COST = 4;

/**
 * Picks the plan that costs less: elements through `Transpose` plus `PACK_COST` per element
 * XNNPACK packs (the right-hand operand of the untransposed product), nothing for `b` when
 * `bIsPacked` says XNNPACK still holds it packed. `m×k · k×n` is the product after the flags.
 * With no transpose flag, `inputs` means "the stock kernel as is".
 */
export function chooseTransposePlan(
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
  bIsPacked = false,
): TransposePlan {
  const viaInputs = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + (bIsPacked && !transposeB ? 0 : PACK_COST * k * n);
  const viaOutput = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + PACK_COST * k * m + m * n;
  return viaOutput < viaInputs ? 'output' : 'inputs';
}

interface MatMulDims {
  m: number;
  k: number;
  n: number;
  batch: number;
}

function dims(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): MatMulDims {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = (transposeA ? a.shape[ra - 1] : a.shape[ra - 2]) ?? 1;
  const k = (transposeA ? a.shape[ra - 2] : a.shape[ra - 1]) ?? 1;
  const n = (transposeB ? b.shape[rb - 2] : b.shape[rb - 1]) ?? 1;
  const batch = Math.max(product(a.shape.slice(0, -2)), product(b.shape.slice(0, -2)));
  return { m, k, n, batch };
}

function transposeLastTwo(stock: MatMulStock, backend: BackendWasm, x: TensorInfo): TensorInfo {
  return callKernel(stock.transpose, backend, { x }, { perm: swapLastTwo(x.shape.length) });
}

/**
 * Runs `product(a', b')` on operands with the transposes taken out according to `plan`, freeing
 * every temporary. `product` must compute an untransposed product of its two operands.
 */
function withoutTransposes(
  stock: MatMulStock,
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  plan: TransposePlan,
  productOf: (left: TensorInfo, right: TensorInfo) => TensorInfo,
): TensorInfo {
  const temporaries: TensorInfo[] = [];
  const transposed = (x: TensorInfo): TensorInfo => {
    const t = transposeLastTwo(stock, backend, x);
    temporaries.push(t);
    return t;
  };
  try {
    if (plan === 'inputs') {
      const left = transposeA ? transposed(a) : a;
      const right = transposeB ? transposed(b) : b;
      return productOf(left, right);
    }
    const left = transposeB ? b : transposed(b);
    const right = transposeA ? a : transposed(a);
    const swapped = productOf(left, right);
    temporaries.push(swapped);
    return transposeLastTwo(stock, backend, swapped);
  } finally {
    for (const t of temporaries) release(backend, t);
  }
}

/**
 * `BatchMatMul` for the wasm backend: transposed operands on the fast path, and a large
 * right-hand operand that XNNPACK has not packed yet is not packed (see the top of this file).
 */
export function batchMatMulKernel(stock: MatMulStock): KernelFunc {
  // Right-hand operands seen before. A second use suggests more (prediction with fixed weights):
  // then let XNNPACK pack it once, it keeps the packed copy until the tensor is disposed.
  const seen = new WeakSet<object>();
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock.batchMatMul(args);
    const { m, k, n, batch } = dims(a, b, transposeA, transposeB);
    if (!transposeA && !transposeB) {
      // Batched products take the stock kernel's own (slow) path either way.
      const reused = seen.has(b.dataId);
      seen.add(b.dataId);
      if (batch !== 1 || reused || chooseTransposePlan(m, k, n, false, false) === 'inputs') return stock.batchMatMul(args);
    }
    const plan = chooseTransposePlan(m * batch, k, n, transposeA, transposeB);
    return withoutTransposes(stock, backend, a, b, transposeA, transposeB, plan, (left, right) =>
      callKernel(stock.batchMatMul, backend, { a: left, b: right }, { transposeA: false, transposeB: false }),
    );
  };
}

/**
 * `_FusedMatMul` for the wasm backend, with transposed operands on the fast path. A bias or PReLU
 * weights broadcast along the output's last axis, so with either of them only the operands are
 * transposed; element-wise activations commute with transposing the result.
 */
export function fusedMatMulKernel(stock: MatMulStock): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const inputs = args.inputs as NamedTensorInfoMap;
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    const transposeA = attrs.transposeA === true;
    const transposeB = attrs.transposeB === true;
    if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32') return stock.fusedMatMul(args);
    const broadcastsAlongRows = inputs.bias != null || inputs.preluActivationWeights != null;
    const { m, k, n, batch } = dims(a, b, transposeA, transposeB);
    const plan = broadcastsAlongRows ? 'inputs' : chooseTransposePlan(m * batch, k, n, transposeA, transposeB);
    return withoutTransposes(stock, backend, a, b, transposeA, transposeB, plan, (left, right) =>
      callKernel(stock.fusedMatMul, backend, { ...inputs, a: left, b: right }, { ...attrs, transposeA: false, transposeB: false }),
    );
  };
}
