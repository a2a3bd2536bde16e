/**
 * Training throughput of the reference models on the wasm backend, with the stock kernels and
 * with `registerWasmTrainingKernels`. Run by hand:
 *
 *   npx tsx src-main/core/engine/wasm-kernels/measure.ts [mlpSamples=3200] [cnnSamples=640] [rounds=2]
 *
 * Stock and registered runs alternate, so a busy machine penalises both alike; the best round
 * of each is printed. Speed belongs here, not in the unit tests.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readFashionMnistSample } from './fashion-mnist-sample.js';
import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from './index.js';
import { measureTrainingThroughput, type ReferenceModel } from './throughput.js';

const [mlpSamples = 3200, cnnSamples = 640, rounds = 2] = process.argv.slice(2).map(Number);

await tf.setBackend('wasm');
const data = await readFashionMnistSample(Math.max(mlpSamples, cnnSamples) + 32 * 5);

type Outcome = { wall: number; cpu: number } | string;

async function once(model: ReferenceModel, samples: number, registered: boolean): Promise<Outcome> {
  if (registered) registerWasmTrainingKernels(tf);
  else unregisterWasmTrainingKernels(tf);
  try {
    const result = await measureTrainingThroughput(tf, data, { model, samples });
    return { wall: result.samplesPerSecond, cpu: result.samplesPerCpuSecond };
  } catch (error) {
    return `fails: ${(error as Error).message.split('\n')[0]}`;
  }
}

const show = (o: Outcome) =>
  typeof o === 'string'
    ? o
    : `${Math.round(o.wall).toLocaleString('en')} samples/s (${Math.round(o.cpu).toLocaleString('en')} per CPU-second)`;

for (const [model, samples] of [['mlp', mlpSamples], ['cnn', cnnSamples]] as const) {
  const best: Record<'stock' | 'registered', Outcome> = { stock: { wall: 0, cpu: 0 }, registered: { wall: 0, cpu: 0 } };
  for (let round = 0; round < rounds; round++) {
    for (const key of ['stock', 'registered'] as const) {
      const value = await once(model, samples, key === 'registered');
      const previous = best[key];
      if (typeof value === 'string' || typeof previous === 'string') best[key] = typeof value === 'string' ? value : previous;
      else best[key] = { wall: Math.max(previous.wall, value.wall), cpu: Math.max(previous.cpu, value.cpu) };
    }
  }
  console.log(`${model.padEnd(4)} wasm, batch 32, ${samples} samples: stock ${show(best.stock)} → registered ${show(best.registered)}`);
}
// A run that throws (stock CNN) leaves the tensors of its unfinished step behind; the others leave none.
console.log(`tensors still alive: ${tf.memory().numTensors}`);
