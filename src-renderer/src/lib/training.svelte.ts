/**
 * The live picture of training, fed by the core's events: the run in progress (or the last one),
 * its per-epoch metrics and a running loss/accuracy within each epoch for the charts.
 *
 * One monitor per connection (not per view), so leaving the Train view and coming back keeps the
 * batch-level curve it has seen; the core only remembers per-epoch metrics.
 */
import type { AtelierBridge, BatchProgress, EarlyStop, EpochMetrics, RunDetail, RunFinished, TrainingConfig, TrainingState } from '../../../src-main/contract';
import { errorMessage, unwrap } from './api';

/** One point of the within-epoch running curve; x is the fractional epoch (1.5 = halfway through epoch 2). */
export interface BatchPoint {
  x: number;
  loss: number;
  accuracy: number;
}

const IDLE: TrainingState = { runId: null, status: 'idle', config: null, lastBatch: null, metrics: [], backend: null };

export class TrainingMonitor {
  /** What the core says is happening; `idle` between runs. */
  state = $state.raw<TrainingState>(IDLE);
  /** The run the series below belong to: the one training now, or the last one seen. */
  runId = $state<string | null>(null);
  /** Its name ("Tutorial MLP #4"), once the core has told it. */
  runName = $state<string | null>(null);
  /** How many of My photos it trains (or trained) on, once the core has told it. */
  photoCount = $state<number | null>(null);
  /** The run it was taught from, with that run's name (null while unknown, or when it was deleted). */
  parent = $state.raw<{ id: string; name: string | null } | null>(null);
  /** Its config (kept after it ends, for the chart's x range). */
  config = $state.raw<TrainingConfig | null>(null);
  epochs = $state.raw<EpochMetrics[]>([]);
  batchPoints = $state.raw<BatchPoint[]>([]);
  /** The latest progress report of that run. */
  lastBatch = $state.raw<BatchProgress | null>(null);
  /** Set when the run above ends. */
  finished = $state.raw<RunFinished | null>(null);
  /** Where and why early stopping ended it, when it did. */
  earlyStop = $state.raw<EarlyStop | null>(null);
  /** The run as stored (checkpoint, status), reloaded when it ends: what Resume and Train more go on from. */
  summary = $state.raw<RunDetail | null>(null);
  backend = $state<string | null>(null);
  loadError = $state<string | null>(null);

  /**
   * A getter, not a $derived: the monitor outlives the view that first asked for it, and a derived
   * created inside that view's effect goes inert (stale) when the view is destroyed; after a
   * view switch the Train view then showed a finished run as still training.
   */
  get busy(): boolean {
    return this.state.status !== 'idle';
  }

  readonly #bridge: AtelierBridge;

