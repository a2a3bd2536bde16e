/**
 * Training as the app sees it (main thread): one training at a time, streamed to every UI,
 * persisted as it happens so a dead worker loses nothing that was recorded, and evaluated on
 * the test set at the end. The engine worker does the tensor work.
 */
import type { BatchProgress, EpochMetrics, EventName, EventPayload, Evaluation, EvaluationSamples, TrainingConfig, TrainingState } from '../../contract';
import { CLASS_COUNT, PIXELS_PER_IMAGE } from '../fashion-mnist';
import type { DatasetSource } from '../dataset/sources';
import type { DatasetStore } from '../dataset/store';
import type { EngineClient } from '../engine/client';
import type { TestEvaluation } from '../engine/protocol';
import { argmax } from '../evaluation/metrics';
import { AtelierError, toErrorInfo } from '../errors';
import type { RunStore } from '../runs/store';

/** Where training events go; the shells' event hub fits, and core needs nothing more from it. */
export interface EventSink {
  emit<E extends EventName>(name: E, payload: EventPayload<E>): void;
}

export interface TrainingServiceOptions {
  engine: EngineClient;
  runs: RunStore;
  events: EventSink;
  dataset: DatasetStore;
  /** Where Fashion-MNIST is now (null when it is not on this computer). */
  locateDataset: () => Promise<DatasetSource | null>;
}

interface ActiveTraining {
  runId: string;
  config: TrainingConfig;
  stopFlag: Int32Array;
  status: TrainingState['status'];
  lastBatch: BatchProgress | null;
  metrics: EpochMetrics[];
  startedAt: number;
  done: Promise<void>;
}

export class TrainingService {
  readonly #options: TrainingServiceOptions;
  #active: ActiveTraining | null = null;
  #starting = false;

  constructor(options: TrainingServiceOptions) {
    this.#options = options;
    options.engine.onEvent((name, payload) => {
      const active = this.#active;
      if (!active) return;
      if (name === 'training.batch') {
        const batch = payload as BatchProgress;
        if (batch.runId === active.runId) active.lastBatch = batch;
      }
    });
  }

  state(): TrainingState {
    const active = this.#active;
    return {
      runId: active?.runId ?? null,
      status: active?.status ?? 'idle',
      config: active?.config ?? null,
      lastBatch: active?.lastBatch ?? null,
      metrics: active ? [...active.metrics] : [],
      backend: this.#options.engine.lastInfo?.backend ?? null,
    };
  }

