/**
 * Comparing runs side by side (Models → Compare): their settings with the ones that differ marked,
 * test accuracy and per-class F1 with deltas against the first picked run, and the difference of
 * two confusion matrices. Pure functions over what runs.get and evaluation.get answer.
 */
import type { Evaluation, RunDetail, RunSummary, TrainingConfig } from '../../../src-main/contract';

/** At most this many runs at once: one clearly distinct colour each. */
export const COMPARE_LIMIT = 6;
export const COMPARE_COLOURS = ['#6ea8fe', '#f5b14c', '#5fd39a', '#e97fd0', '#b39bff', '#ff7b72'] as const;

export interface ComparedRun {
  summary: RunSummary;
  /** Null until runs.get has answered. */
  detail: RunDetail | null;
}

export interface SettingRow {
  label: string;
  /** One per run, as shown. */
  values: string[];
  differs: boolean;
}

/** What the settings table shows for a run imported without its training settings. */
export const UNKNOWN_SETTING = 'not known';

type ConfigField = (config: TrainingConfig) => string;

const CONFIG_ROWS: readonly [label: string, value: ConfigField][] = [
  ['Epochs', (config) => String(config.epochs)],
  ['Batch size', (config) => String(config.batchSize)],
  ['Learning rate', (config) => String(config.learningRate)],
  [
    'Rate schedule',
    (config) =>
      !config.schedule || config.schedule.kind === 'constant'
        ? 'constant'
        : config.schedule.kind === 'step'
          ? `step: ×${config.schedule.factor} every ${config.schedule.everyEpochs} epoch${config.schedule.everyEpochs === 1 ? '' : 's'}`
          : config.schedule.kind,
  ],
  ['Early stopping', (config) => (config.earlyStopping ? `patience ${config.earlyStopping.patience}` : 'off')],
  ['Hidden units', (config) => String(config.hiddenUnits)],
  ['Validation split', (config) => (config.validationSplit === 0 ? 'none' : String(config.validationSplit))],
  ['Seed', (config) => String(config.seed)],
  ['Training images', (config) => (config.trainLimit === null ? 'all 60,000' : `first ${config.trainLimit.toLocaleString('en-US')}`)],
  ['My photos share', (config) => (config.myPhotos ? `${Math.round(config.myPhotos.share * 1000) / 10} %` : 'none')],
];

/**
 * The settings of each run, one row per setting, `differs` where not every run has the same value.
 * `nameOf` names a parent run that is still in Models (null once deleted).
 */
export function settingRows(runs: readonly ComparedRun[], nameOf: (id: string) => string | null): SettingRow[] {
  const row = (label: string, value: (run: ComparedRun) => string): SettingRow => {
    const values = runs.map(value);
    return { label, values, differs: new Set(values).size > 1 };
  };
  return [
    row('Preset', (run) => run.detail?.config?.preset ?? run.summary.preset),
    ...CONFIG_ROWS.map(([label, field]) => row(label, (run) => (run.detail?.config ? field(run.detail.config) : UNKNOWN_SETTING))),
    row('Parent', (run) => (run.summary.parentRunId === null ? 'none' : (nameOf(run.summary.parentRunId) ?? 'a deleted run'))),
  ];
}

export interface ScoreRow {
  label: string;
  /** One per run; null where the run has no evaluation. */
  values: (number | null)[];
  /** value − the first run's value; null for the first run and where either is missing. */
  deltas: (number | null)[];
}

/** Test accuracy, then F1 of each class, for each run (null: no evaluation). */
export function scoreRows(evaluations: readonly (Evaluation | null)[]): ScoreRow[] {
  const classNames = evaluations.find((evaluation) => evaluation !== null)?.perClass.map((scores) => scores.className) ?? [];
  const row = (label: string, value: (evaluation: Evaluation) => number | undefined): ScoreRow => {
    const values = evaluations.map((evaluation) => (evaluation ? (value(evaluation) ?? null) : null));
    const first = values[0] ?? null;
    const deltas = values.map((one, position) => (position === 0 || one === null || first === null ? null : one - first));
    return { label, values, deltas };
  };
  return [
    row('Test accuracy', (evaluation) => evaluation.accuracy),
    ...classNames.map((name, classIndex) => row(`F1 ${name}`, (evaluation) => evaluation.perClass.find((scores) => scores.classIndex === classIndex)?.f1)),
  ];
}

/** B − A, cell by cell (confusion[true][predicted]). */
export function confusionDifference(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number[][] {
  if (a.length !== b.length || a.some((row, index) => row.length !== b[index]?.length)) {
    throw new Error(`The two confusion matrices differ in size (${a.length} and ${b.length} classes), so they cannot be subtracted.`);
  }
  return b.map((row, trueClass) => row.map((count, predicted) => count - a[trueClass]![predicted]!));
}

/** A change in percentage points, signed: "+1.2 pts", "−0.4 pts", "±0.0 pts". */
export function formatPoints(delta: number): string {
  const points = Math.round(delta * 1000) / 10;
  if (points === 0) return '±0.0 pts';
  return `${points > 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pts`;
}

/** A signed count: "+12", "−3", "0". */
export function formatSigned(value: number): string {
  return value === 0 ? '0' : `${value > 0 ? '+' : '−'}${Math.abs(value)}`;
}
