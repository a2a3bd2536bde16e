import { availableParallelism } from 'node:os';
import { CONTROL_BYTES, KernelThreads, share, type KernelCall } from './kernel-threads.js';
import { instantiateSimdKernels, type OwnSimdKernels, type SimdKernels } from './simd-kernels.js';

/**
 * One training step of a stack of Dense layers (ReLU or linear, softmax last, sparse categorical
 * cross-entropy, Adam) as a handful of WebAssembly SIMD calls on the trainer's own memory.
 *
 * Why: on tfjs-backend-wasm a step of the tutorial MLP is ~130 kernel calls, each paying the
 * engine's bookkeeping (tape, tensor records, heap allocation), which costs more than the
 * arithmetic. Here the weights, Adam's moments and every buffer of the step live in one
 * WebAssembly memory made once; a step is about six kernel calls per layer, with no allocation.
 * The products use the inputs as sparse lists: about half of a Fashion-MNIST image and of a
 * ReLU output is zero, and a zero adds nothing to x·W or to xᵀ·dz. They are register-tiled by
 * two: the forward product takes the batch's rows in tiles of two (each block of W loaded
 * serves both), the weight gradient takes weight rows in pairs (each block of dz loaded serves
 * both); a tile lists where either member is nonzero, so the other adds an exact 0.
 *
 * With `threads` > 1 the big layers' work is shared by tiles of rows (forward), rows (input
 * gradient) and pairs of weight rows (weight gradient + Adam) with helper threads on a shared memory (kernel-threads.ts);
 * each element is still computed by one thread in the same order, so the result is the same.
 *
 * The arithmetic is tfjs's (same loss with its two clips, same gradient, same Adam); the order of
 * the additions inside a product differs, and the weights' Adam update divides once where tfjs
 * divides three times, so results agree with the cpu backend to float32 rounding
 * (dense-step.test.ts: 1e-5 over a few steps, 1e-4 over 60 batches of real images).
 */

export type DenseActivation = 'relu' | 'linear' | 'softmax';

export interface DenseLayerSpec {
  inputs: number;
  units: number;
  /** Hidden layers: relu or linear; the last layer: softmax. */
  activation: DenseActivation;
}

export interface AdamSettings {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Adam's running state besides the moments: β₁ᵗ and β₂ᵗ as tfjs keeps them (float32), and the step count. */
export interface AdamProgress {
  accBeta1: number;
  accBeta2: number;
  iterations: number;
}

export interface StepResult {
  /** Mean loss over the batch, as `trainOnBatch` reports it. */
  loss: number;
  /** Share of the batch whose highest probability is its label. */
  accuracy: number;
}

export interface TrainerOptions {
  /** Threads that share a step, the caller's included (default: the cores, at most 4). */
  threads?: number;
}

/** Default thread count: every core up to 4 (a Dense step of batch 32 does not gain beyond). */
export function defaultTrainingThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * A layer whose batch work (rows × inputs × outputs multiply-adds) is below this runs on the
 * calling thread alone: a round with the helpers costs a few µs, more than such a layer saves.
 */
const PARALLEL_MIN_WORK = 32_768;

/** Keras' fuzz factor, used by the loss's clips. */
const EPSILON = 1e-7;
const CLIP_LOW = Math.fround(EPSILON);
const CLIP_HIGH = Math.fround(1 - EPSILON);

const ceil4 = (n: number): number => Math.ceil(n / 4) * 4;

/** Rows of the batch per tile of sparseTiles / denseForwardTiles (simd-kernels.wat). */
const TILE = 2;

interface LayerBuffers {
  spec: DenseLayerSpec;
  /** Floats per row of this layer's output (units rounded up to a multiple of 4). */
  stride: number;
  relu: number;
  /** Byte offsets: kernel (inputs × stride) then bias (stride), in params/grads/m/v alike. */
  kernel: number;
  bias: number;
  act: number;
  dz: number;
  /** The layer's input as sparseTiles' tiles: columns, value pairs, counts. */
  idx: number;
  val: number;
  count: number;
  /** One pair list set per thread (columnPairs), `partBytes` apart; `cap` rows per pair of columns. */
  lists: number;
  partBytes: number;
  /** How many list sets the last forward pass filled (the threads it was shared by). */
  parts: number;
  /** The layer's input transposed (ceil2(inputs) rows of cap floats), for columnPairs. */
  xt: number;
}

/** Checks a layer list; throws with what is wrong. */
export function validateDenseStack(layers: readonly DenseLayerSpec[]): void {
  if (layers.length === 0) throw new Error('dense stack: no layers');
  layers.forEach((layer, i) => {
    if (!Number.isInteger(layer.inputs) || layer.inputs < 1 || !Number.isInteger(layer.units) || layer.units < 1) {
      throw new Error(`dense stack: layer ${i} has ${layer.inputs} inputs and ${layer.units} units`);
    }
    if (i > 0 && layer.inputs !== layers[i - 1]!.units) throw new Error(`dense stack: layer ${i} takes ${layer.inputs} inputs, layer ${i - 1} gives ${layers[i - 1]!.units}`);
    const last = i === layers.length - 1;
    if (last && layer.activation !== 'softmax') throw new Error('dense stack: the last layer must be softmax');
    if (!last && layer.activation === 'softmax') throw new Error(`dense stack: hidden layer ${i} is softmax`);
  });
}

export class DenseStackTrainer {
  readonly layers: readonly DenseLayerSpec[];
  readonly maxBatch: number;
  private readonly kernels: SimdKernels;
  private readonly memory: { buffer: ArrayBuffer | SharedArrayBuffer };
  private readonly f32: Float32Array;
  private readonly i32: Int32Array;
  private readonly buffers: LayerBuffers[];
  private readonly input: number;
  private readonly inputBytes: number;
  private readonly u8: Uint8Array;
  /** Byte offsets of the four same-shaped blocks: weights, gradients (biases' only), first and second moments. */
  private readonly params: number;
  private readonly grads: number;
  private readonly moments1: number;
  private readonly moments2: number;
  private readonly adam: AdamSettings;
  private progress: AdamProgress;
  /** Rows a pair list or a transposed input holds: maxBatch rounded up to whole tiles. */
  private readonly cap: number;