  #publishState(): void {
    this.#options.events.emit('training.state', this.state());
  }

  /**
   * Create the run and start training in the background. Resolves with the run id once it is running.
   * The config is already valid: every shell reaches this through dispatch, which checks it against the contract.
   */
  async start(config: TrainingConfig): Promise<{ runId: string }> {
    if (this.#active || this.#starting) {
      throw new AtelierError('busy', `A training is already running (run ${this.#active?.runId ?? 'starting'}). Stop it first, or wait for it to finish.`);
    }
    this.#starting = true;
    try {
      const source = await this.#options.locateDataset();
      if (!source) {
        throw new AtelierError('dataset-missing', 'Fashion-MNIST is not on this computer yet. Get it first: install it with ‘apt install dataset-fashion-mnist’, choose a folder, or download it from the Dataset view.');
      }
      const engineInfo = await this.#options.engine.info();
      const run = await this.#options.runs.create({ config, preset: config.preset, backend: engineInfo.backend, origin: 'trained', epochsPlanned: config.epochs });
      const stopFlag = new Int32Array(new SharedArrayBuffer(4));
      const active: ActiveTraining = { runId: run.id, config, stopFlag, status: 'running', lastBatch: null, metrics: [], startedAt: Date.now(), done: Promise.resolve() };
      this.#active = active;
      active.done = this.#run(active, source);
      this.#publishState();
      return { runId: run.id };
    } finally {
      this.#starting = false;
    }
  }

  /** Ask the running training to stop before its next batch. */
  stop(): { stopping: boolean } {
    const active = this.#active;
    if (!active) return { stopping: false };
    Atomics.store(active.stopFlag, 0, 1);
    active.status = 'stopping';
    this.#publishState();
    return { stopping: true };
  }

  /** Resolves when the current training (if any) has finished and been recorded. */
  async settled(): Promise<void> {
    await this.#active?.done;
  }

  async #run(active: ActiveTraining, source: DatasetSource): Promise<void> {
    const { runs, engine, events } = this.#options;
    const runId = active.runId;
    // Persist each epoch as it arrives, so a dead worker keeps what was recorded.
    let writes = Promise.resolve();
    const unsubscribe = engine.onEvent((name, payload) => {
      if (name !== 'training.epoch') return;
      const { runId: eventRun, epochs: _epochs, ...metrics } = payload as EpochMetrics & { runId: string; epochs: number };
      if (eventRun !== runId) return;
      active.metrics.push(metrics);
      writes = writes.then(async () => {
        await runs.appendMetrics(runId, metrics);
        await runs.update(runId, { epochsCompleted: metrics.epoch, durationSeconds: (Date.now() - active.startedAt) / 1000 });
      });
    });
    let outcome: { status: 'completed' | 'stopped' | 'failed'; error: string | null; testAccuracy: number | null } = { status: 'failed', error: null, testAccuracy: null };
    try {
      const result = await engine.request('train', {
        runId,
        modelDir: runs.modelDir(runId),
        source,
        config: active.config,
        stopFlag: active.stopFlag.buffer as SharedArrayBuffer,
      });
      await writes;
      active.status = 'evaluating';
      this.#publishState();
      let testAccuracy: number | null = null;
      if (result.evaluation) {
        const evaluation = await this.#recordEvaluation(runId, result.evaluation);
        testAccuracy = evaluation.accuracy;
        await runs.update(runId, { testAccuracy: evaluation.accuracy, testLoss: evaluation.loss });
        if ((await runs.activeRunId()) === null) await runs.setActive(runId);
      }
      outcome = { status: result.stopped ? 'stopped' : 'completed', error: null, testAccuracy };
    } catch (error) {
      await writes.catch(() => undefined);
      const info = toErrorInfo(error);
      outcome = { status: 'failed', error: info.message, testAccuracy: null };
    } finally {
      unsubscribe();
      const durationSeconds = (Date.now() - active.startedAt) / 1000;
      await runs.update(runId, { status: outcome.status, error: outcome.error, durationSeconds }).catch((error: unknown) => {
        console.error(`Atelier: could not record the end of run ${runId}:`, error);
      });
      this.#active = null;
      events.emit('training.finished', { runId, ...outcome });
      events.emit('runs.changed', { runId });
      this.#publishState();
    }
  }

  async #recordEvaluation(runId: string, result: TestEvaluation): Promise<Evaluation> {
    const evaluation: Evaluation = {
      runId,
      evaluatedAt: new Date().toISOString(),
      testCount: result.testCount,
      loss: result.scores.loss,
      accuracy: result.scores.accuracy,
      confusion: result.scores.confusion,
      perClass: result.scores.perClass,
      backend: this.#options.engine.lastInfo?.backend ?? null,
    };
    await this.#options.runs.writeEvaluation(runId, evaluation, result.probabilities);
    return evaluation;
  }

  /** The stored evaluation of a run, computing it (on the test set) when missing or asked to. */
  async evaluation(runId: string, recompute = false): Promise<Evaluation> {
    const { runs, engine } = this.#options;
    if (!recompute) {
      const stored = await runs.evaluation(runId);
      if (stored) return stored;
    }
    if (!(await runs.hasModel(runId))) throw new AtelierError('no-model', `Run ${runId} has no saved model to evaluate (it stopped before its first epoch ended).`);
    const source = await this.#options.locateDataset();
    if (!source) throw new AtelierError('dataset-missing', 'Fashion-MNIST is needed to evaluate a model and is not on this computer.');
    const result = await engine.request('evaluate', { modelDir: runs.modelDir(runId), source });
    const evaluation = await this.#recordEvaluation(runId, result);
    await runs.update(runId, { testAccuracy: evaluation.accuracy, testLoss: evaluation.loss });
    this.#options.events.emit('runs.changed', { runId });
    return evaluation;
  }

  /** Test images with their predictions, filtered (confusion-matrix cell, right/wrong) and paged. */
  async samples(request: { runId: string; offset: number; count: number; filter?: { trueClass: number | null; predictedClass: number | null; correct: boolean | null } }): Promise<EvaluationSamples> {
    let probabilities = await this.#options.runs.predictions(request.runId);
    if (!probabilities) {
      await this.evaluation(request.runId);
      probabilities = await this.#options.runs.predictions(request.runId);
    }
    if (!probabilities) throw new AtelierError('no-model', `Run ${request.runId} has no evaluation to show.`);
    const test = await this.#options.dataset.getSplit('test');
    const count = Math.min(test.count, probabilities.length / CLASS_COUNT);
    const filter = request.filter;
    const matching: number[] = [];
    for (let index = 0; index < count; index++) {
      const label = test.labels[index]!;
      const predicted = argmax(probabilities, index * CLASS_COUNT, CLASS_COUNT);
      if (filter?.trueClass != null && label !== filter.trueClass) continue;
      if (filter?.predictedClass != null && predicted !== filter.predictedClass) continue;
      if (filter?.correct != null && (label === predicted) !== filter.correct) continue;
      matching.push(index);
    }
    const page = matching.slice(request.offset, request.offset + request.count);
    const pixels = new Uint8Array(page.length * PIXELS_PER_IMAGE);
    const items = page.map((index, position) => {
      pixels.set(test.images.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE), position * PIXELS_PER_IMAGE);
      const row = Array.from(probabilities.subarray(index * CLASS_COUNT, (index + 1) * CLASS_COUNT));
      return { index, label: test.labels[index]!, predicted: argmax(row), probabilities: row };
    });
    return { total: matching.length, offset: request.offset, items, pixels: Buffer.from(pixels).toString('base64') };
  }
}
