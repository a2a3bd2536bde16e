import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { engineWorkerUrl } from '../../locations';
import { findDataset } from '../dataset/sources';
import { EngineClient } from '../engine/client';
import { formatBenchReport } from './format';
import { findPyTorch, runTimeToAccuracy } from './pytorch';
import { defaultThreadCounts, goalsOf, type BenchReport } from './run';
import { atelierTimeToAccuracy, cumulativeCurve, epochsOf, reachedAt, type AccuracyRun } from './time-to-accuracy';

const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';
const script = fileURLToPath(new URL('../../../bench/pytorch_baseline.py', import.meta.url));

describe('time to accuracy: the arithmetic', () => {
  it('adds the epochs up and finds the first epoch end at or above each threshold', () => {
    const curve = cumulativeCurve([10, 12, 11, 13], [0.8, 0.9, 0.89, 0.931]);
    expect(curve.map((p) => p.seconds)).toEqual([10, 22, 33, 46]);
    expect(reachedAt(curve)).toEqual([
      { threshold: 0.85, seconds: 22, epoch: 2 },
      { threshold: 0.9, seconds: 22, epoch: 2 },
      { threshold: 0.93, seconds: 46, epoch: 4 },
    ]);
    expect(reachedAt(cumulativeCurve([5], [0.5]))).toEqual([0.85, 0.9, 0.93].map((threshold) => ({ threshold, seconds: null, epoch: null })));
  });

  it("takes each preset's own epochs unless told otherwise", () => {
    expect(epochsOf({ presets: ['tutorial-mlp', 'best'], trainLimit: null, testLimit: null })).toEqual({ 'tutorial-mlp': 5, best: 8 });
    expect(epochsOf({ presets: ['best'], epochs: { best: 2 }, trainLimit: null, testLimit: null })).toEqual({ best: 2 });
  });

  it('scales over 1, 2, 4, … threads and the cores', () => {
    expect(defaultThreadCounts(1)).toEqual([1]);
    expect(defaultThreadCounts(2)).toEqual([1, 2]);
    expect(defaultThreadCounts(6)).toEqual([1, 2, 4, 6]);
    expect(defaultThreadCounts(16)).toEqual([1, 2, 4, 8, 16]);
  });

  it('judges the best preset by its seconds to 93 %, and fails it when never reached', () => {
    const run = (accuracies: number[], seconds: number[]): AccuracyRun => {
      const curve = cumulativeCurve(seconds, accuracies);
      return { runner: 'wasm', preset: 'best', threads: 2, curve, reached: reachedAt(curve), mainThreadLag: null };
    };
    const goal = (runs: AccuracyRun[]) => goalsOf([{ backend: 'wasm', photoLatency: { error: 'none' }, timeToAccuracy: runs }], []).at(-1)!;
    expect(goal([run([0.92, 0.935], [300, 280])])).toMatchObject({ value: 580, met: true });
    expect(goal([run([0.92, 0.935], [300, 310])])).toMatchObject({ value: 610, met: false });
    expect(goal([run([0.92, 0.929], [100, 100])])).toMatchObject({ value: null, met: false });
    expect(goal([])).toMatchObject({ value: null, met: null });
  });
});

