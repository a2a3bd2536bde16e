/**
 * The Models view's state: the run history, how it is sorted, which runs are compared, the run
 * whose details are open (the address says which: #/models/<run id>), and the row actions (make
 * active, delete) with their outcome as a notice or an error.
 */
import type { AtelierBridge, Evaluation, RunDetail, RunSummary } from '../../../src-main/contract';
import { errorMessage, unwrap } from './api';
import { COMPARE_LIMIT } from './compare';

export type RunSortKey = 'date' | 'accuracy';

export class ModelsState {
  runs = $state.raw<RunSummary[]>([]);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  sortKey = $state<RunSortKey>('date');
  sortDescending = $state(true);
  /** The run whose Delete waits for a confirmation. */
  confirmingDelete = $state<string | null>(null);
  /** The run a make-active or delete is under way for (every row's actions wait). */
  working = $state<string | null>(null);
  /** The runs picked for comparing (up to `COMPARE_LIMIT`), first pick first: deltas are against the first. */
  compared = $state.raw<string[]>([]);
  /** Compare was pressed: the comparison shows, and follows the picks while two or more stay picked. */
  comparing = $state(false);
  /** The two picked runs whose confusion matrices are subtracted (B − A); the first two picks unless chosen. */
  diffA = $state<string | null>(null);
  diffB = $state<string | null>(null);
  details = $state.raw<Record<string, RunDetail>>({});
  /** Test-set evaluations of compared runs, and why a run's could not be had. */
  evaluations = $state.raw<Record<string, Evaluation>>({});
  evaluationErrors = $state.raw<Record<string, string>>({});
  /** The run whose details are open, from the address. */
  selected = $state<string | null>(null);

