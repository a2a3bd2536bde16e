/**
 * Time to accuracy: each preset's whole recipe trained on the training set, scored on the test set
 * at every epoch end, and the training seconds (scoring excluded) until the accuracy first reaches
 * 0.85 / 0.90 / 0.93; Atelier and PyTorch side by side. While Atelier trains, the bench's own main
 * thread keeps a 20 ms timer and records how late it fires: what a window would feel.
 */
import type { PresetId } from '../../contract';
import { presetCatalogue } from '../engine/models';
import type { EngineClient } from '../engine/client';
import type { DatasetSource } from '../dataset/sources';
import { summarizeLatencies, type LatencySummary } from './stats';

export const ACCURACY_THRESHOLDS = [0.85, 0.9, 0.93] as const;
export const TIME_TO_ACCURACY_PRESETS: readonly PresetId[] = ['tutorial-mlp', 'cnn', 'best'];

export interface CurvePoint {
  epoch: number;
  /** Training seconds from the start of the run to the end of this epoch. */
  seconds: number;
  testAccuracy: number;
}

export interface Reached {
  threshold: number;
  /** Training seconds when the accuracy first reached the threshold, or null if it never did. */
  seconds: number | null;
  epoch: number | null;
}

export interface AccuracyRun {
  /** 'wasm', 'tensorflow', … or 'pytorch'. */
  runner: string;
  preset: PresetId;
  threads: number | null;
  curve: CurvePoint[];
  reached: Reached[];
  /** How late a 20 ms timer on the main thread fired while this run trained (Atelier only). */
  mainThreadLag: LatencySummary | null;
}

export interface TimeToAccuracyOptions {
  presets: readonly PresetId[];
  /** Epochs per preset; default each preset's own. */
  epochs?: Partial<Record<PresetId, number>>;
  /** Slices (tests); null: all 60,000 training and 10,000 test images. */
  trainLimit: number | null;
  testLimit: number | null;
}

/** The first epoch end at which each threshold was reached. */
export function reachedAt(curve: readonly CurvePoint[], thresholds: readonly number[] = ACCURACY_THRESHOLDS): Reached[] {
  return thresholds.map((threshold) => {
    const point = curve.find((p) => p.testAccuracy >= threshold);
    return { threshold, seconds: point?.seconds ?? null, epoch: point?.epoch ?? null };
  });
}

/** Training seconds so far at each epoch end, from per-epoch seconds. */
export function cumulativeCurve(epochSeconds: readonly number[], accuracies: readonly number[]): CurvePoint[] {
  let seconds = 0;
  return accuracies.map((testAccuracy, i) => {
    seconds += epochSeconds[i] ?? 0;
    return { epoch: i + 1, seconds, testAccuracy };
  });
}

/** Each preset's epochs: the override or the preset's default. */
export function epochsOf(options: TimeToAccuracyOptions): Record<string, number> {
  const presets = presetCatalogue();
  return Object.fromEntries(options.presets.map((id) => [id, options.epochs?.[id] ?? presets.find((p) => p.id === id)!.defaults.epochs]));
}

/** A timer on this thread every `intervalMs`; `stop()` gives how late each tick fired. */
export function lagSampler(intervalMs = 20): { stop(): LatencySummary | null } {
  const lags: number[] = [];
  let expected = performance.now() + intervalMs;
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - expected));
    expected = now + intervalMs;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return lags.length > 0 ? summarizeLatencies(lags) : null;
    },
  };
}

/** Train each preset in the engine (its backend), scoring after each epoch, with the main thread's lag. */
export async function atelierTimeToAccuracy(
  engine: EngineClient,
  runner: string,
  source: DatasetSource,
  options: TimeToAccuracyOptions,
  progress: (line: string) => void,
): Promise<AccuracyRun[]> {
  const runs: AccuracyRun[] = [];
  const epochs = epochsOf(options);
  for (const preset of options.presets) {
    const defaults = presetCatalogue().find((p) => p.id === preset)!.defaults;
    const config = { ...defaults, epochs: epochs[preset]!, trainLimit: options.trainLimit, validationSplit: 0 };
    progress(`${runner}: ${preset}, ${config.epochs} epochs, test accuracy after each…`);
    const lag = lagSampler();
    const settled = await engine
      .request('bench', { source, config, warmupBatches: 0, evaluate: false, evaluateEachEpoch: true, testLimit: options.testLimit, modelDir: null })
      .then((value) => ({ value }), (error: unknown) => ({ error }));
    const mainThreadLag = lag.stop();
    if ('error' in settled) throw settled.error;
    const result = settled.value;
    const curve = cumulativeCurve(
      result.epochs.map((e) => e.seconds),
      result.testAccuracyByEpoch,
    );
    const threads = result.stepper.kind === 'trainOnBatch' ? null : result.stepper.threads;
    runs.push({ runner, preset, threads, curve, reached: reachedAt(curve), mainThreadLag });
    const last = curve.at(-1);
    progress(`${runner}: ${preset} ${last ? `${(last.testAccuracy * 100).toFixed(2)} % after ${last.seconds.toFixed(0)} s` : 'no epochs'}`);
  }
  return runs;
}
