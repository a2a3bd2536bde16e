/**
 * `atelier bench`: training throughput, test accuracy, single-photo latency and peak memory for
 * every backend that loads here, measured through the engine worker (the app's own code path),
 * next to the PyTorch baseline trained on the same data with the same models in the same run.
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { BackendName, TrainingConfig } from '../../contract';
import type { DatasetSource } from '../dataset/sources';
import type { BenchTrainingResult } from '../engine/bench';
import { presetCatalogue } from '../engine/models';
import { EngineClient } from '../engine/client';
import { collectPhotoPaths, decodePhoto } from '../photos/decode';
import { preprocessPhoto } from '../photos/preprocess';
import { describeStepper } from './format';
import { describeMachine, type MachineDescription } from './machine';
import { findPyTorch, runBaseline, runTimeToAccuracy, type PyTorchBaseline } from './pytorch';
import { ACCURACY_THRESHOLDS, atelierTimeToAccuracy, cumulativeCurve, epochsOf, reachedAt, type AccuracyRun, type TimeToAccuracyOptions } from './time-to-accuracy';
import { speedRatio, spreadSample, summarizeLatencies, type LatencySummary } from './stats';

export const BATCH_SIZE = 32;
export const LEARNING_RATE = 0.001;
export const ACCURACY_EPOCHS = 5;

export interface BenchOptions {
  engineWorkerUrl: URL;
  source: DatasetSource;
  /** Rungs of the ladder to try, each in its own engine worker. */
  backends: readonly BackendName[];
  /** Skip the 5-epoch accuracy runs (throughput, latency and memory are still measured). */
  quick: boolean;
  /** Images in the CNN's timed slice (the first N training images, one epoch). */
  cnnSamples: number;
  /** The slice for the pure-JS `cpu` backend, whose CNN is two orders of magnitude slower. */
  cnnSamplesSlowBackend: number;
  warmupBatches: number;
  /** Folder of real photos (class subfolders are fine) and how many to time. */
  photosDir: string;
  photoCount: number;
  /** null skips PyTorch; otherwise the script and the thread counts to run it with. */
  pytorch: { script: string; threads: readonly number[]; pythonCandidates?: readonly string[] } | null;
  /** Time to accuracy of whole recipes (null skips it, as --quick does). */
  timeToAccuracy: TimeToAccuracyOptions | null;
  /** Thread counts for the parallel trainer's scaling table (default: 1, 2, 4, … and the cores). */
  threadCounts?: readonly number[];
  onProgress?: (line: string) => void;
}

/** 1, 2, 4, 8, … up to the cores, and the cores themselves. */
export function defaultThreadCounts(cores = os.availableParallelism()): number[] {
  const counts = new Set<number>();
  for (let n = 1; n <= cores; n *= 2) counts.add(n);
  counts.add(Math.max(1, cores));
  return [...counts].sort((a, b) => a - b);
}

export interface ThreadScaling {
  model: 'cnn' | 'best';
  threads: number;
  samplesPerSecond: number;
}

export interface ThroughputMeasurement {
  samples: number;
  seconds: number;
  samplesPerSecond: number;
  /** Per second of the process's CPU time (all threads): less sensitive to other load than wall time. */
  samplesPerCpuSecond: number | null;
  /** Training loss of each epoch (a sanity check that it learnt). */
  losses: number[];
}

export interface PhotoLatency extends LatencySummary {
  /** Medians of the three stages, in milliseconds. */
  decodeP50Ms: number;
  preprocessP50Ms: number;
  predictP50Ms: number;
}

export interface BackendBench {
  backend: BackendName;
  features: Record<string, string | number | boolean>;
  mlp: ThroughputMeasurement & {
    epochsPerSecond: number[];
    testAccuracy: number | null;
    accuracyEpochs: number | null;
    /** 'dense-stack, N threads' (the fused step) or 'trainOnBatch: <why not>'. */
    stepper: string;
  };
  cnn: ThroughputMeasurement | { error: string };
  /** The CNNs' samples/s on 1, 2, … threads (the parallel trainer; wasm only). */
  threadScaling: ThreadScaling[];
  timeToAccuracy: AccuracyRun[];
  photoLatency: PhotoLatency | { error: string };
  memory: {
    /** Highest resident set size of the whole process while this backend was measured. */
    peakRssBytes: number;
    /** Largest `tf.memory().numBytes` inside one training step (MLP or CNN, whichever is larger). */
    peakTensorBytes: number;
    wasmHeapBytes: number | null;
  };
}

