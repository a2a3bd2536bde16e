/**
 * The Train form's values as typed (strings), turned into a `TrainingConfig` with the contract's
 * own schema, so the form shows exactly the messages the core would answer with, before anything
 * starts. The last values are kept in the browser's storage.
 */
import { DEFAULT_PHOTO_SHARE, PresetIdSchema, TrainingConfigSchema, type LearningRateSchedule, type PresetId, type TrainingConfig } from '../../../src-main/contract';

export const FORM_FIELDS = ['epochs', 'batchSize', 'learningRate', 'hiddenUnits', 'validationSplit', 'seed', 'trainLimit'] as const;
export type FormField = (typeof FORM_FIELDS)[number];

/** Mixing My photos into training: on or off, and the share of each epoch as a percentage typed. */
export interface PhotoOption {
  enabled: boolean;
  sharePercent: string;
}

/** The learning-rate schedule as chosen; the step schedule's two numbers as typed. */
export interface ScheduleOption {
  kind: LearningRateSchedule['kind'];
  everyEpochs: string;
  factor: string;
}

/** Early stopping: on or off, and the patience in epochs as typed. */
export interface EarlyStoppingOption {
  enabled: boolean;
  patience: string;
}

export interface TrainForm {
  preset: PresetId;
  values: Record<FormField, string>;
  /** Forms saved before training with My photos are read as off, 10 %. */
  photos: PhotoOption;
  /** Forms saved before schedules are read as constant. */
  schedule: ScheduleOption;
  /** Forms saved before early stopping are read as off, patience 3. */
  earlyStopping: EarlyStoppingOption;
}

export type FormErrors = Partial<Record<FormField | 'preset' | 'photoShare' | 'everyEpochs' | 'factor' | 'patience' | 'earlyStopping', string>>;

export const SCHEDULE_CHOICES: { kind: LearningRateSchedule['kind']; label: string; hint: string }[] = [
  { kind: 'constant', label: 'Constant', hint: "The tutorial's: the same rate throughout." },
  { kind: 'step', label: 'Step decay', hint: 'Multiply the rate by a factor every few epochs.' },
  { kind: 'cosine', label: 'Cosine', hint: 'Lower the rate smoothly to 0 by the last batch.' },
  { kind: 'one-cycle', label: 'One-cycle', hint: 'Warm up from rate/25 over the first 30 % of batches, then anneal far below it; the rate is the peak.' },
];

export function defaultScheduleOption(): ScheduleOption {
  return { kind: 'constant', everyEpochs: '2', factor: '0.5' };
}

export function defaultEarlyStoppingOption(): EarlyStoppingOption {
  return { enabled: false, patience: '3' };
}

function scheduleOptionOf(schedule: LearningRateSchedule | undefined): ScheduleOption {
  const option = defaultScheduleOption();
  if (!schedule) return option;
  return schedule.kind === 'step' ? { kind: 'step', everyEpochs: String(schedule.everyEpochs), factor: String(schedule.factor) } : { ...option, kind: schedule.kind };
}

/** The share the form offers, in percent (the contract's 0.01–0.5). */
export const PHOTO_SHARE_MIN_PERCENT = 1;
export const PHOTO_SHARE_MAX_PERCENT = 50;

export function defaultPhotoOption(): PhotoOption {
  return { enabled: false, sharePercent: String(Math.round(DEFAULT_PHOTO_SHARE * 100)) };
}

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
    photos: config.myPhotos ? { enabled: true, sharePercent: String(Math.round(config.myPhotos.share * 1000) / 10) } : defaultPhotoOption(),
    schedule: scheduleOptionOf(config.schedule),
    earlyStopping: config.earlyStopping ? { enabled: true, patience: String(config.earlyStopping.patience) } : defaultEarlyStoppingOption(),
  };
}

/**
 * The form after picking another preset: its recipe (epochs, batch size, rate, hidden units,
 * schedule) from the preset's defaults, since one preset's settings can be wrong for another (the
 * best preset wants batches of 128 and a one-cycle rate of 0.003); what concerns the data and the
 * run (images, validation split, seed, My photos, early stopping) stays as the person set it.
 */
export function withPreset(form: TrainForm, defaults: TrainingConfig): TrainForm {
  const recipe = formFromConfig(defaults);
  return {
    ...form,
    preset: defaults.preset,
    values: { ...form.values, epochs: recipe.values.epochs, batchSize: recipe.values.batchSize, learningRate: recipe.values.learningRate, hiddenUnits: recipe.values.hiddenUnits },
    schedule: recipe.schedule,
  };
}