  /**
   * A trainer with zero weights and fresh Adam state; null where WebAssembly SIMD cannot run.
   * Where shared memory or threads are unavailable it falls back to one thread.
   */
  static create(layers: readonly DenseLayerSpec[], maxBatch: number, adam: AdamSettings, options: TrainerOptions = {}): DenseStackTrainer | null {
    validateDenseStack(layers);
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`dense stack: batch size ${maxBatch}`);
    const threads = Math.max(1, Math.floor(options.threads ?? defaultTrainingThreads()));
    if (threads > 1) {
      const layout = planLayout(layers, maxBatch, threads - 1);
      const instance = instantiateSimdKernels(layout.bytes, true);
      if (instance) {
        try {
          const pool = new KernelThreads(instance.module, instance.memory, layout.control, threads - 1);
          return new DenseStackTrainer(layers, maxBatch, adam, layout, instance, pool);
        } catch {
          // no worker threads here: one thread it is
        }
      }
    }
    const layout = planLayout(layers, maxBatch, 0);
    const instance = instantiateSimdKernels(layout.bytes);
    return instance ? new DenseStackTrainer(layers, maxBatch, adam, layout, instance, null) : null;
  }

  private constructor(
    layers: readonly DenseLayerSpec[],
    maxBatch: number,
    adam: AdamSettings,
    layout: Layout,
    instance: OwnSimdKernels,
    private readonly pool: KernelThreads | null,
  ) {
    this.cap = layout.cap;
    this.layers = layers.map((l) => ({ ...l }));
    this.maxBatch = maxBatch;
    this.adam = { ...adam };
    this.kernels = instance.kernels;
    this.memory = instance.memory;
    this.f32 = new Float32Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
    this.buffers = layout.layers;
    this.input = layout.input;
    this.inputBytes = layout.inputBytes;
    this.u8 = new Uint8Array(this.memory.buffer);
    this.params = layout.params;
    this.grads = layout.grads;
    this.moments1 = layout.moments1;
    this.moments2 = layout.moments2;
    this.progress = { accBeta1: Math.fround(adam.beta1), accBeta2: Math.fround(adam.beta2), iterations: 0 };
  }

  /** Threads that share each step, the caller's included. */
  get threads(): number {
    return 1 + (this.pool?.count ?? 0);
  }

  /** Ends the helper threads; the trainer must not step afterwards (weights stay readable). */
  dispose(): void {
    this.pool?.dispose();
  }

