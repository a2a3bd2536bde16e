/**
 * The Train form's values as typed (strings), turned into a `TrainingConfig` with the contract's
 * own schema, so the form shows exactly the messages the core would answer with, before anything
 * starts. The last values are kept in the browser's storage.
 */
import { PresetIdSchema, TrainingConfigSchema, type PresetId, type TrainingConfig } from '../../../src-main/contract';

export const FORM_FIELDS = ['epochs', 'batchSize', 'learningRate', 'hiddenUnits', 'validationSplit', 'seed', 'trainLimit'] as const;
export type FormField = (typeof FORM_FIELDS)[number];

export interface TrainForm {
  preset: PresetId;
  values: Record<FormField, string>;
}

export type FormErrors = Partial<Record<FormField | 'preset', string>>;

export const FORM_STORAGE_KEY = 'atelier.train.form.v1';

export function formFromConfig(config: TrainingConfig): TrainForm {
  return {
    preset: config.preset,
    values: {
      epochs: String(config.epochs),
      batchSize: String(config.batchSize),
      learningRate: String(config.learningRate),
      hiddenUnits: String(config.hiddenUnits),
      validationSplit: String(config.validationSplit),
      seed: String(config.seed),
      trainLimit: config.trainLimit === null ? '' : String(config.trainLimit),
    },
  };
}

/** A typed number; empty or junk becomes NaN so the schema says "must be a number". */
function toNumber(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

/** The config the form describes, or the first message for each field that is wrong. */
export function parseForm(form: TrainForm): { config: TrainingConfig; errors: null } | { config: null; errors: FormErrors } {
  const limit = form.values.trainLimit.trim();
  const candidate = {
    preset: form.preset,
    epochs: toNumber(form.values.epochs),
    batchSize: toNumber(form.values.batchSize),
    learningRate: toNumber(form.values.learningRate),
    hiddenUnits: toNumber(form.values.hiddenUnits),
    validationSplit: toNumber(form.values.validationSplit),
    seed: toNumber(form.values.seed),
    trainLimit: limit === '' ? null : toNumber(limit),
  };
  const parsed = TrainingConfigSchema.safeParse(candidate);
  if (parsed.success) return { config: parsed.data, errors: null };
  const errors: FormErrors = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path[0];
    if (typeof field === 'string' && field in candidate) errors[field as FormField | 'preset'] ??= issue.message;
  }
  return { config: null, errors };
}

/** The saved form, when there is one that still has every field (older or damaged ones are ignored). */
export function loadForm(storage: Pick<Storage, 'getItem'> | undefined): TrainForm | null {
  try {
    const raw = storage?.getItem(FORM_STORAGE_KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as { preset?: unknown; values?: Record<string, unknown> };
    const preset = PresetIdSchema.safeParse(value.preset);
    if (!preset.success || typeof value.values !== 'object' || value.values === null) return null;
    const values = {} as Record<FormField, string>;
    for (const field of FORM_FIELDS) {
      const text = value.values[field];
      if (typeof text !== 'string') return null;
      values[field] = text;
    }
    return { preset: preset.data, values };
  } catch {
    return null;
  }
}

export function saveForm(storage: Pick<Storage, 'setItem'> | undefined, form: TrainForm): void {
  try {
    storage?.setItem(FORM_STORAGE_KEY, JSON.stringify(form));
  } catch {
    // Storage full or disabled: the form still works, it just forgets.
  }
}
