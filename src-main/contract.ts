/**
 * The one contract between Atelier's core and its three shells (Electron IPC, browser WebSocket, CLI).
 *
 * Every call the UI can make (channel → input schema → output schema) and every event it can receive
 * (event name → payload schema) lives here. Channels are namespaced by feature (`system.info`); a
 * typo in a channel name is a compile error. Inputs are validated with zod at the boundary; outputs
 * are typed by the same schemas. The renderer imports this file for types (and the channel list).
 */
import { z } from 'zod';
import { ERROR_KINDS, type ErrorInfo } from './core/errors';

// ─── shared shapes ────────────────────────────────────────────────────────────────────────────────

export const ShellSchema = z.enum(['electron', 'browser', 'cli']);
export type Shell = z.infer<typeof ShellSchema>;

export const BackendNameSchema = z.enum(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
export type BackendName = z.infer<typeof BackendNameSchema>;

/** One rung of the engine's backend ladder: what was tried and why it was (not) used. */
export const BackendAttemptSchema = z.object({
  name: BackendNameSchema,
  /** npm package that provides it. */
  package: z.string(),
  /** 'used' for the rung in use, 'skipped' when it failed, 'not-tried' below the one in use. */
  outcome: z.enum(['used', 'skipped', 'not-tried']),
  /** Why it was skipped, in words a person can act on; null when used or not tried. */
  reason: z.string().nullable(),
  /** The raw error message behind the reason, for bug reports. */
  detail: z.string().nullable(),
});
export type BackendAttempt = z.infer<typeof BackendAttemptSchema>;

export const EngineInfoSchema = z.object({
  state: z.enum(['starting', 'ready', 'failed']),
  backend: BackendNameSchema.nullable(),
  /** TensorFlow.js version, e.g. "4.22.0". */
  tfjsVersion: z.string().nullable(),
  /** Extra facts about the backend in use (SIMD, threads, GPU device). */
  features: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  ladder: z.array(BackendAttemptSchema),
  error: z.string().nullable(),
});
export type EngineInfo = z.infer<typeof EngineInfoSchema>;

export const DatasetSourceKindSchema = z.enum(['user-folder', 'env', 'cache', 'system-package', 'download']);
export type DatasetSourceKind = z.infer<typeof DatasetSourceKindSchema>;

export const DatasetSourceStatusSchema = z.object({
  kind: DatasetSourceKindSchema,
  /** Folder on disk, or the base URL for the download source. */
  location: z.string(),
  state: z.enum(['found', 'missing', 'incomplete', 'available']),
  /** Files that are missing from an incomplete folder. */
  missingFiles: z.array(z.string()),
  /** One sentence for the UI: how to use or fix this source. */
  hint: z.string(),
});
export type DatasetSourceStatus = z.infer<typeof DatasetSourceStatusSchema>;

export const SystemInfoSchema = z.object({
  appName: z.string(),
  appVersion: z.string(),
  shell: ShellSchema,
  platform: z.string(),
  arch: z.string(),
  nodeVersion: z.string(),
  electronVersion: z.string().nullable(),
  cpus: z.number().int(),
  totalMemoryBytes: z.number(),
  dataHome: z.string(),
  engine: EngineInfoSchema,
  dataset: z.object({
    /** The source that will be used, or null when none has the data and download is the only way. */
    using: DatasetSourceKindSchema.nullable(),
    sources: z.array(DatasetSourceStatusSchema),
  }),
});
export type SystemInfo = z.infer<typeof SystemInfoSchema>;

// ─── training, runs, evaluation ──────────────────────────────────────────────────────────────────

export const PresetIdSchema = z.enum(['tutorial-mlp', 'cnn', 'photo-robust', 'best']);
export type PresetId = z.infer<typeof PresetIdSchema>;

/** Share of each epoch's samples that are photos when none is given (see core/training/photos.ts). */
export const DEFAULT_PHOTO_SHARE = 0.1;

export const PhotoShareSchema = z
  .number({ error: 'The share of photos must be a number.' })
  .min(0.01, 'The share of photos must be at least 0.01 (one sample in a hundred).')
  .max(0.5, 'The share of photos can be at most 0.5 (half of every epoch); more would crowd out Fashion-MNIST.');

export const MyPhotosSettingSchema = z.object({ share: PhotoShareSchema }).strict();
export type MyPhotosSetting = z.infer<typeof MyPhotosSettingSchema>;

/**
 * How the learning rate moves during training (core/engine/lr-schedule.ts computes it per batch):
 * `constant` is the tutorial's; `step` multiplies it by `factor` every `everyEpochs` epochs;
 * `cosine` anneals it to 0 over the run; `one-cycle` is PyTorch's OneCycleLR (warm up from
 * rate/25 over the first 30 % of the batches, then cosine down to rate/250,000), the rate being
 * the peak.
 */
export const LearningRateScheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant') }).strict(),
  z
    .object({
      kind: z.literal('step'),
      everyEpochs: z.number({ error: 'Step every … epochs must be a number.' }).int('Step every … epochs must be a whole number.').min(1, 'Step every … epochs must be at least 1.').max(200, 'Step every … epochs can be at most 200.'),
      factor: z.number({ error: 'The step factor must be a number.' }).gt(0, 'The step factor must be above 0.').lt(1, 'The step factor must be below 1 (it lowers the rate).'),
    })
    .strict(),
  z.object({ kind: z.literal('cosine') }).strict(),
  z.object({ kind: z.literal('one-cycle') }).strict(),
]);
export type LearningRateSchedule = z.infer<typeof LearningRateScheduleSchema>;

export const EarlyStoppingSettingSchema = z
  .object({
    patience: z
      .number({ error: 'Patience must be a number of epochs.' })
      .int('Patience must be a whole number of epochs.')
      .min(1, 'Patience must be at least 1 epoch.')
      .max(50, 'Patience can be at most 50 epochs.'),
  })
  .strict();
export type EarlyStoppingSetting = z.infer<typeof EarlyStoppingSettingSchema>;

