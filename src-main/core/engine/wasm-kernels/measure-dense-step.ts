/**
 * Samples per second of the fused Dense step alone (`DenseStackTrainer`, the path the engine
 * trains the tutorial MLP on), fed as the engine feeds it: each batch's image bytes copied into
 * the trainer's memory, then `stepOnBytes`. Run by hand:
 *
 *   npx tsx src-main/core/engine/wasm-kernels/measure-dense-step.ts [samples=12800] [threads=1,2,3] [rounds=5]
 *
 * (measure.ts times `trainOnBatch`, which the fused step replaces in the engine.) Rounds and
 * thread counts alternate, so load from other processes spreads over all of them; the median
 * of each thread count is printed, with every sample, and next to it 32 ÷ the median step
 * time: on a machine other processes keep busy, the rate of a step that was not interrupted.
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
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
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

function once(threads: number): { rate: number; stepRate: number } {
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
    const times = new Float64Array(batches);
    const started = performance.now();
    for (let b = 0; b < batches; b++) {
      const t = performance.now();
      step(WARMUP + b);
      times[b] = performance.now() - t;
    }
    const rate = (batches * BATCH) / ((performance.now() - started) / 1000);
    return { rate, stepRate: BATCH / (median(Array.from(times)) / 1000) };
  } finally {
    trainer.dispose();
  }
}

const results = new Map<number, { rate: number; stepRate: number }[]>(threadCounts.map((t) => [t, []]));
for (let round = 0; round < rounds; round++) for (const t of threadCounts) results.get(t)!.push(once(t));
const show = (x: number) => Math.round(x).toLocaleString('en');
for (const [t, xs] of results) {
  const rates = xs.map((x) => x.rate);
  const stepRates = xs.map((x) => x.stepRate);
  console.log(
    `${t} thread${t > 1 ? 's' : ' '}: median ${show(median(rates))} samples/s (${rates.map(show).join(', ')}); ` +
      `from the median step: ${show(median(stepRates))} (${stepRates.map(show).join(', ')})`,
  );
}