/** The typed percentage as a share (0.1 for "10"), or the message that says what to type. */
function parseSharePercent(text: string): { share: number; error: null } | { share: null; error: string } {
  const value = toNumber(text.replace(/%\s*$/, ''));
  if (!Number.isFinite(value)) return { share: null, error: 'The share of photos must be a number of percent, like 10.' };
  if (value < PHOTO_SHARE_MIN_PERCENT) return { share: null, error: `The share of photos must be at least ${PHOTO_SHARE_MIN_PERCENT} % (one sample in a hundred).` };
  if (value > PHOTO_SHARE_MAX_PERCENT) return { share: null, error: `The share of photos can be at most ${PHOTO_SHARE_MAX_PERCENT} % (half of every epoch); more would crowd out Fashion-MNIST.` };
  return { share: value / 100, error: null };
}

/** A typed number; empty or junk becomes NaN so the schema says "must be a number". */
function toNumber(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? Number.NaN : Number(trimmed);
}

/**
 * The config the form describes, or the first message for each field that is wrong. My photos are
 * mixed in only when the option is on and `photosAvailable` (a collection with photos in it): with
 * none the option shows off, and the config must say so too.
 */
export function parseForm(form: TrainForm, photosAvailable = false): { config: TrainingConfig; errors: null } | { config: null; errors: FormErrors } {
  const limit = form.values.trainLimit.trim();
  const photoShare = form.photos.enabled && photosAvailable ? parseSharePercent(form.photos.sharePercent) : null;
  const candidate = {
    preset: form.preset,
    epochs: toNumber(form.values.epochs),
    batchSize: toNumber(form.values.batchSize),
    learningRate: toNumber(form.values.learningRate),
    hiddenUnits: toNumber(form.values.hiddenUnits),
    validationSplit: toNumber(form.values.validationSplit),
    seed: toNumber(form.values.seed),
    trainLimit: limit === '' ? null : toNumber(limit),
    ...(photoShare?.share != null ? { myPhotos: { share: photoShare.share } } : {}),
    ...(form.schedule.kind === 'constant'
      ? {}
      : { schedule: form.schedule.kind === 'step' ? { kind: 'step', everyEpochs: toNumber(form.schedule.everyEpochs), factor: toNumber(form.schedule.factor) } : { kind: form.schedule.kind } }),
    ...(form.earlyStopping.enabled ? { earlyStopping: { patience: toNumber(form.earlyStopping.patience) } } : {}),
  };
  const parsed = TrainingConfigSchema.safeParse(candidate);
  if (parsed.success && !photoShare?.error) return { config: parsed.data, errors: null };
  const errors: FormErrors = photoShare?.error ? { photoShare: photoShare.error } : {};
  if (parsed.success) return { config: null, errors };
  for (const issue of parsed.error.issues) {
    const [first, second] = issue.path;
    // The schedule's and early stopping's own fields have their messages next to them.
    const field =
      first === 'myPhotos' ? 'photoShare' : first === 'schedule' && (second === 'everyEpochs' || second === 'factor') ? second : first === 'earlyStopping' ? (second === 'patience' ? 'patience' : 'earlyStopping') : first;
    if (field === 'photoShare' || field === 'everyEpochs' || field === 'factor' || field === 'patience' || field === 'earlyStopping' || (typeof field === 'string' && field in candidate)) {
      errors[field as keyof FormErrors] ??= issue.message;
    }
  }
  return { config: null, errors };
}

/** The saved form, when there is one that still has every field (older or damaged ones are ignored). */
export function loadForm(storage: Pick<Storage, 'getItem'> | undefined): TrainForm | null {
  try {
    const raw = storage?.getItem(FORM_STORAGE_KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as { preset?: unknown; values?: Record<string, unknown>; photos?: unknown; schedule?: unknown; earlyStopping?: unknown };
    const preset = PresetIdSchema.safeParse(value.preset);
    if (!preset.success || typeof value.values !== 'object' || value.values === null) return null;
    const values = {} as Record<FormField, string>;
    for (const field of FORM_FIELDS) {
      const text = value.values[field];
      if (typeof text !== 'string') return null;
      values[field] = text;
    }
    const photos = value.photos as Partial<PhotoOption> | undefined;
    const photoOption = typeof photos?.enabled === 'boolean' && typeof photos.sharePercent === 'string' ? { enabled: photos.enabled, sharePercent: photos.sharePercent } : defaultPhotoOption();
    const schedule = value.schedule as Partial<ScheduleOption> | undefined;
    const scheduleOption =
      SCHEDULE_CHOICES.some((choice) => choice.kind === schedule?.kind) && typeof schedule?.everyEpochs === 'string' && typeof schedule.factor === 'string'
        ? { kind: schedule.kind!, everyEpochs: schedule.everyEpochs, factor: schedule.factor }
        : defaultScheduleOption();
    const early = value.earlyStopping as Partial<EarlyStoppingOption> | undefined;
    const earlyOption = typeof early?.enabled === 'boolean' && typeof early.patience === 'string' ? { enabled: early.enabled, patience: early.patience } : defaultEarlyStoppingOption();
    return { preset: preset.data, values, photos: photoOption, schedule: scheduleOption, earlyStopping: earlyOption };
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
