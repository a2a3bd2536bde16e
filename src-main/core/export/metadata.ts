/**
 * `atelier-model.json`: what someone needs to use an exported model correctly — the class names
 * in output order, the input's shape and scaling, how Atelier turns a photo into an input, and
 * where the model came from (run, config, metrics, Atelier's version).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EpochMetricsSchema, ExportFormatSchema, TrainingConfigSchema, type Evaluation, type EpochMetrics, type ExportFormat } from '../../contract';
import { CLASS_NAMES } from '../fashion-mnist';
import type { RunRecord } from '../runs/store';
import { PREPROCESSING_DESCRIPTION } from '../photos/preprocess';

export const METADATA_FILE = 'atelier-model.json';

const ShapeSchema = z.array(z.number().int().nullable());
const QuantizationSchema = z.object({ scale: z.number(), zeroPoint: z.number().int() });
export type TensorQuantization = z.infer<typeof QuantizationSchema>;

export const ModelMetadataSchema = z.object({
  kind: z.literal('atelier-model'),
  metadataVersion: z.literal(1),
  atelierVersion: z.string(),
  exportedAt: z.string(),
  format: ExportFormatSchema,
  /** The model file and the other files it needs, relative to the export folder. */
  files: z.object({ model: z.string(), weights: z.array(z.string()) }),
  /** Class names in the order of the output's scores. */
  classes: z.array(z.string()),
  input: z.object({
    /** The graph input's name (ONNX, TFLite); null for TF.js, whose models take a tensor positionally. */
    name: z.string().nullable(),
    /** With the batch dimension first (null = any). */
    shape: ShapeSchema,
    dtype: z.enum(['float32', 'int8']),
    layout: z.string(),
    scaling: z.string(),
    /** The range of the real values (before quantization). */
    range: z.tuple([z.number(), z.number()]),
    /** int8 files: real = scale × (q − zeroPoint). Absent in exports before TFLite. */
    quantization: QuantizationSchema.nullable().optional(),
  }),
  output: z.object({
    name: z.string().nullable(),
    shape: ShapeSchema,
    meaning: z.string(),
    dtype: z.enum(['float32', 'int8']).optional(),
    quantization: QuantizationSchema.nullable().optional(),
  }),
  photoPreprocessing: z.object({ summary: z.string(), steps: z.array(z.string()) }),
  run: z.object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    origin: z.enum(['trained', 'imported']),
    preset: z.string(),
    backend: z.string().nullable(),
    status: z.string(),
    epochsCompleted: z.number().int(),
    durationSeconds: z.number(),
  }),
  config: TrainingConfigSchema.nullable(),
  metrics: z.object({
    epochs: z.array(EpochMetricsSchema),
    test: z.object({ accuracy: z.number(), loss: z.number(), count: z.number().int(), evaluatedAt: z.string() }).nullable(),
  }),
  onnx: z.object({ opset: z.number().int(), irVersion: z.number().int() }).nullable(),
  /** TFLite exports: the schema version and whether the model computes in int8. Absent before TFLite. */
  tflite: z.object({ schemaVersion: z.number().int(), quantization: z.enum(['none', 'int8']) }).nullable().optional(),
});
export type ModelMetadata = z.infer<typeof ModelMetadataSchema>;

/** How Atelier's Classify view turns a photo into a model input: the pipeline's own description. */
export const PHOTO_PREPROCESSING: ModelMetadata['photoPreprocessing'] = {
  summary: PREPROCESSING_DESCRIPTION.summary,
  steps: [...PREPROCESSING_DESCRIPTION.steps],
};

export interface MetadataSources {
  format: ExportFormat;
  files: ModelMetadata['files'];
  /** The input and output as the written file has them (see `describeSignature`). */
  signature: Pick<ModelMetadata, 'input' | 'output'>;
  extras: Pick<ModelMetadata, 'onnx' | 'tflite'>;
  run: RunRecord;
  metrics: EpochMetrics[];
  evaluation: Evaluation | null;
  atelierVersion: string;
  now?: Date;
}

const PIXEL_SCALING = 'pixel / 255: Fashion-MNIST bytes (0 = black background, 255 = brightest garment pixel) divided by 255';

/** A model's input and output as atelier-model.json describes them. */
export function describeSignature(options: {
  inputShape: (number | null)[];
  outputShape: (number | null)[];
  inputName: string | null;
  outputName: string | null;
  dtype: 'float32' | 'int8';
  inputQuantization: TensorQuantization | null;
  outputQuantization: TensorQuantization | null;
}): Pick<ModelMetadata, 'input' | 'output'> {
  const channelsLast = options.inputShape.length === 4;
  const q = options.inputQuantization;
  return {
    input: {
      name: options.inputName,
      shape: options.inputShape,
      dtype: options.dtype,
      layout: channelsLast ? 'NHWC: batch, height 28, width 28, one gray channel' : 'NHW: batch, height 28, width 28 (gray)',
      scaling: q ? `${PIXEL_SCALING}, then quantized: q = round(value / ${q.scale}) + ${q.zeroPoint} (for a byte p: q = p − 128)` : PIXEL_SCALING,
      range: [0, 1],
      quantization: q,
    },
    output: {
      name: options.outputName,
      shape: options.outputShape,
      meaning: options.outputQuantization
        ? `Softmax probabilities, one per class, in the order of "classes", as int8: probability = ${options.outputQuantization.scale} × (q − ${options.outputQuantization.zeroPoint}).`
        : 'Softmax probabilities, one per class, in the order of "classes"; they sum to 1.',
      dtype: options.dtype,
      quantization: options.outputQuantization,
    },
  };
}

/** The metadata for one export. */
export function buildMetadata(sources: MetadataSources): ModelMetadata {
  const { run, evaluation } = sources;
  return {
    kind: 'atelier-model',
    metadataVersion: 1,
    atelierVersion: sources.atelierVersion,
    exportedAt: (sources.now ?? new Date()).toISOString(),
    format: sources.format,
    files: sources.files,
    classes: [...CLASS_NAMES],
    ...sources.signature,
    photoPreprocessing: PHOTO_PREPROCESSING,
    run: {
      id: run.id,
      name: run.name,
      createdAt: run.createdAt,
      origin: run.origin,
      preset: run.preset,
      backend: run.backend,
      status: run.status,
      epochsCompleted: run.epochsCompleted,
      durationSeconds: run.durationSeconds,
    },
    config: run.config,
    metrics: {
      epochs: sources.metrics,
      test: evaluation ? { accuracy: evaluation.accuracy, loss: evaluation.loss, count: evaluation.testCount, evaluatedAt: evaluation.evaluatedAt } : null,
    },
    ...sources.extras,
  };
}

/** The metadata in an export folder, or null when there is none or it is not Atelier's. */
export async function readMetadata(dir: string): Promise<ModelMetadata | null> {
  try {
    const parsed = ModelMetadataSchema.safeParse(JSON.parse(await readFile(join(dir, METADATA_FILE), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