export interface PyTorchRun {
  threads: number;
  baseline: PyTorchBaseline;
}

export interface BenchRatio {
  backend: BackendName;
  /** Against the faster PyTorch configuration (the honest headline). */
  mlp: number | null;
  cnn: number | null;
  /** Against PyTorch with each thread count. */
  byThreads: { threads: number; mlp: number | null; cnn: number | null }[];
}

export interface BenchGoal {
  name: string;
  target: string;
  value: number | null;
  met: boolean | null;
}

export interface BenchReport {
  version: 1;
  /** When the bench started (ISO 8601, UTC). */
  date: string;
  quick: boolean;
  machine: MachineDescription & { loadAverageAtEnd: number[]; tfjsVersion: string | null; pytorchVersion: string | null; python: string | null; blas: string | null };
  settings: {
    batchSize: number;
    optimizer: string;
    mlpSamples: number;
    cnnSamples: Partial<Record<BackendName, number>> & { pytorch: number };
    warmupBatches: number;
    photos: number;
    photosDir: string;
    datasetDir: string;
  };
  backends: BackendBench[];
  skippedBackends: { backend: BackendName; reason: string }[];
  pytorch: { runs: PyTorchRun[]; skipped: string | null };
  ratios: BenchRatio[];
  timeToAccuracy: { thresholds: number[]; trainSamples: number; testSamples: number; pytorch: AccuracyRun[]; pytorchSkipped: string | null } | null;
  goals: BenchGoal[];
  seconds: number;
}

/** A preset's own recipe (its batch size, rate, schedule) for `epochs` epochs on the first `trainLimit` images. */
function presetConfig(preset: TrainingConfig['preset'], epochs: number, trainLimit: number | null): TrainingConfig {
  const defaults = presetCatalogue().find((p) => p.id === preset)!.defaults;
  return { ...defaults, epochs, trainLimit, validationSplit: 0 };
}

function config(preset: TrainingConfig['preset'], epochs: number, trainLimit: number | null): TrainingConfig {
  return { preset, epochs, batchSize: BATCH_SIZE, learningRate: LEARNING_RATE, hiddenUnits: 128, validationSplit: 0, seed: 42, trainLimit };
}

/**
 * The fastest full epoch: other work on a shared machine only ever slows an epoch down, so the
 * best one is the closest to what the code itself can do. PyTorch's runs are summarised the same way.
 */
function throughputOf(result: BenchTrainingResult): ThroughputMeasurement {
  const best = result.epochs.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a));
  const cpuSeconds = result.epochCpuSeconds[best.epoch - 1] ?? 0;
  return {
    samples: result.samplesPerEpoch,
    seconds: result.samplesPerEpoch / best.samplesPerSecond,
    samplesPerSecond: best.samplesPerSecond,
    samplesPerCpuSecond: cpuSeconds > 0 ? result.samplesPerEpoch / cpuSeconds : null,
    losses: result.epochs.map((e) => e.loss),
  };
}

