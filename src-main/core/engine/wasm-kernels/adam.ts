import type * as tfNamespace from '@tensorflow/tfjs';
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, simdKernelsFor } from './simd-kernels.js';
import { heapF32 } from './wasm-backend.js';

/**
 * One Adam step per variable in one kernel. tfjs's `AdamOptimizer.applyGradients` runs 14
 * element-wise kernels per variable and makes six scalar tensors for its constants; on the
 * tutorial MLP that is ~80 of the ~180 kernel calls of a training step, each with its engine
 * overhead and a pass over memory (the stock wasm `Sqrt` alone costs ~1.5 ns per element).
 * This kernel reads value, gradient and both moments once and writes the three new tensors,
 * with WebAssembly SIMD (simd-kernels.wat) or, where that cannot run, a JavaScript loop. Both
 * do tfjs's float32 operations in tfjs's order, so they match its Adam bit for bit.
 */

export const ADAM_UPDATE = 'AtelierAdamUpdate';

/** Attributes of `AtelierAdamUpdate`; `correction1/2` are 1 − β₁ᵗ and 1 − β₂ᵗ. */
export interface AdamUpdateAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
  correction1: number;
  correction2: number;
}

export function adamUpdateKernel(useSimd = true): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { value, gradient, m, v } = args.inputs as Record<'value' | 'gradient' | 'm' | 'v', TensorInfo>;
    const a = args.attrs as unknown as AdamUpdateAttrs & NamedAttrMap;
    for (const t of [value, gradient, m, v]) {
      if (t.dtype !== 'float32') throw new Error(`${ADAM_UPDATE} supports float32 only, got ${t.dtype}`);
    }
    const outValue = backend.makeOutput([...value.shape], 'float32');
    const outM = backend.makeOutput([...value.shape], 'float32');
    const outV = backend.makeOutput([...value.shape], 'float32');
    const simd = useSimd ? simdKernelsFor(backend) : null;
    if (simd) {
      const at = (t: TensorInfo) => heapOffset(backend, t.dataId);
      simd.adam(
        at(value), at(gradient), at(m), at(v), at(outValue), at(outM), at(outV), heapF32(backend, value).length,
        a.beta1, a.beta2, Math.fround(1 - a.beta1), Math.fround(1 - a.beta2),
        a.correction1, a.correction2, a.epsilon, -a.learningRate,
      );
      return [outValue, outM, outV];
    }
    adamStep(
      heapF32(backend, outValue),
      heapF32(backend, outM),
      heapF32(backend, outV),
      heapF32(backend, value),
      heapF32(backend, gradient),
      heapF32(backend, m),
      heapF32(backend, v),
      a,
    );
    return [outValue, outM, outV];
  };
}

/**
 * m' = m·β₁ + g·(1−β₁), v' = v·β₂ + (g·g)·(1−β₂), w' = ((m'/c₁)/(√(v'/c₂) + ε))·(−lr) + w, each
 * operation rounded to float32 as tfjs's separate kernels round it. Each element is read before
 * it is written, so an output may alias its input.
 */
export function adamStep(
  outValue: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
  value: Float32Array,
  gradient: Float32Array,
  m: Float32Array,
  v: Float32Array,
  a: AdamUpdateAttrs,
): void {
  const f = Math.fround;
  const beta1 = f(a.beta1);
  const beta2 = f(a.beta2);
  const oneMinusBeta1 = f(1 - a.beta1);
  const oneMinusBeta2 = f(1 - a.beta2);
  const c1 = f(a.correction1);
  const c2 = f(a.correction2);
  const epsilon = f(a.epsilon);
  const negLearningRate = f(-a.learningRate);
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const g = gradient[i]!;
    const mi = f(f(m[i]! * beta1) + f(g * oneMinusBeta1));
    const vi = f(f(v[i]! * beta2) + f(f(g * g) * oneMinusBeta2));
    const denominator = f(f(Math.sqrt(f(vi / c2))) + epsilon);
    const w = value[i]!;
    outM[i] = mi;
    outV[i] = vi;
    outValue[i] = f(f(f(mi / c1) / denominator) * negLearningRate) + w;
  }
}

