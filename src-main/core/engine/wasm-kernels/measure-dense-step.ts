/**
 * Samples per second of the fused Dense step alone (`DenseStackTrainer`, the path the engine
 * trains the tutorial MLP on), fed as the engine feeds it: each batch's image bytes copied into
 * the trainer's memory, then `stepOnBytes`. Run by hand:
 *
 *   npx tsx src-main/core/engine/wasm-kernels/measure-dense-step.ts [samples=12800] [threads=1,2,3] [rounds=5]
 *
 * (measure.ts times `trainOnBatch`, which the fused step replaces in the engine.) Rounds and
 * thread counts alternate, so load from other processes spreads over all of them; the median
 * of each thread count is printed, with every sample.
 */
import { DenseStackTrainer, type DenseLayerSpec } from './dense-step.js';
import { readFashionMnistSample } from './fashion-mnist-sample.js';
import { PIXELS_PER_IMAGE } from '../../fashion-mnist';
import { mulberry32 } from '../../random';

const args = process.argv.slice(2);
const samples = Number(args[0] ?? 12800);
const threadCounts = (args[1] ?? '1,2,3').split(',').map(Number);
const rounds = Number(args[2] ?? 5);
const BATCH = 32;
const WARMUP = 50;

const layers: DenseLayerSpec[] = [
  { inputs: 784, units: 128, activation: 'relu' },
  { inputs: 128, units: 10, activation: 'softmax' },
];
const adam = { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

const sample = await readFashionMnistSample(Math.min(60_000, samples + WARMUP * BATCH));
const bytes = Uint8Array.from(sample.images, (v) => Math.round(v * 255));

function glorot(inputs: number, units: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  const limit = Math.sqrt(6 / (inputs + units));
  return Float32Array.from({ length: inputs * units }, () => (next() * 2 - 1) * limit);
}

function once(threads: number): number {
  const trainer = DenseStackTrainer.create(layers, BATCH, adam, { threads });
  if (!trainer) throw new Error('no WebAssembly SIMD here');
  try {
    layers.forEach((l, i) => trainer.setWeights(i, glorot(l.inputs, l.units, 1 + i), new Float32Array(l.units)));
    const batches = Math.floor(samples / BATCH);
    const step = (b: number) => {
      const first = (b * BATCH) % (sample.count - BATCH + 1);
      trainer.inputByteBuffer(BATCH).set(bytes.subarray(first * PIXELS_PER_IMAGE, (first + BATCH) * PIXELS_PER_IMAGE));
      trainer.stepOnBytes(sample.labels.subarray(first, first + BATCH), BATCH);
    };
    for (let b = 0; b < WARMUP; b++) step(b);
    const started = performance.now();
    for (let b = 0; b < batches; b++) step(WARMUP + b);
    return (batches * BATCH) / ((performance.now() - started) / 1000);
  } finally {
    trainer.dispose();
  }
}

const results = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
for (let round = 0; round < rounds; round++) for (const t of threadCounts) results.get(t)!.push(once(t));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [t, xs] of results) {
  console.log(`${t} thread${t > 1 ? 's' : ' '}: median ${Math.round(median(xs)).toLocaleString('en')} samples/s  (${xs.map((x) => Math.round(x)).join(', ')})`);
}