/** Everything that defines a training run. Same config + same backend ⇒ same result. */
export const TrainingConfigSchema = z
  .object({
    preset: PresetIdSchema,
    epochs: z.number({ error: 'Epochs must be a number.' }).int('Epochs must be a whole number.').min(1, 'Epochs must be at least 1.').max(200, 'Epochs can be at most 200.'),
    batchSize: z.number({ error: 'Batch size must be a number.' }).int('Batch size must be a whole number.').min(1, 'Batch size must be at least 1.').max(4096, 'Batch size can be at most 4,096.'),
    learningRate: z.number({ error: 'Learning rate must be a number.' }).gt(0, 'Learning rate must be above 0.').max(1, 'Learning rate can be at most 1 (try 0.001).'),
    hiddenUnits: z.number({ error: 'Hidden units must be a number.' }).int('Hidden units must be a whole number.').min(1, 'Hidden units must be at least 1.').max(4096, 'Hidden units can be at most 4,096.'),
    validationSplit: z.number({ error: 'Validation split must be a number.' }).min(0, 'Validation split cannot be negative.').max(0.5, 'Validation split can be at most 0.5 (half the training images).'),
    seed: z.number({ error: 'Seed must be a number.' }).int('Seed must be a whole number.').min(0, 'Seed cannot be negative.').max(2_147_483_647, 'Seed must fit in 31 bits.'),
    /** Train on the first N training images only (quick trials and tests); null = all 60,000. */
    trainLimit: z
      .number({ error: 'The number of training images must be a number.' })
      .int('The number of training images must be a whole number.')
      .min(100, 'Use at least 100 training images.')
      .max(60_000, 'There are 60,000 training images; use at most 60,000 (or leave it empty for all).')
      .nullable(),
    /**
     * Mix the photos of My photos into every epoch at this share of its samples (0.1: one sample
     * in ten is a photo). Absent or null: Fashion-MNIST only (and in run.json files older than it).
     */
    myPhotos: MyPhotosSettingSchema.nullable().optional(),
    /** Absent (run.json files older than schedules): constant. */
    schedule: LearningRateScheduleSchema.optional(),
    /** Stop when the validation loss has not improved for `patience` epochs, keeping the best epoch's weights; absent or null: train every epoch. */
    earlyStopping: EarlyStoppingSettingSchema.nullable().optional(),
  })
  .strict()
  .refine((config) => !config.earlyStopping || config.validationSplit > 0, {
    path: ['earlyStopping'],
    message: 'Early stopping watches the validation loss: set a validation split above 0 (0.1 holds out 10 %), or turn early stopping off.',
  });
export type TrainingConfig = z.infer<typeof TrainingConfigSchema>;

export const PresetSchema = z.object({
  id: PresetIdSchema,
  name: z.string(),
  description: z.string(),
  defaults: TrainingConfigSchema,
  /** Which fields the preset uses (a CNN ignores hidden units of the MLP, etc.). */
  editable: z.array(z.enum(['epochs', 'batchSize', 'learningRate', 'hiddenUnits', 'validationSplit', 'seed'])),
  parameters: z.number().int(),
});
export type Preset = z.infer<typeof PresetSchema>;

export const BatchProgressSchema = z.object({
  runId: z.string(),
  epoch: z.number().int(),
  epochs: z.number().int(),
  batch: z.number().int(),
  batches: z.number().int(),
  loss: z.number(),
  accuracy: z.number(),
  samplesPerSecond: z.number(),
  etaSeconds: z.number().nullable(),
});
export type BatchProgress = z.infer<typeof BatchProgressSchema>;

export const EpochMetricsSchema = z.object({
  epoch: z.number().int(),
  loss: z.number(),
  accuracy: z.number(),
  valLoss: z.number().nullable(),
  valAccuracy: z.number().nullable(),
  seconds: z.number(),
  samplesPerSecond: z.number(),
  /** The learning rate of the epoch's first batch; absent in metrics written before schedules. */
  learningRate: z.number().optional(),
});
export type EpochMetrics = z.infer<typeof EpochMetricsSchema>;

/** Why and where early stopping ended a run: the epochs trained, and the best one, whose weights were kept. */
export const EarlyStopSchema = z.object({
  stoppedAfterEpoch: z.number().int(),
  bestEpoch: z.number().int(),
  bestValLoss: z.number(),
  patience: z.number().int(),
});
export type EarlyStop = z.infer<typeof EarlyStopSchema>;

export const RunStatusSchema = z.enum(['running', 'evaluating', 'completed', 'stopped', 'failed']);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const ClassScoresSchema = z.object({
  classIndex: z.number().int(),
  className: z.string(),
  precision: z.number(),
  recall: z.number(),
  f1: z.number(),
  support: z.number().int(),
});
export type ClassScores = z.infer<typeof ClassScoresSchema>;

export const EvaluationSchema = z.object({
  runId: z.string(),
  evaluatedAt: z.string(),
  testCount: z.number().int(),
  loss: z.number(),
  accuracy: z.number(),
  /** confusion[true][predicted] counts. */
  confusion: z.array(z.array(z.number().int())),
  perClass: z.array(ClassScoresSchema),
  backend: BackendNameSchema.nullable(),
});
export type Evaluation = z.infer<typeof EvaluationSchema>;