  /** Layer `index`'s kernel (inputs × units, row-major, as tfjs stores it) and bias. */
  getWeights(index: number): { kernel: Float32Array; bias: Float32Array } {
    return this.read(this.params, index);
  }

  setWeights(index: number, kernel: ArrayLike<number>, bias: ArrayLike<number>): void {
    this.write(this.params, index, kernel, bias);
  }

  /** Adam's first (`which` 1) or second (2) moments of layer `index`, shaped as its weights. */
  getMoments(index: number, which: 1 | 2): { kernel: Float32Array; bias: Float32Array } {
    return this.read(which === 1 ? this.moments1 : this.moments2, index);
  }

  setMoments(index: number, which: 1 | 2, kernel: ArrayLike<number>, bias: ArrayLike<number>): void {
    this.write(which === 1 ? this.moments1 : this.moments2, index, kernel, bias);
  }

  getAdamProgress(): AdamProgress {
    return { ...this.progress };
  }

  /** The rate the next steps use (a learning-rate schedule changes it between batches; read at every step). */
  setLearningRate(rate: number): void {
    this.adam.learningRate = rate;
  }

  setAdamProgress(progress: AdamProgress): void {
    this.progress = { accBeta1: Math.fround(progress.accBeta1), accBeta2: Math.fround(progress.accBeta2), iterations: progress.iterations };
  }

  /**
   * One step on `count` examples: `pixels` holds count × inputs floats, `labels` count class
   * indices. Returns the batch's mean loss and accuracy before the update, as trainOnBatch does.
   */
  step(pixels: Float32Array, labels: ArrayLike<number>, count: number): StepResult {
    const first = this.layers[0]!;
    if (pixels.length !== count * first.inputs) throw new Error(`dense stack: ${pixels.length} input values for ${count} × ${first.inputs}`);
    this.inputBuffer(count).set(pixels);
    return this.stepOnInput(labels, count);
  }

  /** Where the next batch's inputs go (count × inputs floats of the trainer's memory), to fill without a copy. */
  inputBuffer(count: number): Float32Array {
    if (!Number.isInteger(count) || count < 1 || count > this.maxBatch) throw new Error(`dense stack: batch of ${count}, at most ${this.maxBatch}`);
    return this.f32.subarray(this.input >> 2, (this.input >> 2) + count * this.layers[0]!.inputs);
  }

  /**
   * Where the next batch's images go as bytes (count × inputs, 0–255, as Fashion-MNIST stores
   * them), for `stepOnBytes`: the step scales them by 1/255 itself, the same numbers as [0, 1] floats.
   */
  inputByteBuffer(count: number): Uint8Array {
    if (!Number.isInteger(count) || count < 1 || count > this.maxBatch) throw new Error(`dense stack: batch of ${count}, at most ${this.maxBatch}`);
    return this.u8.subarray(this.inputBytes, this.inputBytes + count * this.layers[0]!.inputs);
  }

  /** `step` on inputs already written to `inputBuffer(count)`. */
  stepOnInput(labels: ArrayLike<number>, count: number): StepResult {
    return this.run(labels, count, false);
  }

  /** `step` on images already written as bytes to `inputByteBuffer(count)`. */
  stepOnBytes(labels: ArrayLike<number>, count: number): StepResult {
    return this.run(labels, count, true);
  }