describe.skipIf(!existsSync(SYSTEM_DIR))('time to accuracy: the bench on a tiny slice (real Fashion-MNIST)', () => {
  const engine = new EngineClient({ workerUrl: engineWorkerUrl(), preferBackend: 'wasm' });
  afterAll(() => engine.terminate());
  const tiny = { presets: ['tutorial-mlp', 'best'] as const, epochs: { 'tutorial-mlp': 3, best: 2 }, trainLimit: 512, testLimit: 300 };
  let atelier: AccuracyRun[] = [];

  it('trains each recipe in the engine and scores it after every epoch, with the main thread kept responsive', async () => {
    const source = (await findDataset({ env: {}, home: '/nonexistent-atelier-home', systemDir: SYSTEM_DIR }))!;
    const lines: string[] = [];
    atelier = await atelierTimeToAccuracy(engine, 'wasm', source, { ...tiny, presets: [...tiny.presets] }, (line) => lines.push(line));
    expect(atelier.map((run) => [run.preset, run.curve.length])).toEqual([
      ['tutorial-mlp', 3],
      ['best', 2],
    ]);
    for (const run of atelier) {
      const seconds = run.curve.map((p) => p.seconds);
      expect(seconds.every((s, i) => s > (seconds[i - 1] ?? 0))).toBe(true);
      for (const point of run.curve) expect(point.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(run.reached).toEqual(reachedAt(run.curve));
      expect(run.mainThreadLag!.count).toBeGreaterThan(0);
    }
    // The MLP learns something on 512 images in 3 epochs; scored on 300 test images.
    expect(atelier[0]!.curve.at(-1)!.testAccuracy).toBeGreaterThan(0.5);
    // The fused Dense step for the MLP, the parallel trainer for the CNN.
    expect(atelier[0]!.threads).toBeGreaterThanOrEqual(1);
    expect(atelier[1]!.threads).toBeGreaterThanOrEqual(1);
    expect(lines.some((line) => line.includes('best'))).toBe(true);
  }, 600_000);

  it("trains the same recipes in PyTorch and prints both in the bench's table", async () => {
    const lookup = await findPyTorch();
    const pytorch: AccuracyRun[] = [];
    if (lookup.found) {
      const result = await runTimeToAccuracy({ python: lookup.python, script, dataDir: SYSTEM_DIR, threads: 1, epochs: tiny.epochs, trainLimit: tiny.trainLimit, testLimit: tiny.testLimit });
      expect(result.trainSamples).toBe(512);
      expect(result.testSamples).toBe(300);
      expect(Object.keys(result.curves)).toEqual(['tutorial-mlp', 'best']);
      expect(result.curves.best).toHaveLength(2);
      for (const preset of tiny.presets) {
        const curve = result.curves[preset]!;
        pytorch.push({ runner: 'pytorch', preset, threads: 1, curve, reached: reachedAt(curve), mainThreadLag: null });
      }
    }
    const report: Parameters<typeof fillReport>[0] = {
      backends: [{ backend: 'wasm', threadScaling: [{ model: 'cnn', threads: 1, samplesPerSecond: 500 }, { model: 'cnn', threads: 2, samplesPerSecond: 900 }], timeToAccuracy: atelier }],
      timeToAccuracy: { thresholds: [0.85, 0.9, 0.93], trainSamples: 512, testSamples: 300, pytorch, pytorchSkipped: lookup.found ? null : lookup.reason },
    };
    const text = formatBenchReport(fillReport(report));
    expect(text).toContain('Time to accuracy');
    expect(text).toMatch(/best\s+Atelier \(wasm\)/);
    if (lookup.found) expect(text).toMatch(/best\s+PyTorch\s+1/);
    else expect(text).toContain(`PyTorch: ${lookup.reason}`);
    expect(text).toMatch(/2\s+900 \(1\.8.×\)/);
  }, 600_000);
});

/** A whole report around the parts a test fills in. */
function fillReport(parts: { backends: Partial<BenchReport['backends'][number]>[]; timeToAccuracy: BenchReport['timeToAccuracy'] }): BenchReport {
  const backends = parts.backends.map((b) => ({
    backend: 'wasm' as const,
    features: {},
    mlp: { samples: 1, seconds: 1, samplesPerSecond: 1, samplesPerCpuSecond: null, losses: [], epochsPerSecond: [], testAccuracy: null, accuracyEpochs: null, stepper: 'dense-stack, 2 threads' },
    cnn: { error: 'not measured here' },
    threadScaling: [],
    timeToAccuracy: [],
    photoLatency: { error: 'not measured here' },
    memory: { peakRssBytes: 1, peakTensorBytes: 1, wasmHeapBytes: null },
    ...b,
  }));
  return {
    version: 1,
    date: '2026-12-03T00:00:00.000Z',
    quick: false,
    machine: { cpuModel: 'Test CPU', cores: 2, totalMemoryBytes: 1, os: 'Linux', node: 'v20', loadAverageAtStart: [1], loadAverageAtEnd: [1], tfjsVersion: '4.22.0', pytorchVersion: null, python: null, blas: null },
    settings: { batchSize: 32, optimizer: 'Adam', mlpSamples: 60000, cnnSamples: { pytorch: 3000 }, warmupBatches: 5, photos: 0, photosDir: '/photos', datasetDir: '/data' },
    backends,
    skippedBackends: [],
    pytorch: { runs: [], skipped: null },
    ratios: [],
    timeToAccuracy: parts.timeToAccuracy,
    goals: goalsOf(backends, []),
    seconds: 1,
  };
}
