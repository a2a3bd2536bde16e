/**
 * Training step of a small batch-normalised CNN on the wasm backend (conv 32, linear, no bias →
 * BatchNormalization → ReLU → max-pool → Dense 10), with the batch-norm kernels of this folder
 * (`Tile`, `Mean`, broadcasting binary ops) and with the stock ones, alternating. Run by hand:
 *
 *   npx tsx src-main/core/engine/wasm-kernels/measure-batch-norm.ts [rounds=7] [steps=5] [profile=0]
 *
 * Prints the median ms per `trainOnBatch` at batch 32 and 64 for each, and with profile=1 the
 * costliest kernels of one step. Speed belongs here, not in the unit tests.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BATCH_NORM_KERNEL_NAMES, registerWasmTrainingKernels } from './index.js';

const [rounds = 7, steps = 5, profile = 0] = process.argv.slice(2).map(Number);

await tf.setBackend('wasm');
const stockConfigs = BATCH_NORM_KERNEL_NAMES.map((name) => tf.getKernel(name, 'wasm'));
registerWasmTrainingKernels(tf);

/** Puts the stock wasm kernels back for the batch-norm kernels only (`false`), or ours (`true`). */
function useBatchNormKernels(ours: boolean): void {
  BATCH_NORM_KERNEL_NAMES.forEach((name, i) => {
    tf.unregisterKernel(name, 'wasm');
    const stock = stockConfigs[i];
    if (stock) tf.registerKernel(stock);
  });
  if (ours) registerWasmTrainingKernels(tf);
}

function makeModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'linear', useBias: false }),
      tf.layers.batchNormalization({ axis: -1 }),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  return model;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

for (const batch of [32, 64]) {
  const model = makeModel();
  const x = tf.randomUniform([batch, 28, 28, 1]);
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'float32');
  const times: Record<'stock' | 'ours', number[]> = { stock: [], ours: [] };
  for (let round = 0; round < rounds; round++) {
    for (const key of ['stock', 'ours'] as const) {
      useBatchNormKernels(key === 'ours');
      await model.trainOnBatch(x, y); // warm-up
      const start = performance.now();
      for (let s = 0; s < steps; s++) await model.trainOnBatch(x, y);
      times[key].push((performance.now() - start) / steps);
    }
  }
  console.log(
    `batch ${batch}: stock ${median(times.stock).toFixed(1)} ms/step, ours ${median(times.ours).toFixed(1)} ms/step ` +
      `(medians of ${rounds} rounds of ${steps} steps)`,
  );
  if (profile) {
    for (const key of ['stock', 'ours'] as const) {
      useBatchNormKernels(key === 'ours');
      const info = await tf.profile(async () => {
        await model.trainOnBatch(x, y);
      });
      const byName = new Map<string, { ms: number; calls: number }>();
      for (const k of info.kernels) {
        const entry = byName.get(k.name) ?? { ms: 0, calls: 0 };
        entry.ms += Number(k.kernelTimeMs) || 0;
        entry.calls++;
        byName.set(k.name, entry);
      }
      const top = [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
      console.log(`  ${key}: ` + top.map(([n, e]) => `${n} ${e.ms.toFixed(1)}ms/${e.calls}`).join(', '));
      const big = info.kernels
        .filter((k) => Number(k.kernelTimeMs) > 1)
        .sort((a, b) => Number(b.kernelTimeMs) - Number(a.kernelTimeMs))
        .slice(0, 12);
      for (const k of big) console.log(`    ${k.name} ${Number(k.kernelTimeMs).toFixed(1)}ms in ${JSON.stringify(k.inputShapes)} out ${JSON.stringify(k.outputShapes)}`);
    }
  }
  tf.dispose([x, y]);
  model.dispose();
}
