/**
 * What one export format is, in one place: the files it writes, how it writes them from the
 * engine's model description, which images it is re-checked on and with what tolerance, and how
 * a second runtime can check it. `export.ts` drives every format through this interface only, so
 * adding a format is one module plus its entry in the contract's ExportFormat enum (the table in
 * `index.ts` is a Record over that enum, so a missing module is a compile error).
 */
import type { ExportFormat } from '../../../contract';
import type { EngineClient } from '../../engine/client';
import type { ModelDescription } from '../../engine/protocol';
import type { RunRecord } from '../../runs/store';
import type { BundleCheck } from '../bundle';
import type { ModelMetadata } from '../metadata';

/** Where a format finds Fashion-MNIST images it needs beyond the model (int8 calibration). */
export interface ExportImageSource {
  /** `count` training images picked with `seed`, as 28×28 bytes one after another. */
  trainingImages(count: number, seed: number): Promise<Uint8Array>;
}

export interface WriteJob {
  run: RunRecord;
  /** With weights when the format's `needsWeights` is true. */
  description: ModelDescription;
  /** The run's own model folder (TF.js layers format). */
  modelDir: string;
  /** The temporary export folder being filled. */
  dir: string;
  atelierVersion: string;
  images: ExportImageSource;
  /** Call once the weights are on disk and before the file that makes the folder a model (tests inject failures here). */
  afterWeights: () => Promise<void> | void;
}

export interface CheckJob {
  /** The temporary export folder, written and holding atelier-model.json. */
  dir: string;
  /** The probe images (28×28 values in [0, 1], one after another). */
  probe: Float32Array;
  engine: Pick<EngineClient, 'request'>;
}

/** How close the written model must come to the run's own probabilities on the probe images. */
export interface CheckTolerance {
  /** The largest allowed absolute difference of one class probability. */
  largestDifference: number;
  /** The smallest allowed share of probe images with the same most likely class (1 = all). */
  sameTopClass: number;
}

export interface ExportFormatModule {
  readonly format: ExportFormat;
  /** As people read it: "TF.js", "TFLite int8". */
  readonly label: string;
  /** The model file and the other files it needs; with atelier-model.json, all an export of this format holds. */
  readonly files: ModelMetadata['files'];
  /** Whether `write` needs the layers' weights in the description (costly to move from the engine). */
  readonly needsWeights: boolean;
  readonly tolerance: CheckTolerance;
  /** The images the written file is re-checked on. */
  probe(images: ExportImageSource): Promise<Float32Array>;
  /** The input and output as the written file has them (names, shapes, types, quantization). */
  signature(description: ModelDescription): Pick<ModelMetadata, 'input' | 'output'>;
  /** Format-specific facts for atelier-model.json (ONNX opset, TFLite schema version). */
  metadataExtras(): Pick<ModelMetadata, 'onnx' | 'tflite'>;
  /** Write the model's files into `job.dir`. */
  write(job: WriteJob): Promise<void>;
  /** Re-read the written files with something other than the engine's copy of the run, and return their probabilities on the probe. */
  reproduce(job: CheckJob): Promise<Float32Array>;
  /** The check script shipped in every export of this format (see bundle/), with its tolerance. */
  readonly bundleCheck: BundleCheck;
  /** A runtime independent of Atelier that can check the written file, and the script that drives it (for a bundle), or null. */
  readonly secondRuntime: { name: string; script: string } | null;
}