  readonly sorted = $derived(
    [...this.runs].sort((a, b) => {
      const order =
        this.sortKey === 'date' ? a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id) : (a.testAccuracy ?? -1) - (b.testAccuracy ?? -1);
      return this.sortDescending ? -order : order;
    }),
  );
  /** Runs trained by another process (the CLI) send no events: the view looks again while any trains. */
  readonly anyTraining = $derived(this.runs.some((run) => run.status === 'running' || run.status === 'evaluating'));
  readonly selectedRun = $derived(this.runs.find((run) => run.id === this.selected) ?? null);
  readonly comparedRuns = $derived(this.compared.map((id) => this.runs.find((run) => run.id === id)).filter((run): run is RunSummary => run !== undefined));
  readonly showComparison = $derived(this.comparing && this.comparedRuns.length >= 2);
  /** The pair the confusion difference shows: the chosen runs while both are picked and distinct, else the first two picks. */
  readonly diffPair = $derived.by((): [string, string] | null => {
    const ids = this.comparedRuns.map((run) => run.id);
    if (ids.length < 2) return null;
    const a = this.diffA && ids.includes(this.diffA) ? this.diffA : ids[0]!;
    const b = this.diffB && ids.includes(this.diffB) && this.diffB !== a ? this.diffB : ids.find((id) => id !== a)!;
    return [a, b];
  });

  readonly #bridge: AtelierBridge;
  readonly #fetching = new Set<string>();
  readonly #evaluating = new Set<string>();

  constructor(bridge: AtelierBridge) {
    this.#bridge = bridge;
  }

  /** Quiet loads (polling, events) leave the Refresh button alone. */
  async load(quiet = false): Promise<void> {
    if (!quiet) this.loading = true;
    try {
      this.runs = await unwrap(this.#bridge.runs.list({}));
      this.error = null;
      this.compared = this.compared.filter((id) => this.runs.some((run) => run.id === id));
    } catch (caught) {
      this.error = errorMessage(caught);
    } finally {
      if (!quiet) this.loading = false;
      this.loaded = true;
    }
  }

  /** Follow changes made anywhere (this window, another, the CLI through the core); returns the unsubscribe. */
  follow(): () => void {
    const offChanged = this.#bridge.on('runs.changed', ({ runId }) => {
      if (runId) {
        const { [runId]: _stale, ...rest } = this.details;
        this.details = rest;
        const { [runId]: _staleEvaluation, ...otherEvaluations } = this.evaluations;
        this.evaluations = otherEvaluations;
        const { [runId]: _staleError, ...otherErrors } = this.evaluationErrors;
        this.evaluationErrors = otherErrors;
      }
      void this.load(true);
    });
    // A run starting here shows up as running without waiting for it to end.
    let lastRun: string | null = null;
    const offState = this.#bridge.on('training.state', (state) => {
      if (state.runId !== lastRun) {
        lastRun = state.runId;
        void this.load(true);
      }
    });
    return () => {
      offChanged();
      offState();
    };
  }

  sortBy(key: RunSortKey): void {
    if (this.sortKey === key) this.sortDescending = !this.sortDescending;
    else {
      this.sortKey = key;
      this.sortDescending = true;
    }
  }

  ariaSort(key: RunSortKey): 'ascending' | 'descending' | 'none' {
    return this.sortKey === key ? (this.sortDescending ? 'descending' : 'ascending') : 'none';
  }

  async makeActive(run: RunSummary): Promise<void> {
    await this.#rowAction(run, async () => {
      await unwrap(this.#bridge.runs.setActive({ runId: run.id }));
      this.notice = `${run.name} now classifies your photos.`;
    });
  }

  async remove(run: RunSummary): Promise<void> {
    await this.#rowAction(run, async () => {
      await unwrap(this.#bridge.runs.delete({ runId: run.id }));
      this.confirmingDelete = null;
      this.compared = this.compared.filter((id) => id !== run.id);
      this.notice = `Deleted ${run.name}.`;
    });
  }

  async #rowAction(run: RunSummary, action: () => Promise<void>): Promise<void> {
    this.working = run.id;
    this.notice = null;
    try {
      await action();
      await this.load();
    } catch (caught) {
      this.error = errorMessage(caught);
    } finally {
      this.working = null;
    }
  }

  toggleCompare(id: string, on: boolean): void {
    const others = this.compared.filter((one) => one !== id);
    this.compared = on && others.length < COMPARE_LIMIT ? [...others, id] : others;
    if (this.compared.length < 2) this.comparing = false;
  }

  /** Whether a run's checkbox can be ticked: it has epochs to show, and the limit is not reached. */
  canPick(run: RunSummary): boolean {
    return run.epochsCompleted > 0 && (this.compared.includes(run.id) || this.compared.length < COMPARE_LIMIT);
  }

  /**
   * Fetch the test-set evaluations of the compared runs that have a model and are not training
   * (evaluation.get evaluates a run the first time, which the engine does between trainings).
   */
  loadComparedEvaluations(): void {
    if (!this.showComparison) return;
    for (const run of this.comparedRuns) {
      const id = run.id;
      if (!run.hasModel || run.status === 'running' || run.status === 'evaluating') continue;
      if (this.evaluations[id] || this.evaluationErrors[id] || this.#evaluating.has(id)) continue;
      this.#evaluating.add(id);
      unwrap(this.#bridge.evaluation.get({ runId: id }))
        .then((evaluation) => {
          this.evaluations = { ...this.evaluations, [id]: evaluation };
        })
        .catch((caught: unknown) => {
          this.evaluationErrors = { ...this.evaluationErrors, [id]: errorMessage(caught) };
        })
        .finally(() => this.#evaluating.delete(id));
    }
  }

  /** Fetch the details of the compared runs and the selected one that are not loaded yet. */
  loadComparedDetails(): void {
    // A selected run that is not in the list (deleted, a stale address) is not asked for.
    for (const id of this.selectedRun ? [...this.compared, this.selectedRun.id] : this.compared) {
      if (this.details[id] || this.#fetching.has(id)) continue;
      this.#fetching.add(id);
      unwrap(this.#bridge.runs.get({ runId: id }))
        .then((detail) => {
          this.details = { ...this.details, [id]: detail };
        })
        .catch((caught: unknown) => {
          this.error = errorMessage(caught);
        })
        .finally(() => this.#fetching.delete(id));
    }
  }

  /** Open the run the address names (#/models/<run id>); none for #/models. */
  selectFromAddress(hash: string): void {
    const [section, id] = hash.replace(/^#\/?/, '').split('/');
    this.selected = section === 'models' && id ? decodeURIComponent(id) : null;
  }

  /** The name of a run in the list (a taught run's parent), or null once it was deleted. */
  nameOf(id: string): string | null {
    return this.runs.find((run) => run.id === id)?.name ?? null;
  }

  showNotice(message: string): void {
    this.notice = message;
    this.error = null;
  }

  showError(message: string): void {
    this.error = message;
    this.notice = null;
  }
}