export const RunSummarySchema = z.object({
  id: z.string(),
  /** What people call the run: "Tutorial MLP #4" for a run trained here, what was imported for an import. */
  name: z.string(),
  /** The run's place in its data folder, counting from 1 (0 for a folder too damaged to read). */
  number: z.number().int().nonnegative(),
  createdAt: z.string(),
  origin: z.enum(['trained', 'imported']),
  preset: z.string(),
  backend: BackendNameSchema.nullable(),
  status: RunStatusSchema,
  epochsPlanned: z.number().int(),
  epochsCompleted: z.number().int(),
  durationSeconds: z.number(),
  testAccuracy: z.number().nullable(),
  testLoss: z.number().nullable(),
  hasModel: z.boolean(),
  active: z.boolean(),
  error: z.string().nullable(),
  /** The run whose model this one started from (`training.teach`); null for a run trained from scratch or imported. */
  parentRunId: z.string().nullable(),
  /** How many photos of My photos the run trained on (0 for Fashion-MNIST only, and for runs from before My photos). */
  photoCount: z.number().int().nonnegative(),
  /** The epoch of the newest checkpoint in the run folder (what Resume and Train more go on from); null without one. */
  checkpointEpoch: z.number().int().nullable(),
  /** Set when early stopping ended the run; absent or null otherwise. */
  earlyStop: EarlyStopSchema.nullable().optional(),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

/** One photo of My photos as a run trained on it: which photo (id and content hash) and the label it had then. */
export const TrainingPhotoRecordSchema = z.object({
  id: z.string(),
  sha256: z.string(),
  label: z.number().int().min(0).max(9),
});
export type TrainingPhotoRecord = z.infer<typeof TrainingPhotoRecordSchema>;

export const RunDetailSchema = RunSummarySchema.extend({
  config: TrainingConfigSchema.nullable(),
  metrics: z.array(EpochMetricsSchema),
  /** Every photo of My photos the run trained on; empty when it trained on Fashion-MNIST only. */
  photos: z.array(TrainingPhotoRecordSchema),
});
export type RunDetail = z.infer<typeof RunDetailSchema>;

export const TrainingStateSchema = z.object({
  runId: z.string().nullable(),
  status: z.enum(['idle', 'preparing', 'running', 'stopping', 'evaluating']),
  config: TrainingConfigSchema.nullable(),
  lastBatch: BatchProgressSchema.nullable(),
  metrics: z.array(EpochMetricsSchema),
  backend: BackendNameSchema.nullable(),
});
export type TrainingState = z.infer<typeof TrainingStateSchema>;

export const RunFinishedSchema = z.object({
  runId: z.string(),
  status: RunStatusSchema,
  error: z.string().nullable(),
  testAccuracy: z.number().nullable(),
  /** Set when early stopping ended the run. */
  earlyStop: EarlyStopSchema.nullable().optional(),
});
export type RunFinished = z.infer<typeof RunFinishedSchema>;

const RunIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'Not a run id.');

/** One checkpoint of a run as `training.checkpoints` lists it, checked file by file. */
export const CheckpointStatusSchema = z.object({
  epoch: z.number().int(),
  /** Its manifest (epoch-NNNN.json). */
  file: z.string(),
  ok: z.boolean(),
  /** What is wrong with it, naming the file, when not ok. */
  problem: z.string().nullable(),
});
export type CheckpointStatus = z.infer<typeof CheckpointStatusSchema>;

export const RunCheckpointsSchema = z.object({
  runId: z.string(),
  /** Newest first. */
  checkpoints: z.array(CheckpointStatusSchema),
  /** The newest checkpoint whose files are all intact, or null. */
  lastGoodEpoch: z.number().int().nullable(),
  /** Epochs the run recorded; a newest checkpoint below it means the later ones are missing. */
  epochsCompleted: z.number().int(),
});
export type RunCheckpoints = z.infer<typeof RunCheckpointsSchema>;

/** A learning-rate finder's sweep (fastai's lr_find): the loss of each batch as the rate rose exponentially, on a copy of the model. */
export const LearningRateSweepSchema = z.object({
  /** One per batch, in order: the rate it trained at, its loss, and the loss smoothed (debiased moving average, β = 0.98). */
  points: z.array(z.object({ rate: z.number(), loss: z.number(), smoothed: z.number() })),
  /** Where the smoothed loss falls fastest against log(rate): fastai's "steep" suggestion; always one of the points' rates. */
  suggestion: z.number(),
  minRate: z.number(),
  maxRate: z.number(),
  /** Batches planned; fewer were run when the loss blew up (more than 4× its lowest), as fastai stops. */
  batches: z.number().int(),
  stoppedEarly: z.boolean(),
  seconds: z.number(),
});
export type LearningRateSweep = z.infer<typeof LearningRateSweepSchema>;

export const SampleFilterSchema = z
  .object({
    trueClass: z.number().int().min(0).max(9).nullable(),
    predictedClass: z.number().int().min(0).max(9).nullable(),
    correct: z.boolean().nullable(),
  })
  .strict();

export const SampleOrderSchema = z.enum(['index', 'loss']);
export type SampleOrder = z.infer<typeof SampleOrderSchema>;

export const EvaluationSamplesSchema = z.object({
  total: z.number().int(),
  offset: z.number().int(),
  items: z.array(
    z.object({
      index: z.number().int(),
      label: z.number().int(),
      predicted: z.number().int(),
      probabilities: z.array(z.number()),
    }),
  ),
  /** items.length × 784 grayscale bytes, base64. */
  pixels: z.string(),
});
export type EvaluationSamples = z.infer<typeof EvaluationSamplesSchema>;

// ─── dataset ──────────────────────────────────────────────────────────────────────────────────────

export const SplitNameSchema = z.enum(['train', 'test']);
export type SplitName = z.infer<typeof SplitNameSchema>;

const LocalSourceKindSchema = z.enum(['user-folder', 'env', 'cache', 'system-package']);

export const DatasetSplitSummarySchema = z.object({
  count: z.number().int(),
  /** Images per class, indexed by label. */
  perClass: z.array(z.number().int()),
});

/** What is loaded: where from, and how many images of each class per split (all checksums matched). */
export const DatasetSummarySchema = z.object({
  source: z.object({ kind: LocalSourceKindSchema, dir: z.string() }),
  verified: z.boolean(),
  classNames: z.array(z.string()),
  imageSize: z.number().int(),
  train: DatasetSplitSummarySchema,
  test: DatasetSplitSummarySchema,
});
export type DatasetSummary = z.infer<typeof DatasetSummarySchema>;

/** A page of images. `pixels` is base64 of `indices.length × 784` grayscale bytes, row-major per image. */
export const DatasetPageSchema = z.object({
  split: SplitNameSchema,
  /** Images matching the filter: the length of the list being paged. */
  total: z.number().int(),
  offset: z.number().int(),
  /** Dataset indices of the returned images, in order. */
  indices: z.array(z.number().int()),
  labels: z.array(z.number().int()),
  pixels: z.string(),
});
export type DatasetPage = z.infer<typeof DatasetPageSchema>;

/** One image with its label; `pixels` is base64 of 784 grayscale bytes. */
export const DatasetImageSchema = z.object({
  split: SplitNameSchema,
  index: z.number().int(),
  label: z.number().int(),
  className: z.string(),
  pixels: z.string(),
});
export type DatasetImage = z.infer<typeof DatasetImageSchema>;

/** One throttled report of a download (about ten a second). */
export const DownloadProgressSchema = z.object({
  /** The `.gz` being fetched. */
  file: z.string(),
  fileIndex: z.number().int(),
  fileCount: z.number().int(),
  url: z.string(),
  phase: z.enum(['downloading', 'verifying', 'done']),
  receivedBytes: z.number(),
  /** From the server's Content-Length; null when it does not say. */
  totalBytes: z.number().nullable(),
  bytesPerSecond: z.number(),
  /** 0 to 1 over the whole download. */
  overallFraction: z.number(),
});
export type DownloadProgress = z.infer<typeof DownloadProgressSchema>;

export const DatasetDownloadStatusSchema = z.object({
  state: z.enum(['idle', 'running', 'done', 'failed', 'cancelled']),
  /** The latest report of the running (or last) download. */
  progress: DownloadProgressSchema.nullable(),
  /** Why the last download failed, as the person should read it. */
  error: z.string().nullable(),
});
export type DatasetDownloadStatus = z.infer<typeof DatasetDownloadStatusSchema>;

/** Where Fashion-MNIST would come from now, every candidate in order, the chosen folder and the download. */
export const DatasetSourcesSchema = z.object({
  using: LocalSourceKindSchema.nullable(),
  sources: z.array(DatasetSourceStatusSchema),
  /** The folder the person chose (remembered in the data folder's settings.json), or null. */
  chosenDir: z.string().nullable(),
  download: DatasetDownloadStatusSchema,
});
export type DatasetSources = z.infer<typeof DatasetSourcesSchema>;

/** Largest page `dataset.page` hands out (same as the store's cap). */
export const DATASET_MAX_PAGE = 500;

const DatasetPathSchema = z
  .string({ error: 'The folder must be a path.' })
  .trim()
  .min(1, 'Name a folder.')
  .max(4096, 'That path is too long.')
  .refine((path) => !path.includes('\0'), 'A path cannot contain a NUL character.');

// ─── models: export and import ───────────────────────────────────────────────────────────────────

/**
 * `tfjs`: TF.js layers format (model.json + weights.bin); `onnx`: model.onnx, opset 13; `tflite`:
 * model.tflite, float32; `tflite-int8`: model.tflite quantized to int8 after training (input and
 * output int8 too). Each adds atelier-model.json. Each format is one module in core/export/formats.
 */
export const ExportFormatSchema = z.enum(['tfjs', 'onnx', 'tflite', 'tflite-int8']);
export type ExportFormat = z.infer<typeof ExportFormatSchema>;

const ExportedFileSchema = z.object({ name: z.string(), bytes: z.number().int() });

export const ModelExportSchema = z.object({
  runId: z.string(),
  format: ExportFormatSchema,
  /** The export folder. */
  path: z.string(),
  files: z.array(ExportedFileSchema),
  /**
   * The written model was re-loaded and compared with the run's own predictions on probe images:
   * the largest probability difference, and on how many images the most likely class agreed.
   */
  check: z.object({ images: z.number().int(), largestDifference: z.number(), sameTopClass: z.number().int() }),
});
export type ModelExport = z.infer<typeof ModelExportSchema>;

/** An export as one .zip, for a browser download. */
export const ModelArchiveSchema = z.object({
  fileName: z.string(),
  mimeType: z.string(),
  base64: z.string(),
  bytes: z.number().int(),
  files: z.array(ExportedFileSchema),
});
export type ModelArchive = z.infer<typeof ModelArchiveSchema>;

export const ModelImportSchema = z.object({
  run: RunSummarySchema,
  /** False when the test set was not available to evaluate the model. */
  evaluated: z.boolean(),
  /** Something the person should know about the imported model, or null. */
  note: z.string().nullable(),
});
export type ModelImport = z.infer<typeof ModelImportSchema>;

const ModelPathSchema = z
  .string({ error: 'The path must be text.' })
  .trim()
  .min(1, 'Name a folder.')
  .max(4096, 'That path is too long.')
  .refine((path) => !path.includes('\0'), 'A path cannot contain a NUL character.');

/** Files of a TF.js model sent from a browser: names relative to the model folder, contents base64. */
const UploadedModelFilesSchema = z
  .array(z.object({ name: z.string().min(1).max(255), base64: z.string() }).strict())
  .min(1, 'Choose model.json and its weight files.')
  .max(64, 'Choose at most 64 files (model.json and its weight files).');

// ─── photos: classify your own clothing photos ───────────────────────────────────────────────────

/** Most files (or folders) one `photos.classifyPaths` call takes. */
export const PHOTO_MAX_PATHS = 500;
/**
 * Most bytes one upload message carries (before base64): photos for `photos.classifyFiles` and
 * `myPhotos.addFiles`, model files for `models.importFiles`. The browser shell sizes its largest
 * WebSocket message from this (web/server.ts); the renderer sends larger photo selections in
 * several calls, and a single file over this in the browser is refused there.
 */
export const PHOTO_UPLOAD_MAX_BYTES = 40 * 1024 * 1024;

/** How a photo becomes a 28×28 input: Atelier's garment separation, or a plain grayscale resize (for comparison). */
export const PhotoPreprocessingSchema = z.enum(['atelier', 'naive']);
export type PhotoPreprocessing = z.infer<typeof PhotoPreprocessingSchema>;

const PhotoOptionsShape = {
  /** Classify with this run's model; absent: the active run (Models view). */
  runId: RunIdSchema.optional(),
  /** Include the original / separated / 28×28 pictures as PNG data URLs (default true; the CLI says false). */
  includeSteps: z.boolean().optional(),
  preprocessing: PhotoPreprocessingSchema.optional(),
  /** Echoed in `photos.progress` events so a UI can tell its own batch from another's. */
  requestId: z.string().max(64).optional(),
  /** Also compute each photo's "why" heatmap (`WhyMap`); costs one batched prediction per photo. */
  why: z.boolean().optional(),
};

const PhotoPathSchema = z
  .string({ error: 'Each path must be text.' })
  .min(1, 'A path cannot be empty.')
  .max(4096, 'That path is too long.')
  .refine((path) => !path.includes('\0'), 'A path cannot contain a NUL character.')
  .refine((path) => path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\'), 'Paths must be absolute.');

const UploadedPhotoSchema = z
  .object({
    name: z.string().min(1, 'Each file needs a name.').max(1024, 'That file name is too long.'),
    /** The file's bytes, base64. */
    base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'The file contents must be base64.'),
  })
  .strict();

/** Photos sent as bytes in one call: what the browser shell's WebSocket carries (see `PHOTO_UPLOAD_MAX_BYTES`). */
const UploadedPhotosSchema = z
  .array(UploadedPhotoSchema)
  .min(1, 'Choose at least one photo.')
  .max(PHOTO_MAX_PATHS, `Send at most ${PHOTO_MAX_PATHS} photos at a time.`)
  .refine(
    (files) => files.reduce((sum, file) => sum + Math.floor((file.base64.length * 3) / 4), 0) <= PHOTO_UPLOAD_MAX_BYTES,
    `Send at most ${PHOTO_UPLOAD_MAX_BYTES / 1024 / 1024} MB of photos per call; split the selection.`,
  );

export const PhotoStepsSchema = z.object({
  /** The decoded photo, upright, at most 256 px on its longest side. */
  original: z.string(),
  /** The garment as the model sees it (light on black), before cropping and scaling. */
  separated: z.string(),
  /** The model's 28×28 input. */
  input: z.string(),
});
export type PhotoSteps = z.infer<typeof PhotoStepsSchema>;

/** Occlusion sensitivity, in words a card can show (one line) and the CLI can print. */
export const WHY_METHOD = {
  patch: 4,
  stride: 2,
  summary: 'Each spot shows how much the top class’s probability drops when a 4×4 black patch hides it (slid in steps of 2 pixels, averaged where patches overlap).',
} as const;

/**
 * What raised the model's top class on one 28×28 input: occlusion sensitivity, computed by the
 * engine in one batch (the input, and a copy per patch position with that patch blacked out).
 */
export const WhyMapSchema = z.object({
  /** The class explained: the model's top class for the unoccluded input. */
  classIndex: z.number().int().min(0).max(9),
  /** Its probability on the unoccluded input. */
  probability: z.number(),
  /** 784 values, row-major: the mean drop of that probability over the patches covering the pixel (negative: hiding it helped the class). */
  map: z.array(z.number()).length(784),
  patch: z.number().int(),
  stride: z.number().int(),
});
export type WhyMap = z.infer<typeof WhyMapSchema>;

/**
 * Where the 28×28 input came from in the photo (see core/photos/framing.ts): the crop box on the
 * decoded photo (`steps.original`'s pixels) and the rectangle it was scaled into on the 28×28 canvas.
 */
export const PhotoFramingSchema = z.object({
  photo: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  crop: z.object({ x0: z.number().int(), y0: z.number().int(), x1: z.number().int(), y1: z.number().int() }),
  placed: z.object({ x: z.number().int(), y: z.number().int(), width: z.number().int().positive(), height: z.number().int().positive() }),
});
export type PhotoFraming = z.infer<typeof PhotoFramingSchema>;

export const PhotoResultSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    /** The file name as dropped (a path's last part). */
    name: z.string(),
    /** The full path when the photo came from disk; null for dropped bytes and paste. */
    path: z.string().nullable(),
    classIndex: z.number().int(),
    className: z.string(),
    confidence: z.number(),
    probabilities: z.array(z.number()),
    /** The model hesitates: see `NOT_SURE` in core/photos/service.ts for the rule. */
    notSure: z.boolean(),
    /** False when no garment stood out and the whole photo was used. */
    foundGarment: z.boolean(),
    /** What preprocessing decided, in words ("the whole photo was used…"). */
    notes: z.array(z.string()),
    steps: PhotoStepsSchema.nullable(),
    /** The crop and scale preprocessing applied; absent in results built without a photo (tests, older callers). */
    framing: PhotoFramingSchema.optional(),
    /** What raised the top class, when asked for (`why`); see `WhyMapSchema`. */
    why: WhyMapSchema.optional(),
    runId: z.string(),
  }),
  z.object({
    ok: z.literal(false),
    name: z.string(),
    path: z.string().nullable(),
    error: z.object({ kind: z.enum(ERROR_KINDS), message: z.string() }),
  }),
]);
export type PhotoResult = z.infer<typeof PhotoResultSchema>;