/** Samples the process's RSS (main thread + engine worker) until stopped. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0]!;

async function measurePhotoLatency(engine: EngineClient, modelDir: string, photos: readonly string[]): Promise<PhotoLatency> {
  const once = async (path: string): Promise<[number, number, number]> => {
    const t0 = performance.now();
    const decoded = await decodePhoto(path);
    const t1 = performance.now();
    const { input } = preprocessPhoto(decoded);
    const t2 = performance.now();
    await engine.request('predict', { modelDir, pixels: input });
    return [t1 - t0, t2 - t1, performance.now() - t2];
  };
  // Warm-up: the first predict loads the model; sharp and V8 warm up too.
  for (const path of photos.slice(0, 3)) await once(path);
  const stages: [number, number, number][] = [];
  for (const path of photos) stages.push(await once(path));
  const total = summarizeLatencies(stages.map(([a, b, c]) => a + b + c));
  const p50 = (i: 0 | 1 | 2) => summarizeLatencies(stages.map((s) => s[i])).p50Ms;
  return { ...total, decodeP50Ms: p50(0), preprocessP50Ms: p50(1), predictP50Ms: p50(2) };
}

async function benchBackend(
  name: BackendName,
  options: BenchOptions,
  photos: readonly string[] | { error: string },
  progress: (line: string) => void,
): Promise<{ bench: BackendBench; tfjsVersion: string | null } | { skipped: string }> {
  const engine = new EngineClient({ workerUrl: options.engineWorkerUrl, preferBackend: name });
  const workDir = await mkdtemp(join(os.tmpdir(), `atelier-bench-${name}-`));
  let sampler: { stop(): number } | null = null;
  try {
    const info = await engine.info();
    if (info.backend !== name) {
      const rung = info.ladder.find((attempt) => attempt.name === name);
      return { skipped: rung?.reason ?? `the engine chose ${info.backend ?? 'no backend'} instead` };
    }
    sampler = rssSampler();
    const accuracy = !options.quick && name !== 'cpu';
    const epochs = accuracy ? ACCURACY_EPOCHS : 1;
    progress(`${name}: tutorial-mlp, ${epochs} epoch${epochs > 1 ? 's' : ''} of 60,000 images${accuracy ? ', then the test set' : ''}…`);
    const modelDir = join(workDir, 'mlp');
    const mlpResult = await engine.request('bench', { source: options.source, config: config('tutorial-mlp', epochs, null), warmupBatches: options.warmupBatches, evaluate: accuracy, modelDir });
    const mlp = {
      ...throughputOf(mlpResult),
      epochsPerSecond: mlpResult.epochs.map((e) => e.samplesPerSecond),
      testAccuracy: mlpResult.testAccuracy,
      accuracyEpochs: accuracy ? epochs : null,
      stepper: describeStepper(mlpResult.stepper),
    };
    progress(`${name}: tutorial-mlp ${Math.round(mlp.samplesPerSecond)} samples/s${mlp.testAccuracy != null ? `, test accuracy ${(mlp.testAccuracy * 100).toFixed(1)} %` : ''}`);

    const slow = name === 'cpu';
    const cnnSamples = slow ? options.cnnSamplesSlowBackend : options.cnnSamples;
    progress(`${name}: cnn, one epoch of the first ${cnnSamples.toLocaleString('en-US')} images on every core…`);
    let cnn: BackendBench['cnn'];
    let cnnTensorBytes = 0;
    let wasmHeapBytes = mlpResult.wasmHeapBytes;
    try {
      const cnnResult = await engine.request('bench', { source: options.source, config: config('cnn', 1, cnnSamples), warmupBatches: slow ? 1 : options.warmupBatches, evaluate: false, modelDir: null });
      cnn = throughputOf(cnnResult);
      cnnTensorBytes = cnnResult.peakTensorBytes;
      if (cnnResult.wasmHeapBytes != null) wasmHeapBytes = Math.max(wasmHeapBytes ?? 0, cnnResult.wasmHeapBytes);
      progress(`${name}: cnn ${Math.round(cnn.samplesPerSecond)} samples/s`);
    } catch (error) {
      cnn = { error: message(error) };
      progress(`${name}: cnn failed: ${cnn.error}`);
    }

    const threadScaling: ThreadScaling[] = [];
    if (name === 'wasm') {
      for (const model of ['cnn', 'best'] as const) {
        for (const threads of options.threadCounts ?? defaultThreadCounts()) {
          progress(`${name}: ${model} on ${threads} thread${threads > 1 ? 's' : ''}, the first ${cnnSamples.toLocaleString('en-US')} images…`);
          try {
            const result = await engine.request('bench', { source: options.source, config: presetConfig(model, 1, cnnSamples), warmupBatches: options.warmupBatches, evaluate: false, modelDir: null, threads });
            threadScaling.push({ model, threads, samplesPerSecond: throughputOf(result).samplesPerSecond });
          } catch (error) {
            progress(`${name}: ${model} on ${threads} threads failed: ${message(error)}`);
          }
        }
      }
    }
    const timeToAccuracy = options.timeToAccuracy && name !== 'cpu' ? await atelierTimeToAccuracy(engine, name, options.source, options.timeToAccuracy, progress) : [];

    let photoLatency: BackendBench['photoLatency'];
    if ('error' in photos) photoLatency = photos;
    else {
      progress(`${name}: single-photo latency over ${photos.length} photos…`);
      try {
        photoLatency = await measurePhotoLatency(engine, modelDir, photos);
      } catch (error) {
        photoLatency = { error: message(error) };
      }
    }
    return {
      bench: {
        backend: name,
        features: info.features,
        mlp,
        cnn,
        threadScaling,
        timeToAccuracy,
        photoLatency,
        memory: { peakRssBytes: sampler.stop(), peakTensorBytes: Math.max(mlpResult.peakTensorBytes, cnnTensorBytes), wasmHeapBytes },
      },
      tfjsVersion: info.tfjsVersion,
    };
  } finally {
    sampler?.stop();
    await engine.terminate();
    await rm(workDir, { recursive: true, force: true });
  }
}

async function pickPhotos(dir: string, count: number): Promise<string[] | { error: string }> {
  try {
    const { files } = await collectPhotoPaths([dir]);
    if (files.length === 0) return { error: `${dir} has no photos` };
    return spreadSample(files, count);
  } catch (error) {
    return { error: `${dir}: ${message(error)} — pass --photos DIR with a folder of photos` };
  }
}

/** Where the system BLAS points (Debian's alternatives), which decides PyTorch's matrix speed. */
async function systemBlas(): Promise<string | null> {
  if (os.platform() !== 'linux') return null;
  return realpath(`/etc/alternatives/libblas.so.3-${os.arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`).catch(() => null);
}