  private run(labels: ArrayLike<number>, count: number, bytes: boolean): StepResult {
    const k = this.kernels;
    const first = this.layers[0]!;
    if (!Number.isInteger(count) || count < 1 || count > this.maxBatch) throw new Error(`dense stack: batch of ${count}, at most ${this.maxBatch}`);
    if (labels.length < count) throw new Error(`dense stack: ${labels.length} labels for ${count} examples`);

    // Forward, by tiles of rows across threads (a tile is always the same two rows, whatever
    // the threads): each layer's input as sparse tiles (and transposed), the product, and the
    // inputs by pairs of columns into the thread's own list set (for the weight gradient).
    this.buffers.forEach((b, i) => {
      const n = b.spec.inputs;
      const inputAt = i === 0 ? (bytes ? this.inputBytes : this.input) : this.buffers[i - 1]!.act;
      const inputStride = i === 0 ? n : this.buffers[i - 1]!.stride;
      const tiles = Math.ceil(count / TILE);
      b.parts = Math.min(this.threadsFor(b, count), tiles);
      this.inParallel(evenSplit(tiles, b.parts), (t0, t1, part): KernelCall[] => {
        const r0 = t0 * TILE;
        const r1 = Math.min(t1 * TILE, count);
        const idx = b.idx + 4 * t0 * n;
        const val = b.val + 4 * TILE * t0 * n;
        const counts = b.count + 4 * t0;
        const fromBytes = i === 0 && bytes ? 1 : 0;
        return [
          ['sparseTiles', [inputAt + r0 * inputStride * (fromBytes ? 1 : 4), r1 - r0, n, inputStride, fromBytes, idx, val, counts, b.xt + 4 * r0, this.cap]],
          ['denseForwardTiles', [idx, val, counts, r1 - r0, n, this.params + b.kernel, this.params + b.bias, b.act + 4 * r0 * b.stride, b.stride, b.relu]],
          ['columnPairs', [b.xt, r0, r1, n, this.cap, b.lists + part * b.partBytes]],
        ];
      });
    });

    const last = this.buffers.at(-1)!;
    const { loss, correct } = this.softmaxCrossEntropy(last, labels, count);

    // Backward, last layer first. A layer's input gradient uses its weights before they change
    // (so it is a round of its own); its weight gradient goes straight into Adam
    // (denseWeightGradientAdamPairs, by pairs of weight rows across threads), its bias gradient through the
    // exact Adam kernel.
    const a = this.adam;
    const p = this.progress;
    const correction1 = Math.fround(1 - p.accBeta1);
    const correction2 = Math.fround(1 - p.accBeta2);
    const oneMinusBeta1 = Math.fround(1 - a.beta1);
    const oneMinusBeta2 = Math.fround(1 - a.beta2);
    const lrc = Math.fround(-a.learningRate / correction1);
    const rc2 = Math.fround(1 / Math.sqrt(correction2));
    for (let i = this.buffers.length - 1; i >= 0; i--) {
      const b = this.buffers[i]!;
      if (i > 0) {
        const below = this.buffers[i - 1]!;
        this.inParallel(evenSplit(count, this.threadsFor(b, count)), (r0, r1): KernelCall[] => [
          ['denseInputGradient', [b.dz + 4 * r0 * b.stride, r1 - r0, b.stride, this.params + b.kernel, b.spec.inputs, below.act + 4 * r0 * below.stride, below.stride, below.relu, below.dz + 4 * r0 * below.stride]],
        ]);
      }
      this.inParallel(this.weightPairSplit(b), (q0, q1): KernelCall[] => [
        ['denseWeightGradientAdamPairs', [
          b.lists, b.spec.inputs, this.cap, b.parts, b.partBytes, q0, q1, b.dz, b.stride,
          this.params + b.kernel, this.moments1 + b.kernel, this.moments2 + b.kernel,
          a.beta1, a.beta2, oneMinusBeta1, oneMinusBeta2, lrc, rc2, a.epsilon,
        ]],
      ]);
      k.biasGradient(b.dz, count, b.stride, this.grads + b.bias);
      const bias = (block: number) => block + b.bias;
      k.adam(
        bias(this.params), bias(this.grads), bias(this.moments1), bias(this.moments2), bias(this.params), bias(this.moments1), bias(this.moments2), b.stride,
        a.beta1, a.beta2, oneMinusBeta1, oneMinusBeta2, correction1, correction2, a.epsilon, -a.learningRate,
      );
    }
    // (The padding's gradient and moments stay 0, so the padding stays 0.)
    this.progress = { accBeta1: Math.fround(p.accBeta1 * Math.fround(a.beta1)), accBeta2: Math.fround(p.accBeta2 * Math.fround(a.beta2)), iterations: p.iterations + 1 };
    return { loss: loss / count, accuracy: correct / count };
  }

  /** Threads for a layer's rounds: all of them for a big layer (up to one row each), one for a small one. */
  private threadsFor(layer: LayerBuffers, rows: number): number {
    return this.pool && rows * layer.spec.inputs * layer.stride >= PARALLEL_MIN_WORK ? Math.min(1 + this.pool.count, rows) : 1;
  }