export const PhotoBatchSchema = z.object({
  /** The model that classified the photos. */
  run: z.object({
    id: z.string(),
    name: z.string(),
    preset: z.string(),
    testAccuracy: z.number().nullable(),
    /** Photos of My photos the model was trained or taught on (0: Fashion-MNIST only). */
    photoCount: z.number().int().nonnegative(),
    /** The run it was taught from, or null. */
    parentRunId: z.string().nullable(),
  }),
  preprocessing: PhotoPreprocessingSchema,
  /** Names of the ten classes, by index (for the probability chart). */
  classNames: z.array(z.string()),
  /** One per photo, in the order given (a folder's photos in name order, where the folder was). */
  results: z.array(PhotoResultSchema),
});
export type PhotoBatch = z.infer<typeof PhotoBatchSchema>;

// ─── my photos: a person's own labelled photos, for training ─────────────────────────────────────

/** A Fashion-MNIST class as it crosses the boundary: its index 0–9 into the class names. */
export const ClassLabelSchema = z
  .number({ error: 'The class must be a number 0–9.' })
  .int('The class must be a whole number 0–9.')
  .min(0, 'Classes are 0 to 9.')
  .max(9, 'Classes are 0 to 9.');

/** A photo's id as listed (12 hex digits), its full SHA-256, or a prefix of at least 6 hex digits. */
const MyPhotoIdSchema = z
  .string({ error: 'A photo id must be text.' })
  .trim()
  .toLowerCase()
  .regex(/^[0-9a-f]{6,64}$/, 'A photo id is the 12 hex digits shown in the list of photos.');