/** Ratios of every backend to each PyTorch run, and to the faster of them. */
export function ratiosOf(backends: readonly Pick<BackendBench, 'backend' | 'mlp' | 'cnn'>[], runs: readonly PyTorchRun[]): BenchRatio[] {
  const best = (model: 'mlp' | 'cnn'): number | null => (runs.length === 0 ? null : Math.max(...runs.map((run) => run.baseline[model].samplesPerSecond)));
  const cnnRate = (bench: Pick<BackendBench, 'cnn'>): number | null => ('error' in bench.cnn ? null : bench.cnn.samplesPerSecond);
  return backends.map((bench) => ({
    backend: bench.backend,
    mlp: speedRatio(bench.mlp.samplesPerSecond, best('mlp')),
    cnn: speedRatio(cnnRate(bench), best('cnn')),
    byThreads: runs.map((run) => ({
      threads: run.threads,
      mlp: speedRatio(bench.mlp.samplesPerSecond, run.baseline.mlp.samplesPerSecond),
      cnn: speedRatio(cnnRate(bench), run.baseline.cnn.samplesPerSecond),
    })),
  }));
}

/** The issue's goals for the wasm backend, judged against the faster PyTorch configuration. */
export function goalsOf(backends: readonly Pick<BackendBench, 'backend' | 'photoLatency' | 'timeToAccuracy'>[], ratios: readonly BenchRatio[]): BenchGoal[] {
  const wasm = ratios.find((r) => r.backend === 'wasm');
  const latency = backends.find((b) => b.backend === 'wasm')?.photoLatency;
  const p95 = latency && !('error' in latency) ? latency.p95Ms : null;
  const judge = (value: number | null | undefined, ok: (v: number) => boolean): boolean | null => (value == null ? null : ok(value));
  return [
    { name: 'tutorial-mlp on wasm ÷ PyTorch samples/s', target: '≥ 2× (stretch ≥ 3×)', value: wasm?.mlp ?? null, met: judge(wasm?.mlp, (v) => v >= 2) },
    { name: 'cnn on wasm ÷ PyTorch samples/s', target: '≥ 1×', value: wasm?.cnn ?? null, met: judge(wasm?.cnn, (v) => v >= 1) },
    { name: 'single-photo latency p95 on wasm (ms)', target: '≤ 50 ms', value: p95, met: judge(p95, (v) => v <= 50) },
    bestGoal(backends.find((b) => b.backend === 'wasm')?.timeToAccuracy ?? []),
  ];
}

/** The best preset on wasm: training seconds until 93 % test accuracy; never reaching it fails the goal. */
function bestGoal(runs: readonly AccuracyRun[]): BenchGoal {
  const goal = { name: 'best on wasm: training seconds to 93 % test accuracy (s)', target: '≤ 600 s' };
  const run = runs.find((r) => r.preset === 'best');
  if (!run) return { ...goal, value: null, met: null };
  const seconds = run.reached.find((r) => r.threshold === 0.93)?.seconds ?? null;
  return { ...goal, value: seconds, met: seconds != null && seconds <= 600 };
}