/** The private fields of tfjs 4.22's `AdamOptimizer` the fused step uses. */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tfNamespace.Variable;
  accBeta2: tfNamespace.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tfNamespace.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tfNamespace.Variable } | undefined>;
  incrementIterations(): void;
}

type ApplyGradients = tfNamespace.AdamOptimizer['applyGradients'];
type Tf = Pick<typeof tfNamespace, 'AdamOptimizer' | 'engine' | 'getBackend' | 'tidy' | 'zerosLike' | 'mul'>;

const ORIGINAL = Symbol('atelier.originalApplyGradients');
type Patched = ApplyGradients & { [ORIGINAL]?: ApplyGradients };

function looksLikeAdam(o: unknown): o is AdamInternals {
  const x = o as Partial<AdamInternals>;
  return Array.isArray(x.accumulatedFirstMoment) && Array.isArray(x.accumulatedSecondMoment) && x.accBeta1 != null && x.accBeta2 != null;
}

/**
 * Makes every `AdamOptimizer` use `AtelierAdamUpdate` while the wasm backend is active (other
 * backends, and any instance whose internals are not tfjs 4.22's, keep the original method). The
 * optimizer's state stays the same variables under the same names, so saving, restoring and
 * `dispose` are unchanged. Returns false when it was already patched.
 */
export function patchAdam(tf: Tf): boolean {
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients: Patched };
  if (proto.applyGradients[ORIGINAL]) return false;
  const original = proto.applyGradients;
  const fused = function (this: tfNamespace.AdamOptimizer, variableGradients: Parameters<ApplyGradients>[0]): void {
    if (tf.getBackend() !== 'wasm' || !looksLikeAdam(this)) return original.call(this, variableGradients);
    fusedApplyGradients(tf, this, variableGradients);
  } as Patched;
  fused[ORIGINAL] = original;
  proto.applyGradients = fused;
  return true;
}

/** Undoes `patchAdam`. */
export function unpatchAdam(tf: Pick<typeof tfNamespace, 'AdamOptimizer'>): void {
  const proto = tf.AdamOptimizer.prototype as unknown as { applyGradients: Patched };
  const original = proto.applyGradients[ORIGINAL];
  if (original) proto.applyGradients = original;
}

/** tfjs's `applyGradients`, step for step, with the element-wise part in one kernel. */
function fusedApplyGradients(tf: Tf, self: AdamInternals, variableGradients: Parameters<ApplyGradients>[0]): void {
  const engine = tf.engine();
  const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
  // tfjs computes 1 − β^t in float32; reading the two scalars is a copy of 4 bytes on wasm.
  const correction1 = Math.fround(1 - self.accBeta1.dataSync()[0]!);
  const correction2 = Math.fround(1 - self.accBeta2.dataSync()[0]!);
  const attrs: AdamUpdateAttrs = {
    beta1: self.beta1,
    beta2: self.beta2,
    epsilon: self.epsilon,
    learningRate: self.learningRate,
    correction1,
    correction2,
  };
  tf.tidy(() => {
    names.forEach((name, i) => {
      const value = engine.registeredVariables[name]!;
      if (self.accumulatedFirstMoment[i] == null) {
        self.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      if (self.accumulatedSecondMoment[i] == null) {
        self.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
      }
      const gradient = Array.isArray(variableGradients) ? variableGradients[i]?.tensor : variableGradients[name];
      if (gradient == null) return;
      const m = self.accumulatedFirstMoment[i]!.variable;
      const v = self.accumulatedSecondMoment[i]!.variable;
      const [newValue, newM, newV] = engine.runKernel(ADAM_UPDATE, { value, gradient, m, v }, attrs as unknown as NamedAttrMap) as tfNamespace.Tensor[];
      m.assign(newM!);
      v.assign(newV!);
      value.assign(newValue!);
    });
    self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
    self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
  });
  self.incrementIterations();
}
