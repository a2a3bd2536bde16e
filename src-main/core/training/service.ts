/**
 * Training as the app sees it (main thread): one training at a time, streamed to every UI,
 * persisted as it happens so a dead worker loses nothing that was recorded, and evaluated on
 * the test set at the end. The engine worker does the tensor work.
 */
import {
  DEFAULT_PHOTO_SHARE,
  type BatchProgress,
  type EarlyStop,
  type EpochMetrics,
  type EventName,
  type EventPayload,
  type Evaluation,
  type EvaluationSamples,
  type LearningRateSweep,
  type RunCheckpoints,
  type TrainingConfig,
  type TrainingPhotoRecord,
  type TrainingState,
} from '../../contract';
import { CLASS_COUNT, PIXELS_PER_IMAGE } from '../fashion-mnist';
import type { DatasetSource } from '../dataset/sources';
import type { DatasetStore } from '../dataset/store';
import type { EngineClient } from '../engine/client';
import type { TestEvaluation } from '../engine/protocol';
import { argmax } from '../evaluation/metrics';
import { selectSamples, type SampleFilter, type SampleOrder } from '../evaluation/samples';
import { AtelierError, toErrorInfo } from '../errors';
import type { RunStore } from '../runs/store';
import type { ExtraImages } from '../engine/train';
import { checkCheckpoints } from '../runs/checkpoints';
import { photoRecords, photosForEngine, type LoadTrainingPhotos, type TrainingPhoto } from './photos';
import { planResume, type ResumePlan, type ResumeRequest } from './resume';

/**
 * Epochs `training.teach` trains when not told: one pass over Fashion-MNIST with the photos mixed
 * in. Measured on wasm with 2 shared cores, 231 photos at share 0.1 (66,667 samples): tutorial-mlp
 * 4 s, cnn 102 s, photo-robust 131 s. A second epoch doubles that for a model already trained.
 */
export const TEACH_EPOCHS = 1;

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
  /** Every photo of My photos, preprocessed for training; without it, training with photos is refused. */
  loadTrainingPhotos?: LoadTrainingPhotos;
}

/**
 * What one training may be given instead of the defaults: a photo set of its own (cross-validation
 * trains each fold on other folds' photos, which must not go into the person's My photos) and a name
 * that says what the run is for.
 */
export interface TrainingOverrides {
  /** Train on these photos instead of My photos (only when the config mixes photos in). */
  readonly photos?: readonly TrainingPhoto[];
  /** The run's name instead of "<preset> #<number>". */
  readonly name?: string;
  /**
   * Teach only: train the further epochs on Fashion-MNIST alone. Cross-validation compares a taught
   * model with this one, so that what the photos did is not mixed up with what the extra epochs did.
   */
  readonly withoutPhotos?: boolean;
}

/** What a new run trains from, besides its config. */
interface RunPlan {
  config: TrainingConfig;
  /** The run name's preset (a child of an imported run keeps its parent's). */
  preset: string;
  parentRunId: string | null;
  /** The parent's model folder to start from, or null for a new model. */
  initialModelDir: string | null;
  /** Resume or Train more: the run to go on training, instead of a new one. */
  resume?: ResumePlan;
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
  async start(config: TrainingConfig, overrides: TrainingOverrides = {}): Promise<{ runId: string }> {
    return this.#begin(async () => ({ config, preset: config.preset, parentRunId: null, initialModelDir: null }), overrides);
  }