/** Most photo ids one `myPhotos.thumbnails` call takes (one page of the view). */
export const MY_PHOTOS_THUMBNAIL_PAGE = 60;

/**
 * One kept photo. Paths are given to the desktop app and the CLI only: they run on the machine
 * that holds the files and can open them. The browser shell may be on another machine, where a
 * server path opens nothing and tells only the server's folder layout (its user name); it gets
 * null and sees the photo through `myPhotos.thumbnails`.
 */
export const MyPhotoSchema = z.object({
  /** Short id: the first 12 hex digits of `sha256` (longer only when two photos share them). */
  id: z.string(),
  sha256: z.string(),
  label: ClassLabelSchema,
  className: z.string(),
  /** The file name it was added as. */
  name: z.string(),
  /** A file on the core's machine, or bytes a browser sent. */
  origin: z.enum(['file', 'upload']),
  /** How it came in: 'classify' (an answer marked Right or Wrong) or 'added' (added in My photos or the CLI). */
  note: z.string().nullable(),
  /** Where it was added from (null for uploads and in the browser shell). */
  sourcePath: z.string().nullable(),
  /** The kept copy of the original bytes (null in the browser shell). */
  file: z.string().nullable(),
  addedAt: z.string(),
  bytes: z.number().int(),
  format: z.string(),
  width: z.number().int(),
  height: z.number().int(),
});
export type MyPhoto = z.infer<typeof MyPhotoSchema>;

