import { Worker } from 'node:worker_threads';
import type { SimdKernels } from './simd-kernels.js';

/**
 * Helper threads that run simd-kernels calls on a shared WebAssembly memory, for the fused
 * Dense step (dense-step.ts). The calling thread posts each helper a short list of calls, does
 * its own share, then waits for the helpers; a step has two or three such rounds.
 *
 * A round takes a few microseconds, so posting and waiting go through the memory itself
 * (Atomics on a control block per helper), not through messages: a helper spins briefly for
 * its next job, then sleeps in Atomics.wait until it is woken. Helpers are unref'd: they never
 * keep the process alive, and `dispose` ends them.
 */

/** The kernels a helper may be asked to run, by index in the control block. */
export const THREAD_KERNELS = ['sparseTiles', 'denseForwardTiles', 'columnPairs', 'denseInputGradient', 'denseWeightGradientAdamPairs'] as const;
export type ThreadKernel = (typeof THREAD_KERNELS)[number];
export type KernelCall = { [K in ThreadKernel]: [K, Parameters<SimdKernels[K]>] }[ThreadKernel];

/** Bytes of control block per helper: sequence, done, status, call count, then float64 arguments. */
export const CONTROL_BYTES = 640;
const ARGUMENT_SLOTS = (CONTROL_BYTES - 16) / 8;
/** How long a round may take before the helper counts as dead. */
const ROUND_TIMEOUT_MS = 60_000;
/** Polls of the done flag before the caller sleeps between polls. */
const SPINS = 20_000;
/**
 * Polls for the next job before a helper sleeps (~1 ms): longer than the caller's own work
 * between two rounds of a step, so a helper sleeps only between steps that are far apart
 * (validation, saving, the end of training), where waking it (~50 µs) does not matter.
 */
const HELPER_SPINS = 400_000;

// Runs in each helper (CommonJS, evaluated by the Worker). Mirrors the layout above.
const HELPER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { module, memory, base, names, spins } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = names.map((name) => kernels[name]);
const i32 = new Int32Array(memory.buffer);
const f64 = new Float64Array(memory.buffer);
const SEQ = base >> 2, DONE = SEQ + 1, STATUS = SEQ + 2, CALLS = SEQ + 3, ARGS = (base + 16) >> 3;
let seen = 0;
for (;;) {
  let spin = 0;
  while (Atomics.load(i32, SEQ) === seen) {
    if (++spin > spins) { Atomics.wait(i32, SEQ, seen); spin = 0; }
  }
  seen = Atomics.load(i32, SEQ);
  const calls = i32[CALLS];
  if (calls < 0) break;
  let status = 0;
  try {
    let at = ARGS;
    for (let c = 0; c < calls; c++) {
      const fn = fns[f64[at]];
      const n = f64[at + 1];
      fn(...f64.subarray(at + 2, at + 2 + n));
      at += 2 + n;
    }
  } catch (error) {
    status = 1;
    parentPort.postMessage(String((error && error.stack) || error));
  }
  Atomics.store(i32, STATUS, status);
  Atomics.store(i32, DONE, seen);
  Atomics.notify(i32, DONE);
}
`;

interface Helper {
  worker: Worker;
  /** Int32 index of its control block. */
  base: number;
  seq: number;
  error: string | null;
}

export class KernelThreads {
  private readonly helpers: Helper[];
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private disposed = false;

  /**
   * `count` helpers on `memory` (shared), each with the control block at `controlAt + h·CONTROL_BYTES`
   * (8-byte aligned, zero-filled, reserved for it).
   */
  constructor(module: object, memory: { buffer: ArrayBuffer | SharedArrayBuffer }, controlAt: number, count: number) {
    if (controlAt % 8 !== 0) throw new Error('kernel threads: the control blocks must be 8-byte aligned');
    this.i32 = new Int32Array(memory.buffer);
    this.f64 = new Float64Array(memory.buffer);
    this.helpers = Array.from({ length: count }, (_, h) => {
      const base = controlAt + h * CONTROL_BYTES;
      const worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { module, memory, base, names: THREAD_KERNELS, spins: HELPER_SPINS } });
      const helper: Helper = { worker, base: base >> 2, seq: 0, error: null };
      worker.on('message', (text: string) => (helper.error = text));
      worker.on('error', (error: Error) => (helper.error = error.stack ?? error.message));
      worker.unref();
      return helper;
    });
  }

  get count(): number {
    return this.helpers.length;
  }

  /** Start helper `h` on `calls` (in order); `join` waits for it. */
  post(h: number, calls: readonly KernelCall[]): void {
    if (this.disposed) throw new Error('kernel threads: used after dispose');
    const helper = this.helpers[h]!;
    let at = (helper.base * 4 + 16) >> 3;
    const end = at + ARGUMENT_SLOTS;
    for (const [name, args] of calls) {
      if (at + 2 + args.length > end) throw new Error('kernel threads: too many arguments for one round');
      this.f64[at] = THREAD_KERNELS.indexOf(name);
      this.f64[at + 1] = args.length;
      this.f64.set(args, at + 2);
      at += 2 + args.length;
    }
    this.i32[helper.base + 3] = calls.length;
    helper.seq = (helper.seq + 1) | 0;
    Atomics.store(this.i32, helper.base, helper.seq);
    Atomics.notify(this.i32, helper.base);
  }

  /** Wait until every helper finished its last `post`; throws if one failed or stopped answering. */
  join(): void {
    for (const helper of this.helpers) {
      const done = helper.base + 1;
      let spin = 0;
      const started = performance.now();
      while (Atomics.load(this.i32, done) !== helper.seq) {
        if (++spin > SPINS) {
          Atomics.wait(this.i32, done, Atomics.load(this.i32, done), 1);
          if (performance.now() - started > ROUND_TIMEOUT_MS) {
            throw new Error(`a training helper thread stopped answering for ${ROUND_TIMEOUT_MS / 1000} s${helper.error ? `: ${helper.error}` : ''}`);
          }
        }
      }
      if (Atomics.load(this.i32, helper.base + 2) !== 0) {
        throw new Error(`a training helper thread failed${helper.error ? `: ${helper.error}` : ' (no message yet; the engine log has it)'}`);
      }
    }
  }

  /** Ends the helpers (idempotent). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const helper of this.helpers) {
      this.i32[helper.base + 3] = -1;
      helper.seq = (helper.seq + 1) | 0;
      Atomics.store(this.i32, helper.base, helper.seq);
      Atomics.notify(this.i32, helper.base);
      void helper.worker.terminate();
    }
  }
}

/** [start, end) of part `i` of `n` items split into `parts` nearly equal contiguous parts. */
export function share(n: number, parts: number, i: number): [number, number] {
  return [Math.floor((n * i) / parts), Math.floor((n * (i + 1)) / parts)];
}