/** Run the whole benchmark. Backends run one after another, each in a fresh engine worker, then PyTorch. */
export async function runBenchmark(options: BenchOptions): Promise<BenchReport> {
  const started = performance.now();
  const date = new Date().toISOString();
  const progress = options.onProgress ?? (() => undefined);
  const machine = describeMachine();
  const photos = await pickPhotos(options.photosDir, options.photoCount);
  const backends: BackendBench[] = [];
  const skippedBackends: BenchReport['skippedBackends'] = [];
  let tfjsVersion: string | null = null;
  for (const name of options.backends) {
    const outcome = await benchBackend(name, options, photos, progress);
    if ('skipped' in outcome) {
      progress(`${name}: not available — ${outcome.skipped}`);
      skippedBackends.push({ backend: name, reason: outcome.skipped });
    } else {
      backends.push(outcome.bench);
      tfjsVersion = outcome.tfjsVersion ?? tfjsVersion;
    }
  }

  const runs: PyTorchRun[] = [];
  let pytorchSkipped: string | null = null;
  let python: string | null = null;
  let pytorchVersion: string | null = null;
  if (!options.pytorch) pytorchSkipped = 'skipped (--skip-pytorch)';
  else {
    const lookup = await findPyTorch(options.pytorch.pythonCandidates);
    if (!lookup.found) {
      pytorchSkipped = lookup.reason;
      progress(lookup.reason);
    } else {
      python = lookup.python;
      pytorchVersion = lookup.torchVersion;
      for (const threads of options.pytorch.threads) {
        progress(`PyTorch ${lookup.torchVersion} (${lookup.python}), ${threads} thread${threads > 1 ? 's' : ''}…`);
        try {
          const baseline = await runBaseline({
            python: lookup.python,
            script: options.pytorch.script,
            dataDir: options.source.dir,
            threads,
            // Accuracy once is enough: from the first configuration.
            mlpEpochs: !options.quick && runs.length === 0 ? ACCURACY_EPOCHS : 1,
            cnnSamples: options.cnnSamples,
            warmupBatches: options.warmupBatches,
            onProgress: progress,
          });
          runs.push({ threads, baseline });
        } catch (error) {
          pytorchSkipped = `PyTorch with ${threads} threads failed: ${message(error)}`;
          progress(pytorchSkipped);
        }
      }
    }
  }

  let timeToAccuracy: BenchReport['timeToAccuracy'] = null;
  if (options.timeToAccuracy) {
    const tta = options.timeToAccuracy;
    const pytorch: AccuracyRun[] = [];
    let skipped: string | null = pytorchSkipped;
    const threads = Math.max(...(options.pytorch?.threads ?? [1]));
    if (python && options.pytorch) {
      progress(`PyTorch, ${threads} thread${threads > 1 ? 's' : ''}: time to accuracy of ${tta.presets.join(', ')}…`);
      try {
        const result = await runTimeToAccuracy({ python, script: options.pytorch.script, dataDir: options.source.dir, threads, epochs: epochsOf(tta), trainLimit: tta.trainLimit, testLimit: tta.testLimit, onProgress: progress });
        for (const preset of tta.presets) {
          const points = result.curves[preset] ?? [];
          const curve = cumulativeCurve(
            points.map((p, i) => p.seconds - (points[i - 1]?.seconds ?? 0)),
            points.map((p) => p.testAccuracy),
          );
          pytorch.push({ runner: 'pytorch', preset, threads: result.threads, curve, reached: reachedAt(curve), mainThreadLag: null });
        }
      } catch (error) {
        skipped = `PyTorch's time to accuracy failed: ${message(error)}`;
        progress(skipped);
      }
    }
    timeToAccuracy = {
      thresholds: [...ACCURACY_THRESHOLDS],
      trainSamples: Math.min(60_000, tta.trainLimit ?? 60_000),
      testSamples: Math.min(10_000, tta.testLimit ?? 10_000),
      pytorch,
      pytorchSkipped: skipped,
    };
  }

  const ratios = ratiosOf(backends, runs);
  const cnnSamples: BenchReport['settings']['cnnSamples'] = { pytorch: options.cnnSamples };
  for (const bench of backends) if (!('error' in bench.cnn)) cnnSamples[bench.backend] = bench.cnn.samples;
  return {
    version: 1,
    date,
    quick: options.quick,
    machine: {
      ...machine,
      loadAverageAtEnd: os.loadavg().map((v) => Math.round(v * 100) / 100),
      tfjsVersion,
      pytorchVersion,
      python,
      blas: python ? await systemBlas() : null,
    },
    settings: {
      batchSize: BATCH_SIZE,
      optimizer: `Adam, learning rate ${LEARNING_RATE} (epsilon 1e-7)`,
      mlpSamples: 60_000,
      cnnSamples,
      warmupBatches: options.warmupBatches,
      photos: Array.isArray(photos) ? photos.length : 0,
      photosDir: options.photosDir,
      datasetDir: options.source.dir,
    },
    backends,
    skippedBackends,
    pytorch: { runs, skipped: pytorchSkipped },
    ratios,
    timeToAccuracy,
    goals: goalsOf(backends, ratios),
    seconds: (performance.now() - started) / 1000,
  };
}