/** Something that could not be done for one photo, id or entry; the rest of the call went on. */
export const MyPhotoProblemSchema = z.object({
  /** The path or upload name, the id given, or the damaged entry's file. */
  name: z.string(),
  /** A damaged kept photo's id (the id that removes it); null otherwise. */
  id: z.string().nullable(),
  error: z.object({ kind: z.enum(ERROR_KINDS), message: z.string() }),
});
export type MyPhotoProblem = z.infer<typeof MyPhotoProblemSchema>;

export const MyPhotosListingSchema = z.object({
  /** Newest first. */
  photos: z.array(MyPhotoSchema),
  /** Photos per class, indexed like `classNames`. */
  counts: z.array(z.number().int()),
  classNames: z.array(z.string()),
  /** Damaged entries, each left out of `photos`. */
  problems: z.array(MyPhotoProblemSchema),
});
export type MyPhotosListing = z.infer<typeof MyPhotosListingSchema>;

export const MyPhotosAddedSchema = z.object({
  /** New photos, in the order given. */
  added: z.array(MyPhotoSchema),
  /** Photos that were kept already, with their label now (changed only with `relabelExisting`). */
  existing: z.array(MyPhotoSchema),
  /** Photos that could not be read or decoded, and paths that gave no photos; the rest were added. */
  problems: z.array(MyPhotoProblemSchema),
});
export type MyPhotosAdded = z.infer<typeof MyPhotosAddedSchema>;

const MyPhotosAddShape = {
  label: ClassLabelSchema,
  /** How the photos came in (see `MyPhoto.note`); 'added' when absent. */
  note: z.enum(['classify', 'added']).optional(),
  /**
   * A photo kept already takes `label` too (an answer marked on Classify is the person's latest
   * word on that photo). Without it a kept photo keeps its label and is reported in `existing`.
   */
  relabelExisting: z.boolean().optional(),
};

export const MyPhotoThumbnailSchema = z.object({
  id: z.string(),
  sha256: z.string(),
  /** A JPEG data URL, at most `size` pixels on its longest side. */
  dataUrl: z.string(),
});
export type MyPhotoThumbnail = z.infer<typeof MyPhotoThumbnailSchema>;

/** What changed in My photos: every window reloads its list. */
export const MyPhotosChangedSchema = z.object({
  change: z.enum(['added', 'relabelled', 'removed']),
  /** Ids of the photos concerned. */
  ids: z.array(z.string()),
});
export type MyPhotosChanged = z.infer<typeof MyPhotosChangedSchema>;

export const PhotoProgressSchema = z.object({
  requestId: z.string().nullable(),
  /** Photos decoded and preprocessed so far, of `total`; prediction follows in one step. */
  done: z.number().int(),
  total: z.number().int(),
  phase: z.enum(['preparing', 'predicting', 'done']),
});
export type PhotoProgress = z.infer<typeof PhotoProgressSchema>;

// ─── calls ────────────────────────────────────────────────────────────────────────────────────────

const NoInput = z.object({}).strict();

