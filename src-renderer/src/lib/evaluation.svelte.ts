/**
 * The Evaluate view's state: which run is judged, its test-set evaluation, the tutorial's grid of
 * predictions and the images of a chosen confusion cell. Loads return the `settleLatest` cancel so
 * the view's effects drop an answer that a newer choice has overtaken.
 */
import type { AtelierBridge, Evaluation, EvaluationSamples, RunSummary, SampleOrder } from '../../../src-main/contract';
import { errorMessage, unwrap } from './api';
import { settleLatest } from './latest';
import { decodeSamples, type SampleItem } from './samples';

/** The tutorial's figure: 5 rows × 3 columns of (image, probabilities). */
export const GRID_PAGE = 15;
export const CELL_PAGE = 24;
/** Worst mistakes: as many a page as the tutorial's grid. */
export const WORST_PAGE = 15;

export interface SamplePage {
  total: number;
  items: SampleItem[];
}

export interface ConfusionCell {
  trueClass: number;
  predictedClass: number;
}

export class EvaluationState {
  runs = $state.raw<RunSummary[]>([]);
  runsLoaded = $state(false);
  runId = $state<string | null>(null);
  evaluation = $state.raw<Evaluation | null>(null);
  loadingEvaluation = $state(false);
  error = $state<string | null>(null);

  gridFilter = $state<'all' | 'mistakes'>('all');
  gridOffset = $state(0);
  grid = $state.raw<SamplePage | null>(null);
  gridError = $state<string | null>(null);

  selectedCell = $state.raw<ConfusionCell | null>(null);
  cellOffset = $state(0);
  cellSamples = $state.raw<SamplePage | null>(null);
  cellError = $state<string | null>(null);

  worstOffset = $state(0);
  worst = $state.raw<SamplePage | null>(null);
  worstError = $state<string | null>(null);

  /** Runs with a model that is not being trained. */
  readonly evaluable = $derived(this.runs.filter((run) => run.hasModel && run.status !== 'running' && run.status !== 'evaluating'));
  readonly classNames = $derived(this.evaluation?.perClass.map((scores) => scores.className) ?? []);
  readonly run = $derived(this.runs.find((one) => one.id === this.runId) ?? null);
  readonly mistakes = $derived(
    this.evaluation?.confusion.reduce((sum, row, trueClass) => sum + row.reduce((rowSum, count, predicted) => rowSum + (predicted === trueClass ? 0 : count), 0), 0) ?? 0,
  );

  readonly #bridge: AtelierBridge;

  constructor(bridge: AtelierBridge, runId: string | null) {
    this.#bridge = bridge;
    this.runId = runId;
  }

  async loadRuns(): Promise<void> {
    try {
      this.runs = await unwrap(this.#bridge.runs.list({}));
      this.runsLoaded = true;
      if (!this.runId || !this.runs.some((one) => one.id === this.runId)) {
        // Default: the newest run already evaluated, else the newest with a model.
        const chosen = this.runs.find((one) => one.testAccuracy !== null && one.hasModel) ?? this.evaluable[0] ?? null;
        if (chosen || !this.runId) this.runId = chosen?.id ?? null;
      }
    } catch (caught) {
      this.error = errorMessage(caught);
    }
  }

  /** Load the chosen run's evaluation (computing it the first time), forgetting the previous run's samples. */
  loadEvaluation(id: string): () => void {
    this.loadingEvaluation = true;
    this.error = null;
    this.evaluation = null;
    this.grid = null;
    this.selectedCell = null;
    this.gridOffset = 0;
    this.worst = null;
    this.worstOffset = 0;
    return settleLatest(unwrap(this.#bridge.evaluation.get({ runId: id })), {
      value: (value) => (this.evaluation = value),
      error: (message) => (this.error = message),
      settled: () => (this.loadingEvaluation = false),
    });
  }

  /** The grid's current page, for the current filter. */
  loadGrid(id: string, filter: 'all' | 'mistakes', offset: number): () => void {
    this.gridError = null;
    return settleLatest(this.#samples(id, offset, GRID_PAGE, { trueClass: null, predictedClass: null, correct: filter === 'mistakes' ? false : null }), {
      value: (page) => (this.grid = page),
      error: (message) => (this.gridError = message),
    });
  }

  /** The chosen confusion cell's images, a page at a time. */
  loadCell(id: string, cell: ConfusionCell, offset: number): () => void {
    this.cellError = null;
    return settleLatest(this.#samples(id, offset, CELL_PAGE, { ...cell, correct: null }), {
      value: (page) => (this.cellSamples = page),
      error: (message) => (this.cellError = message),
    });
  }

  /** The test images the model got wrong, highest loss first (the core sorts all 10,000), a page at a time. */
  loadWorst(id: string, offset: number): () => void {
    this.worstError = null;
    return settleLatest(this.#samples(id, offset, WORST_PAGE, { trueClass: null, predictedClass: null, correct: false }, 'loss'), {
      value: (page) => (this.worst = page),
      error: (message) => (this.worstError = message),
    });
  }

  async #samples(id: string, offset: number, count: number, filter: { trueClass: number | null; predictedClass: number | null; correct: boolean | null }, sort: SampleOrder = 'index'): Promise<SamplePage> {
    const page: EvaluationSamples = await unwrap(this.#bridge.evaluation.samples({ runId: id, offset, count, filter, sort }));
    return { total: page.total, items: decodeSamples(page) };
  }

  selectCell(cell: ConfusionCell | null): void {
    this.selectedCell = cell;
    this.cellOffset = 0;
    this.cellSamples = null;
  }

  setGridFilter(filter: 'all' | 'mistakes'): void {
    this.gridFilter = filter;
    this.gridOffset = 0;
  }
}