  /**
   * Teach a run's model with My photos: a new run, linked to its parent, that starts from the
   * parent's saved weights and trains `epochs` (default `TEACH_EPOCHS`) on Fashion-MNIST mixed with
   * the photos at `share`, with the parent's other settings (its seed included, so teaching the
   * same model with the same photos repeats).
   */
  async teach(request: { runId: string; epochs?: number; share?: number }, overrides: TrainingOverrides = {}): Promise<{ runId: string }> {
    return this.#begin(async () => {
      const { runs } = this.#options;
      const parent = await runs.read(request.runId);
      if (parent.status === 'running' || parent.status === 'evaluating') {
        throw new AtelierError('busy', `${parent.name} is still training; teach it once it has finished.`);
      }
      if (!(await runs.hasModel(parent.id))) {
        throw new AtelierError('no-model', `${parent.name} has no saved model to teach (it stopped before its first epoch ended). Choose a run that finished at least one epoch.`);
      }
      if (!parent.config) {
        throw new AtelierError(
          'model-incompatible',
          `${parent.name} was imported without its training settings (atelier-model.json), so Atelier does not know how to train it further. Import it together with its atelier-model.json, or train a new model with My photos in Train.`,
        );
      }
      const { problem } = await this.#options.engine.request('teachable', { modelDir: runs.modelDir(parent.id) });
      if (problem) {
        throw new AtelierError('model-incompatible', `${parent.name} cannot be taught with your photos: ${problem}. Train a new model with My photos in Train instead.`);
      }
      const myPhotos = overrides.withoutPhotos ? null : { share: request.share ?? parent.config.myPhotos?.share ?? DEFAULT_PHOTO_SHARE };
      const config: TrainingConfig = { ...parent.config, epochs: request.epochs ?? TEACH_EPOCHS, myPhotos };
      return { config, preset: parent.preset, parentRunId: parent.id, initialModelDir: runs.modelDir(parent.id) };
    }, overrides);
  }

  /**
   * Go on training a run from its checkpoint, in the same run (`training.resume`): the rest of its
   * epochs, or `epochs` more. Everything is checked before the run folder is touched.
   */
  async resume(request: ResumeRequest): Promise<{ runId: string }> {
    return this.#begin(async () => {
      const plan = await planResume(this.#options.runs, request);
      return { config: plan.config, preset: plan.run.preset, parentRunId: plan.run.parentRunId ?? null, initialModelDir: null, resume: plan };
    }, {});
  }

  /** A run's checkpoints, each checked. */
  async checkpoints(runId: string): Promise<RunCheckpoints> {
    const { runs } = this.#options;
    const run = await runs.read(runId);
    const checkpoints = await checkCheckpoints(runs.dir(run.id));
    return { runId: run.id, checkpoints, lastGoodEpoch: checkpoints.find((one) => one.ok)?.epoch ?? null, epochsCompleted: run.epochsCompleted };
  }

  /** The learning-rate finder's sweep for a new model with these settings; nothing is saved. */
  async findLearningRate(request: { config: TrainingConfig; batches?: number }): Promise<LearningRateSweep> {
    if (this.#active || this.#starting) throw new AtelierError('busy', 'A training is running; find a learning rate once it has finished (the sweep trains too).');
    const source = await this.#options.locateDataset();
    if (!source) throw new AtelierError('dataset-missing', 'Fashion-MNIST is needed to sweep the learning rate and is not on this computer. Get it in the Dataset view first.');
    return this.#options.engine.request('findLearningRate', { source, config: request.config, ...(request.batches === undefined ? {} : { batches: request.batches }) });
  }

  async #begin(plan: () => Promise<RunPlan>, overrides: TrainingOverrides): Promise<{ runId: string }> {
    if (this.#active || this.#starting) {
      throw new AtelierError('busy', `A training is already running (run ${this.#active?.runId ?? 'starting'}). Stop it first, or wait for it to finish.`);
    }
    this.#starting = true;
    try {
      const { config, preset, parentRunId, initialModelDir, resume } = await plan();
      const photos = config.myPhotos ? await this.#trainingPhotos(overrides.photos, resume?.run.photos) : [];
      const source = await this.#options.locateDataset();
      if (!source) {
        throw new AtelierError('dataset-missing', 'Fashion-MNIST is not on this computer yet. Get it first: install it with ‘apt install dataset-fashion-mnist’, choose a folder, or download it from the Dataset view.');
      }
      const engineInfo = await this.#options.engine.info();
      if (resume) return await this.#beginResumed(resume, source, photos);
      const run = await this.#options.runs.create({
        config,
        preset,
        backend: engineInfo.backend,
        origin: 'trained',
        epochsPlanned: config.epochs,
        parentRunId,
        photos: photoRecords(photos),
        ...(overrides.name ? { name: overrides.name } : {}),
      });
      const stopFlag = new Int32Array(new SharedArrayBuffer(4));
      const active: ActiveTraining = { runId: run.id, config, stopFlag, status: 'running', lastBatch: null, metrics: [], startedAt: Date.now(), done: Promise.resolve() };
      this.#active = active;
      const extra = config.myPhotos ? photosForEngine(photos, config.myPhotos.share) : null;
      active.done = this.#run(active, source, { extra, initialModelDir, checkpoints: { runDir: this.#options.runs.dir(run.id), resumeFrom: null } });
      this.#publishState();
      return { runId: run.id };
    } finally {
      this.#starting = false;
    }
  }

  /** The same run, training again from its checkpoint: its folder made to agree with the plan, then reopened. */
  async #beginResumed(plan: ResumePlan, source: DatasetSource, photos: readonly TrainingPhoto[]): Promise<{ runId: string }> {
    const { runs } = this.#options;
    const runId = plan.run.id;
    await plan.prepare();
    await runs.reopen(runId, {
      config: plan.config,
      epochsPlanned: plan.config.epochs,
      epochsCompleted: plan.fromEpoch,
      earlyStop: null,
      ...(plan.scheduleFromEpoch !== undefined ? { scheduleFromEpoch: plan.scheduleFromEpoch } : {}),
    });
    const stopFlag = new Int32Array(new SharedArrayBuffer(4));
    // The clock goes on from the time already spent, so the run's duration covers all its epochs.
    const startedAt = Date.now() - plan.run.durationSeconds * 1000;
    const active: ActiveTraining = { runId, config: plan.config, stopFlag, status: 'running', lastBatch: null, metrics: [...plan.metrics], startedAt, done: Promise.resolve() };
    this.#active = active;
    const extra = plan.config.myPhotos ? photosForEngine(photos, plan.config.myPhotos.share) : null;
    const checkpoints = { runDir: runs.dir(runId), resumeFrom: plan.fromEpoch, trainMore: plan.trainMore, ...(plan.scheduleFromEpoch !== undefined ? { scheduleFromEpoch: plan.scheduleFromEpoch } : {}) };
    active.done = this.#run(active, source, { extra, initialModelDir: null, checkpoints });
    this.#publishState();
    this.#options.events.emit('runs.changed', { runId });
    return { runId };
  }

  /**
   * My photos, preprocessed; refused when there are none, since a run "with my photos" must have some.
   * A resumed run gets exactly the photos it trained with (by content, with their labels then), in its order.
   */
  async #trainingPhotos(given: readonly TrainingPhoto[] | undefined, recorded?: readonly TrainingPhotoRecord[]): Promise<readonly TrainingPhoto[]> {
    if (recorded) {
      const load = this.#options.loadTrainingPhotos;
      const available = new Map((load ? await load() : []).map((photo) => [photo.sha256, photo] as const));
      const missing = recorded.filter((record) => !available.has(record.sha256));
      if (missing.length > 0) {
        throw new AtelierError(
          'not-found',
          `${missing.length} of the ${recorded.length} photos this run trained with ${missing.length === 1 ? 'is' : 'are'} no longer in My photos (${missing.slice(0, 3).map((photo) => photo.id).join(', ')}${missing.length > 3 ? ', …' : ''}), so it cannot go on with the same training. Add ${missing.length === 1 ? 'it' : 'them'} back, or train a new run.`,
        );
      }
      return recorded.map((record) => ({ ...available.get(record.sha256)!, label: record.label }));
    }
    if (given) {
      if (given.length === 0) throw new AtelierError('invalid-payload', 'This training was given an empty set of photos to train with; give it at least one photo, or train without photos.');
      return given;
    }
    const load = this.#options.loadTrainingPhotos;
    if (!load) throw new AtelierError('unsupported', 'Training with My photos is not available here: this Atelier was started without a photo collection.');
    const photos = await load();
    if (photos.length === 0) {
      throw new AtelierError('not-found', 'My photos has no photos yet, so there is nothing of yours to train with. Add labelled photos of your clothes to My photos first, or train without My photos.');
    }
    return photos;
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

  async #run(
    active: ActiveTraining,
    source: DatasetSource,
    start: { extra: ExtraImages | null; initialModelDir: string | null; checkpoints: { runDir: string; resumeFrom: number | null; scheduleFromEpoch?: number; trainMore?: boolean } },
  ): Promise<void> {
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
    let outcome: { status: 'completed' | 'stopped' | 'failed'; error: string | null; testAccuracy: number | null; earlyStop: EarlyStop | null } = { status: 'failed', error: null, testAccuracy: null, earlyStop: null };
    try {
      const result = await engine.request('train', {
        runId,
        modelDir: runs.modelDir(runId),
        source,
        config: active.config,
        stopFlag: active.stopFlag.buffer as SharedArrayBuffer,
        extra: start.extra,
        initialModelDir: start.initialModelDir,
        checkpoints: start.checkpoints,
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
      outcome = { status: result.stopped ? 'stopped' : 'completed', error: null, testAccuracy, earlyStop: result.earlyStop };
    } catch (error) {
      await writes.catch(() => undefined);
      const info = toErrorInfo(error);
      outcome = { status: 'failed', error: info.message, testAccuracy: null, earlyStop: null };
    } finally {
      unsubscribe();
      const durationSeconds = (Date.now() - active.startedAt) / 1000;
      await runs.update(runId, { status: outcome.status, error: outcome.error, durationSeconds, earlyStop: outcome.earlyStop }).catch((error: unknown) => {
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

  /** Test images with their predictions, filtered (confusion-matrix cell, right/wrong), in test-set order or worst first, and paged. */
  async samples(request: { runId: string; offset: number; count: number; filter?: SampleFilter; sort?: SampleOrder }): Promise<EvaluationSamples> {
    let probabilities = await this.#options.runs.predictions(request.runId);
    if (!probabilities) {
      await this.evaluation(request.runId);
      probabilities = await this.#options.runs.predictions(request.runId);
    }
    if (!probabilities) throw new AtelierError('no-model', `Run ${request.runId} has no evaluation to show.`);
    const test = await this.#options.dataset.getSplit('test');
    const count = Math.min(test.count, probabilities.length / CLASS_COUNT);
    const matching = selectSamples(probabilities, test.labels, count, CLASS_COUNT, request.filter, request.sort ?? 'index');
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