  constructor(bridge: AtelierBridge) {
    this.#bridge = bridge;
    // These subscriptions live as long as the connection: the monitor is the app's memory of the run.
    bridge.on('training.state', (state) => this.#onState(state));
    bridge.on('training.batch', (batch) => this.#onBatch(batch));
    bridge.on('training.epoch', ({ runId, epochs: _epochs, ...metrics }) => {
      this.#follow(runId);
      // An epoch trained again (resumed from an older checkpoint) replaces the one before it, and what came after.
      if (this.epochs.at(-1)?.epoch !== metrics.epoch) this.epochs = [...this.epochs.filter((known) => known.epoch < metrics.epoch), metrics];
    });
    bridge.on('training.finished', (finished) => {
      this.#follow(finished.runId);
      this.finished = finished;
      this.earlyStop = finished.earlyStop ?? null;
      void this.#loadRun(finished.runId);
    });
    bridge.on('engine.status', (info) => {
      if (info.backend) this.backend = info.backend;
    });
  }

  /**
   * Ask the core what is happening now (a training started in another window shows up live). When
   * nothing trains and this window has seen no run (a reload, a new window, a run the CLI trained),
   * the last run on disk is shown, so the finished run stays until a new one starts.
   */
  async refresh(): Promise<void> {
    try {
      const state = await unwrap(this.#bridge.training.state({}));
      this.#onState(state);
      if (!state.runId && !this.runId) await this.#restoreLast();
      this.loadError = null;
    } catch (caught) {
      this.loadError = errorMessage(caught);
    }
  }

  /** The newest run trained (not imported) that has ended, with its per-epoch curves and outcome. */
  async #restoreLast(): Promise<void> {
    const runs = await unwrap(this.#bridge.runs.list({}));
    const last = runs.find((run) => run.origin === 'trained' && run.status !== 'running' && run.status !== 'evaluating');
    if (!last) return;
    const detail = await unwrap(this.#bridge.runs.get({ runId: last.id }));
    // A run that started meanwhile wins.
    if (this.runId) return;
    this.#follow(detail.id, false);
    this.#describe(detail);
    this.config = detail.config;
    this.epochs = detail.metrics;
    this.finished = { runId: detail.id, status: detail.status, error: detail.error, testAccuracy: detail.testAccuracy, earlyStop: detail.earlyStop ?? null };
    this.earlyStop = detail.earlyStop ?? null;
  }

  /** The run's name, its photos and its parent: run.json has them from the start of the run. */
  async #loadRun(runId: string): Promise<void> {
    try {
      const run = await unwrap(this.#bridge.runs.get({ runId }));
      if (this.runId === runId) this.#describe(run);
    } catch {
      // The name is a nicety: without it the view says "this run".
    }
  }

  #describe(run: RunDetail): void {
    this.summary = run;
    this.runName = run.name;
    this.photoCount = run.photos.length;
    this.parent = run.parentRunId ? { id: run.parentRunId, name: null } : null;
    if (run.parentRunId) void this.#loadParentName(run.id, run.parentRunId);
  }

  async #loadParentName(runId: string, parentId: string): Promise<void> {
    try {
      const parent = await unwrap(this.#bridge.runs.get({ runId: parentId }));
      if (this.runId === runId) this.parent = { id: parentId, name: parent.name };
    } catch {
      // A deleted parent: the view says so without a name.
    }
  }

  #follow(runId: string, load = true): void {
    if (runId === this.runId) return;
    this.runId = runId;
    this.runName = null;
    this.summary = null;
    this.earlyStop = null;
    this.photoCount = null;
    this.parent = null;
    if (load) void this.#loadRun(runId);
    this.config = null;
    this.epochs = [];
    this.batchPoints = [];
    this.lastBatch = null;
    this.finished = null;
  }

  #onState(state: TrainingState): void {
    if (state.runId) {
      const again = state.runId === this.runId && this.finished !== null && state.status !== 'idle';
      this.#follow(state.runId);
      if (again) {
        // Resumed or trained more: the same run goes on, its curves kept up to the epoch it goes on from.
        this.finished = null;
        this.earlyStop = null;
        this.epochs = state.metrics;
        const last = state.metrics.at(-1)?.epoch ?? 0;
        this.batchPoints = this.batchPoints.filter((point) => point.x <= last);
        this.lastBatch = null;
      }
      if (state.config) this.config = state.config;
      if (state.metrics.length > this.epochs.length) this.epochs = state.metrics;
      // Seen for the first time mid-run: start from the last report.
      if (state.lastBatch && !this.lastBatch) {
        this.lastBatch = state.lastBatch;
        this.#addPoint(state.lastBatch);
      }
    }
    if (state.backend) this.backend = state.backend;
    this.state = state;
  }

  #onBatch(batch: BatchProgress): void {
    this.#follow(batch.runId);
    this.lastBatch = batch;
    this.#addPoint(batch);
  }

  #addPoint(batch: BatchProgress): void {
    const x = batch.epoch - 1 + batch.batch / batch.batches;
    const last = this.batchPoints.at(-1);
    if (last && x <= last.x) return;
    this.batchPoints = [...this.batchPoints, { x, loss: batch.loss, accuracy: batch.accuracy }];
  }
}

const monitors = new WeakMap<AtelierBridge, TrainingMonitor>();

/** The monitor of this connection, created on first use. */
export function trainingMonitor(bridge: AtelierBridge): TrainingMonitor {
  let monitor = monitors.get(bridge);
  if (!monitor) monitors.set(bridge, (monitor = new TrainingMonitor(bridge)));
  return monitor;
}