/** Channel → input schema → output schema. */
export const calls = {
  'system.info': { input: NoInput, output: SystemInfoSchema },
  'training.presets': { input: NoInput, output: z.array(PresetSchema) },
  'training.start': { input: TrainingConfigSchema, output: z.object({ runId: z.string() }) },
  /**
   * Teach a finished run's model with My photos: a new run that starts from its saved weights and trains
   * `epochs` more (default 1) on Fashion-MNIST mixed with the photos at `share` (default 0.1), with the
   * parent's other settings. Answers once it runs, like `training.start`.
   */
  'training.teach': {
    input: z
      .object({
        runId: RunIdSchema,
        epochs: z.number({ error: 'Epochs must be a number.' }).int('Epochs must be a whole number.').min(1, 'Epochs must be at least 1.').max(20, 'Teach for at most 20 epochs; train a new model for more.').optional(),
        share: PhotoShareSchema.optional(),
      })
      .strict(),
    output: z.object({ runId: z.string() }),
  },
  /**
   * Go on training a run from its last checkpoint, in the same run: a stopped, failed or interrupted
   * run trains the rest of its epochs (or `epochs` more), a finished one `epochs` more ("Train more").
   * `fromEpoch` resumes from an older checkpoint (when the newest is damaged); the run's later
   * epochs are then dropped. Answers once it runs, like `training.start`.
   */
  'training.resume': {
    input: z
      .object({
        runId: RunIdSchema,
        epochs: z.number({ error: 'Epochs must be a number.' }).int('Epochs must be a whole number.').min(1, 'Train at least 1 more epoch.').max(200, 'Train at most 200 more epochs at a time.').optional(),
        fromEpoch: z.number({ error: 'The checkpoint epoch must be a number.' }).int('The checkpoint epoch must be a whole number.').min(1, 'Checkpoints start at epoch 1.').optional(),
      })
      .strict(),
    output: z.object({ runId: z.string() }),
  },
  /** A run's checkpoints, each checked (sizes and SHA-256 of its files). */
  'training.checkpoints': { input: z.object({ runId: RunIdSchema }).strict(), output: RunCheckpointsSchema },
  /** Sweep the learning rate on a copy of a new model with these settings (nothing is saved); refused while a training runs. */
  'training.findLearningRate': {
    input: z
      .object({
        config: TrainingConfigSchema,
        batches: z.number().int('Batches must be a whole number.').min(20, 'Sweep at least 20 batches.').max(1000, 'Sweep at most 1,000 batches.').optional(),
      })
      .strict(),
    output: LearningRateSweepSchema,
  },
  'training.stop': { input: NoInput, output: z.object({ stopping: z.boolean() }) },
  'training.state': { input: NoInput, output: TrainingStateSchema },
  'runs.list': { input: NoInput, output: z.array(RunSummarySchema) },
  'runs.get': { input: z.object({ runId: RunIdSchema }).strict(), output: RunDetailSchema },
  'runs.delete': { input: z.object({ runId: RunIdSchema }).strict(), output: z.object({ deleted: z.boolean() }) },
  'runs.setActive': { input: z.object({ runId: RunIdSchema }).strict(), output: z.object({ activeRunId: z.string() }) },
  'evaluation.get': { input: z.object({ runId: RunIdSchema, recompute: z.boolean().optional() }).strict(), output: EvaluationSchema },
  'evaluation.samples': {
    input: z
      .object({
        runId: RunIdSchema,
        offset: z.number().int().min(0),
        count: z.number().int().min(1).max(200),
        filter: SampleFilterSchema.optional(),
        /** 'index' (default): test-set order. 'loss': highest loss (−log p(true class)) first, ties by index — the worst mistakes. */
        sort: SampleOrderSchema.optional(),
      })
      .strict(),
    output: EvaluationSamplesSchema,
  },
  // dataset
  'dataset.summary': { input: NoInput, output: DatasetSummarySchema },
  'dataset.page': {
    input: z
      .object({
        split: SplitNameSchema,
        /** Only images of this class; null or absent for all. */
        classFilter: z.number().int().min(0, 'Classes are 0 to 9.').max(9, 'Classes are 0 to 9.').nullable().optional(),
        offset: z.number().int('The offset must be a whole number.').min(0, 'The offset cannot be negative.'),
        count: z.number().int('The count must be a whole number.').min(1, 'Ask for at least 1 image.').max(DATASET_MAX_PAGE, `Ask for at most ${DATASET_MAX_PAGE} images at a time.`),
      })
      .strict(),
    output: DatasetPageSchema,
  },
  'dataset.image': {
    input: z.object({ split: SplitNameSchema, index: z.number().int('The index must be a whole number.').min(0, 'The index cannot be negative.') }).strict(),
    output: DatasetImageSchema,
  },
  'dataset.sources': { input: NoInput, output: DatasetSourcesSchema },
  /** Use this folder first from now on (remembered); null forgets the choice. */
  'dataset.chooseFolder': { input: z.object({ path: DatasetPathSchema.nullable() }).strict(), output: DatasetSourcesSchema },
  /** The Electron shell's folder dialog; other shells answer `unsupported` (the UI shows a path field). */
  'dataset.pickFolder': { input: NoInput, output: z.object({ path: z.string().nullable() }) },
  /**
   * Start downloading into the cache (or join the running download) and answer at once with
   * `download.state` 'running'; reports arrive as `dataset.progress`, the end as `dataset.changed`.
   */
  'dataset.download': {
    input: z.object({ mirror: z.url({ protocol: /^https?$/, error: 'The mirror must be an http(s) URL.' }).optional() }).strict(),
    output: DatasetSourcesSchema,
  },
  'dataset.cancelDownload': { input: NoInput, output: z.object({ cancelled: z.boolean() }) },
  // models: export and import
  /** Write a finished run's model into the folder `path` (never over an existing one without `force`). */
  'models.export': {
    input: z.object({ runId: RunIdSchema, format: ExportFormatSchema, path: ModelPathSchema, force: z.boolean().optional() }).strict(),
    output: ModelExportSchema,
  },
  /** The same export as a .zip in the answer (the browser shell downloads it). */
  'models.archive': { input: z.object({ runId: RunIdSchema, format: ExportFormatSchema }).strict(), output: ModelArchiveSchema },
  /** The Electron shell's save dialog for an export folder; other shells answer `unsupported`. */
  'models.pickExportPath': { input: z.object({ runId: RunIdSchema, format: ExportFormatSchema }).strict(), output: z.object({ path: z.string().nullable() }) },
  /** Import a TF.js layers model folder (or its model.json) as a new run, evaluated on the test set. */
  'models.import': { input: z.object({ path: ModelPathSchema }).strict(), output: ModelImportSchema },
  /** Import from files the browser sent (model.json and its weights). */
  'models.importFiles': { input: z.object({ files: UploadedModelFilesSchema }).strict(), output: ModelImportSchema },
  /** The Electron shell's folder dialog for an import; other shells answer `unsupported`. */
  'models.pickImportFolder': { input: NoInput, output: z.object({ path: z.string().nullable() }) },
  // photos
  /** Classify photo files and folders on disk (Electron drop and Open…, the CLI); folders give their photos. */
  'photos.classifyPaths': {
    input: z
      .object({
        paths: z.array(PhotoPathSchema).min(1, 'Choose at least one photo.').max(PHOTO_MAX_PATHS, `Choose at most ${PHOTO_MAX_PATHS} photos or folders at a time.`),
        ...PhotoOptionsShape,
      })
      .strict(),
    output: PhotoBatchSchema,
  },
  /** Classify photos sent as bytes (browser drop, paste); at most `PHOTO_UPLOAD_MAX_BYTES` per call. */
  'photos.classifyFiles': {
    input: z
      .object({
        files: UploadedPhotosSchema,
        ...PhotoOptionsShape,
      })
      .strict(),
    output: PhotoBatchSchema,
  },
  /**
   * Why the model answered as it did on one 28×28 input (a photo's, or a test image's): the
   * occlusion heatmap of its top class. `runId` absent: the active run.
   */
  'photos.why': {
    input: z
      .object({
        runId: RunIdSchema.optional(),
        pixels: z
          .array(z.number().int('Pixels are whole numbers 0–255.').min(0, 'Pixels are 0–255.').max(255, 'Pixels are 0–255.'))
          .length(784, 'Send the 784 pixels of one 28×28 image.'),
      })
      .strict(),
    output: WhyMapSchema.extend({ runId: z.string() }),
  },
  /** The Electron shell's open dialog for photos; other shells answer `unsupported` (the browser uses a file input). */
  'photos.pickFiles': { input: NoInput, output: z.object({ paths: z.array(z.string()) }) },
  // my photos
  /** Every kept photo (newest first), photos per class, and damaged entries. */
  'myPhotos.list': { input: NoInput, output: MyPhotosListingSchema },
  /** Keep photo files and folders on disk with one label (the desktop app and the CLI); folders give their photos. */
  'myPhotos.add': {
    input: z
      .object({
        paths: z.array(PhotoPathSchema).min(1, 'Choose at least one photo.').max(PHOTO_MAX_PATHS, `Choose at most ${PHOTO_MAX_PATHS} photos or folders at a time.`),
        ...MyPhotosAddShape,
      })
      .strict(),
    output: MyPhotosAddedSchema,
  },
  /** Keep photos sent as bytes (the browser) with one label; at most `PHOTO_UPLOAD_MAX_BYTES` per call, like `photos.classifyFiles`. */
  'myPhotos.addFiles': {
    input: z.object({ files: UploadedPhotosSchema, ...MyPhotosAddShape }).strict(),
    output: MyPhotosAddedSchema,
  },
  'myPhotos.relabel': { input: z.object({ id: MyPhotoIdSchema, label: ClassLabelSchema }).strict(), output: MyPhotoSchema },
  /** Remove photos (damaged ones too, by the id their problem names); unknown ids are reported, the rest removed. */
  'myPhotos.remove': {
    input: z
      .object({ ids: z.array(MyPhotoIdSchema).min(1, 'Name at least one photo.').max(PHOTO_MAX_PATHS, `Remove at most ${PHOTO_MAX_PATHS} photos at a time.`) })
      .strict(),
    output: z.object({ removed: z.array(z.string()), problems: z.array(MyPhotoProblemSchema) }),
  },
  /** Small pictures of kept photos, for one page of a list; photos that cannot be shown are reported. */
  'myPhotos.thumbnails': {
    input: z
      .object({
        ids: z.array(MyPhotoIdSchema).min(1, 'Name at least one photo.').max(MY_PHOTOS_THUMBNAIL_PAGE, `Ask for at most ${MY_PHOTOS_THUMBNAIL_PAGE} thumbnails at a time.`),
        /** Longest side in pixels (default 96). */
        size: z.number().int('The size must be a whole number.').min(16, 'Thumbnails are at least 16 pixels.').max(256, 'Thumbnails are at most 256 pixels.').optional(),
      })
      .strict(),
    output: z.object({ thumbnails: z.array(MyPhotoThumbnailSchema), problems: z.array(MyPhotoProblemSchema) }),
  },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallInput<C extends CallName> = z.input<Calls[C]['input']>;
export type CallOutput<C extends CallName> = z.output<Calls[C]['output']>;
export const CALL_NAMES = Object.keys(calls) as CallName[];

// ─── events ───────────────────────────────────────────────────────────────────────────────────────

/** Event name → payload schema. Events flow from the core to every connected UI. */
export const events = {
  'engine.status': EngineInfoSchema,
  'training.batch': BatchProgressSchema,
  'training.epoch': EpochMetricsSchema.extend({ runId: z.string(), epochs: z.number().int() }),
  'training.state': TrainingStateSchema,
  'training.finished': RunFinishedSchema,
  'runs.changed': z.object({ runId: z.string().nullable() }),
  'dataset.progress': DownloadProgressSchema,
  /** The sources changed (a folder was chosen, a download ended): reload what is shown. */
  'dataset.changed': DatasetSourcesSchema,
  /** A photo batch moves on (several a second at most). */
  'photos.progress': PhotoProgressSchema,
  /** Photos were added to My photos, relabelled or removed (by any window or the CLI's own process). */
  'myPhotos.changed': MyPhotosChangedSchema,
} as const satisfies Record<string, z.ZodType>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;
export const EVENT_NAMES = Object.keys(events) as EventName[];

// ─── results ──────────────────────────────────────────────────────────────────────────────────────

/** What crosses a boundary for a call: never a thrown exception. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

// ─── the verb-shaped API (preload, browser client) ──────────────────────────────────────────────

type NamespaceOf<C extends string> = C extends `${infer N}.${string}` ? N : never;
type VerbOf<C extends string, N extends string> = C extends `${N}.${infer V}` ? V : never;
export type Namespace = NamespaceOf<CallName>;

/** Verbs that resolve to a `CallResult` (what the preload and the WebSocket client expose). */
export type AtelierBridge = {
  [N in Namespace]: {
    [V in VerbOf<CallName, N>]: `${N}.${V}` extends infer C extends CallName
      ? (input: CallInput<C>) => Promise<CallResult<CallOutput<C>>>
      : never;
  };
} & {
  /** Subscribe to an event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

/** Build the verb-shaped bridge from a transport's `invoke` and `subscribe`; one shape for every shell. */
export function buildBridge(
  invoke: (channel: CallName, input: unknown) => Promise<CallResult<unknown>>,
  subscribe: (event: EventName, listener: (payload: unknown) => void) => () => void,
): AtelierBridge {
  const bridge: Record<string, Record<string, (input: unknown) => Promise<CallResult<unknown>>>> = {};
  for (const channel of CALL_NAMES) {
    const [namespace, verb] = channel.split('.') as [string, string];
    bridge[namespace] ??= {};
    bridge[namespace][verb] = (input: unknown) => invoke(channel, input ?? {});
  }
  return Object.assign(bridge, {
    on: (event: EventName, listener: (payload: unknown) => void) => {
      if (!EVENT_NAMES.includes(event)) throw new Error(`Unknown event: ${String(event)}`);
      return subscribe(event, listener);
    },
  }) as unknown as AtelierBridge;
}