  /**
   * Pairs of weight rows split so that each thread gets about the same work: a pair costs its
   * list's entries (a multiply-add of a whole gradient row each) plus its Adam update, which is
   * worth ~40 entries. Image borders are mostly zero, so equal row counts would not be equal work.
   */
  private weightPairSplit(b: LayerBuffers): [number, number][] {
    const pairs = Math.ceil(b.spec.inputs / 2);
    const parts = b.parts;
    if (parts === 1) return [[0, pairs]];
    const ADAM_COST = 40;
    const costs = new Float64Array(pairs);
    let total = 0;
    for (let part = 0; part < parts; part++) {
      const counts = (b.lists + part * b.partBytes + 12 * pairs * this.cap) >> 2;
      for (let q = 0; q < pairs; q++) costs[q]! += this.i32[counts + q]!;
    }
    for (let q = 0; q < pairs; q++) total += costs[q]! += ADAM_COST;
    const ranges: [number, number][] = [];
    let start = 0;
    let sum = 0;
    for (let q = 0; q < pairs && ranges.length < parts - 1; q++) {
      sum += costs[q]!;
      if (sum >= (total * (ranges.length + 1)) / parts) {
        ranges.push([start, q + 1]);
        start = q + 1;
      }
    }
    ranges.push([start, pairs]);
    return ranges;
  }

  /**
   * Runs `calls(start, end, part)` for each range: the first on this thread, the others on the
   * helpers, all at once; returns when all are done.
   */
  private inParallel(ranges: readonly [number, number][], calls: (start: number, end: number, part: number) => KernelCall[]): void {
    for (let h = 1; h < ranges.length; h++) this.pool!.post(h - 1, calls(ranges[h]![0], ranges[h]![1], h));
    for (const [name, args] of calls(ranges[0]![0], ranges[0]![1], 0)) (this.kernels[name] as (...a: number[]) => void)(...args);
    if (ranges.length > 1) this.pool!.join();
  }

  /**
   * Softmax of the logits and the gradient of tfjs's sparse categorical cross-entropy (clip
   * to [ε, 1−ε], renormalise, clip again, −log) with respect to them, mean over the batch.
   * Ten numbers per example: plain JavaScript in float64, rounded once.
   */
  private softmaxCrossEntropy(last: LayerBuffers, labels: ArrayLike<number>, count: number): { loss: number; correct: number } {
    const n = last.spec.units;
    const f32 = this.f32;
    const p = new Float64Array(n);
    const g = new Float64Array(n);
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < count; r++) {
      const label = labels[r]!;
      if (!Number.isInteger(label) || label < 0 || label >= n) throw new Error(`dense stack: label ${label} is not a class index below ${n}`);
      const logits = (last.act >> 2) + r * last.stride;
      const dz = (last.dz >> 2) + r * last.stride;
      let max = -Infinity;
      let best = 0;
      for (let o = 0; o < n; o++) {
        const z = f32[logits + o]!;
        if (z > max) {
          max = z;
          best = o;
        }
      }
      let sum = 0;
      for (let o = 0; o < n; o++) sum += p[o] = Math.exp(f32[logits + o]! - max);
      let clippedSum = 0;
      for (let o = 0; o < n; o++) {
        p[o] = Math.fround(p[o]! / sum);
        clippedSum += Math.min(Math.max(p[o]!, CLIP_LOW), CLIP_HIGH);
      }
      const qLabel = Math.min(Math.max(p[label]!, CLIP_LOW), CLIP_HIGH);
      const ratio = qLabel / clippedSum;
      const t = Math.min(Math.max(ratio, CLIP_LOW), CLIP_HIGH);
      loss -= Math.log(t);
      // argmax as tfjs takes it (the first highest); NaN logits count as wrong
      if (best === label && Number.isFinite(max)) correct++;
      if (ratio >= CLIP_LOW && ratio <= CLIP_HIGH) {
        // dL/dp (zero where the first clip cut), then back through the softmax
        let dot = 0;
        for (let o = 0; o < n; o++) {
          g[o] = p[o]! >= CLIP_LOW && p[o]! <= CLIP_HIGH ? (o === label ? -1 / qLabel : 0) + 1 / clippedSum : 0;
          dot += g[o]! * p[o]!;
        }
        for (let o = 0; o < n; o++) f32[dz + o] = (p[o]! * (g[o]! - dot)) / count;
      } else {
        for (let o = 0; o < n; o++) f32[dz + o] = 0;
      }
    }
    return { loss, correct };
  }

  private read(block: number, index: number): { kernel: Float32Array; bias: Float32Array } {
    const b = this.layerAt(index);
    const { inputs, units } = b.spec;
    const kernel = new Float32Array(inputs * units);
    const at = (block + b.kernel) >> 2;
    for (let r = 0; r < inputs; r++) kernel.set(this.f32.subarray(at + r * b.stride, at + r * b.stride + units), r * units);
    const biasAt = (block + b.bias) >> 2;
    return { kernel, bias: this.f32.slice(biasAt, biasAt + units) };
  }

  private write(block: number, index: number, kernel: ArrayLike<number>, bias: ArrayLike<number>): void {
    const b = this.layerAt(index);
    const { inputs, units } = b.spec;
    if (kernel.length !== inputs * units || bias.length !== units) {
      throw new Error(`dense stack: layer ${index} takes a ${inputs}×${units} kernel and ${units} biases, got ${kernel.length} and ${bias.length} values`);
    }
    const at = (block + b.kernel) >> 2;
    for (let r = 0; r < inputs; r++) {
      for (let c = 0; c < units; c++) this.f32[at + r * b.stride + c] = kernel[r * units + c]!;
    }
    const biasAt = (block + b.bias) >> 2;
    for (let c = 0; c < units; c++) this.f32[biasAt + c] = bias[c]!;
  }

  private layerAt(index: number): LayerBuffers {
    const b = this.buffers[index];
    if (!b) throw new Error(`dense stack: no layer ${index}`);
    return b;
  }
}

