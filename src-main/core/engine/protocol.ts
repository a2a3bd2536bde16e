/**
 * Messages between the engine client (main thread) and the engine worker (the only TensorFlow.js
 * user). Requests carry an id; the worker answers each with exactly one `result` message, and may
 * send `event` messages at any time.
 */
import type { EarlyStop, EngineInfo, EpochMetrics, EventName, EventPayload, LearningRateSweep, Preset, TrainingConfig } from '../../contract';
import type { DatasetSource } from '../dataset/sources';
import type { Scores } from '../evaluation/metrics';
import type { ErrorInfo } from '../errors';
import type { BenchTrainingParams, BenchTrainingResult } from './bench';
import type { ExtraImages } from './train';

/** Method → params → result. Later features add methods here. */
export interface EngineMethods {
  info: { params: Record<string, never>; result: EngineInfo };
  presets: { params: Record<string, never>; result: Preset[] };
  /**
   * Train a model; saves it to `modelDir` after every epoch, evaluates on the test set at the end.
   * A new model from the config's preset, or with `initialModelDir` the model saved there (teaching).
   */
  train: {
    params: {
      runId: string;
      modelDir: string;
      source: DatasetSource;
      config: TrainingConfig;
      /** Int32Array(1) over this buffer: non-zero means stop before the next batch. */
      stopFlag: SharedArrayBuffer;
      /** Labelled 28×28 inputs (My photos) mixed into every epoch at their share; absent or null for none. */
      extra?: ExtraImages | null;
      /** Start from the model saved in this folder instead of a new one (fresh Adam at the config's learning rate). */
      initialModelDir?: string | null;
      /**
       * Write a checkpoint into `runDir`/checkpoints after every epoch; with `resumeFrom`, go on from
       * that epoch's checkpoint (the model in `modelDir` gives the layers). `scheduleFromEpoch` starts
       * a new learning-rate span (Train more); absent, a resume keeps its checkpoint's.
       */
      checkpoints?: { runDir: string; resumeFrom: number | null; scheduleFromEpoch?: number; trainMore?: boolean } | null;
    };
    result: { epochsCompleted: number; stopped: boolean; earlyStop: EarlyStop | null; metrics: EpochMetrics[]; evaluation: TestEvaluation | null };
  };
  /** Sweep the learning rate on a copy of a new model for `config` (engine/lr-finder.ts). */
  findLearningRate: { params: { source: DatasetSource; config: TrainingConfig; batches?: number }; result: LearningRateSweep };
  /** Why the saved model in `modelDir` cannot be trained further (`teachingProblem`), or null when it can. */
  teachable: { params: { modelDir: string }; result: { problem: string | null } };
  /** Evaluate a saved model on the 10,000 test images. */
  evaluate: { params: { modelDir: string; source: DatasetSource }; result: TestEvaluation };
  /** Probabilities for inputs already preprocessed to 28×28 in [0, 1] (n × 784). */
  predict: { params: { modelDir: string; pixels: Float32Array }; result: { probabilities: Float32Array } };
  /**
   * Occlusion sensitivity of the top class for inputs already preprocessed (n × 784 in [0, 1]):
   * n maps of 784 values, each image's top class and its probability (see engine/occlusion.ts).
   */
  occlusion: {
    params: { modelDir: string; pixels: Float32Array; patch: number; stride: number };
    result: { maps: Float32Array; classIndex: Int32Array; probability: Float32Array };
  };
  /** TensorFlow.js memory facts (tests use them to prove nothing leaks). */
  memory: { params: Record<string, never>; result: { numTensors: number; numBytes: number } };
  /**
   * Load a model folder afresh (never cached: export checks copies, import probes strangers) and
   * describe it; with `probe` (n × 784 in [0, 1]) also its probabilities for those images.
   */
  inspect: { params: { modelDir: string; includeWeights: boolean; probe: Float32Array | null }; result: ModelDescription };
  /** `atelier bench`: train a fresh preset model on the dataset and time it (see engine/bench.ts). */
  bench: { params: BenchTrainingParams & { source: DatasetSource }; result: BenchTrainingResult };
}

/** A saved model as export and import see it (see engine/inspect.ts). */
export interface ModelDescription {
  /** 'Sequential', or 'Model'/'Functional' for a graph of layers. */
  className: string;
  /** True for a Sequential model: its layers form one chain, in order (what the ONNX writer follows). */
  sequential: boolean;
  /** With the batch dimension (null) first, e.g. [[null, 28, 28, 1]]. */
  inputShapes: (number | null)[][];
  outputShapes: (number | null)[][];
  layers: LayerDescription[];
  parameters: number;
  /** n × classes for the probe images, or null without a probe. */
  probabilities: Float32Array | null;
}

export interface LayerDescription {
  /** Keras class name: 'Dense', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', … */
  className: string;
  name: string;
  /** The layer's serialised config (camelCase keys, as `layer.getConfig()` gives them). */
  config: Record<string, unknown>;
  /** Empty unless asked for; otherwise in the layer's order (kernel, then bias). */
  weights: { name: string; shape: number[]; values: Float32Array }[];
}

export interface TestEvaluation {
  scores: Scores;
  /** 10,000 × 10 probabilities, row-major. */
  probabilities: Float32Array;
  testCount: number;
}
export type EngineMethod = keyof EngineMethods;

/** Events the worker pushes while it works: a subset of the contract's events, forwarded as is. */
export type EngineEventName = Extract<EventName, 'engine.status' | 'training.batch' | 'training.epoch'>;
export type EngineEvents = { [E in EngineEventName]: EventPayload<E> };

export type EngineRequest = {
  [M in EngineMethod]: { type: 'request'; id: number; method: M; params: EngineMethods[M]['params'] };
}[EngineMethod];

export type EngineReply =
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: ErrorInfo }
  | { [E in EngineEventName]: { type: 'event'; name: E; payload: EngineEvents[E] } }[EngineEventName];

/** Options the client passes to a new worker through `workerData`. */
export interface EngineWorkerOptions {
  /** Force a rung of the ladder (skips the ones above it), e.g. from ATELIER_BACKEND. */
  preferBackend: string | null;
}
