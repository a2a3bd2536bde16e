/**
 * Test support for the wasm kernels (imported by the *.test.ts files only): run the same
 * computation on the `wasm` backend (with our kernels) and on the `cpu` reference, and compare.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, expect } from 'vitest';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from './index.js';
import { mulberry32 } from '../../random';

export { tf };

/** Initialises both backends once per test file and registers the kernels; leaves `wasm` active. */
export async function setUpBackends(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.setBackend('wasm');
  registerWasmTrainingKernels(tf);
}

/** The two builds of the kernels, for `describe.each`: WebAssembly SIMD and the JavaScript fallback. */
export const KERNEL_BUILDS = [
  { simd: true, label: 'WebAssembly SIMD' },
  { simd: false, label: 'JavaScript' },
] as const;

/** Inside a describe: its tests run with the kernels registered with `simd`, the default ones afterwards. */
export function useKernelBuild(simd: boolean): void {
  beforeAll(() => {
    unregisterWasmTrainingKernels(tf);
    registerWasmTrainingKernels(tf, { simd });
  });
  afterAll(() => {
    unregisterWasmTrainingKernels(tf);
    registerWasmTrainingKernels(tf);
  });
}

/** Runs `compute` on one backend and returns its values as plain numbers (all tensors disposed). */
export async function valuesOn(backend: 'wasm' | 'cpu', compute: () => tf.Tensor | tf.Tensor[]): Promise<number[][]> {
  await tf.setBackend(backend);
  try {
    return tf.tidy(() => {
      const out = compute();
      return (Array.isArray(out) ? out : [out]).map((t) => Array.from(t.dataSync()));
    });
  } finally {
    await tf.setBackend('wasm');
  }
}

/**
 * |wasm − cpu| ≤ tol·max(1, |cpu|) for every element: relative for large values, absolute near
 * zero, where a relative bound would demand more than float32 rounding can give.
 */
export function expectClose(actual: number[][], expected: number[][], tol = 1e-5, what = ''): void {
  expect(actual.length, `${what}: number of outputs`).toBe(expected.length);
  actual.forEach((a, o) => {
    const e = expected[o]!;
    expect(a.length, `${what}: output ${o} size`).toBe(e.length);
    let failures = 0;
    let first = -1;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = e[i]!;
      const ok = (Number.isNaN(x) && Number.isNaN(y)) || Math.abs(x - y) <= tol * Math.max(1, Math.abs(y));
      if (!ok && failures++ === 0) first = i;
    }
    expect(failures, `${what}: ${failures} of ${a.length} values differ; output ${o}[${first}] is ${a[first]} on wasm, ${e[first]} on cpu`).toBe(0);
  });
}

/** Both backends, same inputs, `expectClose` on the results. */
export async function expectSameOnBothBackends(compute: () => tf.Tensor | tf.Tensor[], what: string, tol = 1e-5): Promise<void> {
  const onWasm = await valuesOn('wasm', compute);
  const onCpu = await valuesOn('cpu', compute);
  expectClose(onWasm, onCpu, tol, what);
}

/** A small deterministic generator (mulberry32), so every failure reproduces from its seed. */
export const seededRandom = mulberry32;

/**
 * Values k/8 with k in [−8, 8]. Products are multiples of 1/64 and every partial sum of a few
 * thousand of them is exact in float32, so a matMul or convolution gives the same bits in any
 * summation order: a difference between the backends is a bug, not rounding.
 */
export function gridValues(size: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (Math.floor(next() * 17) - 8) / 8;
  return out;
}

/** A tensor of `gridValues`, created on whichever backend is active when called. */
export function gridTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(gridValues(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/** Continuous values in [−1, 1), for tests that go through non-linear functions. */
export function uniformTensor(shape: number[], seed: number): tf.Tensor {
  const next = seededRandom(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => next() * 2 - 1), shape);
}

/** Number of tensors the engine tracks and buffers the wasm backend holds. */
export function liveCounts(): { tensors: number; wasmBuffers: number } {
  return { tensors: tf.memory().numTensors, wasmBuffers: tf.findBackend('wasm')!.numDataIds() };
}