interface Layout {
  bytes: number;
  /** Rows a column list holds (maxBatch rounded up to whole tiles). */
  cap: number;
  /** The helper threads' control blocks (kernel-threads.ts). */
  control: number;
  input: number;
  inputBytes: number;
  params: number;
  grads: number;
  moments1: number;
  moments2: number;
  paramFloats: number;
  layers: LayerBuffers[];
}

/** Where everything lives in the trainer's memory (byte offsets, 16-byte aligned). */
/** Bytes of one pair list set (columnPairs) for `cols` columns of up to `cap` rows: rows, value pairs, counts. */
function partBytes(cols: number, cap: number): number {
  const pairs = Math.ceil(cols / 2);
  return ceil4(3 * pairs * cap + pairs) * 4;
}

function planLayout(layers: readonly DenseLayerSpec[], maxBatch: number, helpers: number): Layout {
  const parts = helpers + 1;
  const cap = Math.ceil(maxBatch / TILE) * TILE;
  let paramFloats = 0;
  const weights = layers.map((spec) => {
    const stride = ceil4(spec.units);
    const kernel = paramFloats * 4;
    paramFloats += spec.inputs * stride;
    const bias = paramFloats * 4;
    paramFloats += stride;
    return { spec, stride, kernel, bias };
  });
  let top = 16;
  const take = (floats: number): number => {
    const at = top;
    top += ceil4(floats) * 4;
    return at;
  };
  const control = take((helpers * CONTROL_BYTES) / 4);
  const input = take(maxBatch * layers[0]!.inputs);
  const inputBytes = take(Math.ceil((maxBatch * layers[0]!.inputs) / 4));
  const params = take(paramFloats);
  const grads = take(paramFloats);
  const moments1 = take(paramFloats);
  const moments2 = take(paramFloats);
  const buffers: LayerBuffers[] = weights.map(({ spec, stride, kernel, bias }) => ({
    spec,
    stride,
    relu: spec.activation === 'relu' ? 1 : 0,
    kernel,
    bias,
    act: take(maxBatch * stride),
    dz: take(maxBatch * stride),
    idx: take((cap / TILE) * spec.inputs),
    val: take(cap * spec.inputs),
    count: take(cap / TILE),
    lists: take((parts * partBytes(spec.inputs, cap)) / 4),
    partBytes: partBytes(spec.inputs, cap),
    parts: 1,
    xt: take(2 * Math.ceil(spec.inputs / 2) * cap),
  }));
  return { bytes: top, cap, control, input, inputBytes, params, grads, moments1, moments2, paramFloats, layers: buffers };
}

/** [0, n) in `parts` nearly equal contiguous ranges. */
function evenSplit(n: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => share(n, parts, i));
}
