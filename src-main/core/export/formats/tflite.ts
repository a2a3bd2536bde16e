/**
 * TFLite, float32: one model.tflite for TensorFlow Lite (LiteRT) on phones and boards, Arm NN
 * and the other runtimes that read the format. Batch 1, input [1, 28, 28] or [1, 28, 28, 1].
 * Re-checked by Atelier's float64 reference evaluator reading the written bytes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASS_NAMES } from '../../fashion-mnist';
import type { ModelDescription } from '../../engine/protocol';
import type { RunRecord } from '../../runs/store';
import { writeFileAtomic } from '../../fs-atomic';
import { ARMNN_CHECK_SCRIPT } from '../external-checks';
import { tfliteBundleCheck } from '../bundle';
import { describeSignature } from '../metadata';
import { probeImages } from '../probe';
import { TFLITE_INPUT_NAME, TFLITE_OUTPUT_NAME, toTflite } from '../tflite/convert';
import { runTfliteReference } from '../tflite/reference';
import { decodeTflite, encodeTflite, TFLITE_SCHEMA_VERSION, type TfliteModel } from '../tflite/schema';
import type { ExportFormatModule } from './types';

export const TFLITE_MODEL_FILE = 'model.tflite';

/** The description stored in the file (Model.description), for model viewers such as Netron. */
export function tfliteDescription(run: RunRecord, atelierVersion: string, kind: string): string {
  return `Fashion-MNIST clothing classifier (${kind}) exported by Atelier ${atelierVersion} from run "${run.name}" (${run.preset}). Classes in output order: ${CLASS_NAMES.join(', ')}.`;
}

/**
 * The written file's input and output for the metadata: batch-1 shapes (from the model's shapes
 * with a free batch) and, for int8, the quantization of each end.
 */
export function tfliteSignature(description: ModelDescription, quantization: { input: { scale: number; zeroPoint: number }; output: { scale: number; zeroPoint: number } } | null): ReturnType<typeof describeSignature> {
  return describeSignature({
    inputShape: [1, ...(description.inputShapes[0]!.slice(1) as number[])],
    outputShape: [1, ...(description.outputShapes[0]!.slice(1) as number[])],
    inputName: TFLITE_INPUT_NAME,
    outputName: TFLITE_OUTPUT_NAME,
    dtype: quantization ? 'int8' : 'float32',
    inputQuantization: quantization ? { ...quantization.input } : null,
    outputQuantization: quantization ? quantization.output : null,
  });
}

export async function readTflite(dir: string): Promise<TfliteModel> {
  return decodeTflite(await readFile(join(dir, TFLITE_MODEL_FILE)));
}

export const tfliteFormat: ExportFormatModule = {
  format: 'tflite',
  label: 'TFLite',
  files: { model: TFLITE_MODEL_FILE, weights: [] },
  needsWeights: true,
  tolerance: { largestDifference: 1e-4, sameTopClass: 1 },
  probe: async () => probeImages(),
  signature: (description) => tfliteSignature(description, null),
  metadataExtras: () => ({ onnx: null, tflite: { schemaVersion: TFLITE_SCHEMA_VERSION, quantization: 'none' } }),
  async write(job) {
    const model = toTflite(job.description, tfliteDescription(job.run, job.atelierVersion, 'float32'));
    await writeFileAtomic(join(job.dir, TFLITE_MODEL_FILE), encodeTflite(model));
    await job.afterWeights();
  },
  async reproduce(job) {
    return Float32Array.from(runTfliteReference(await readTflite(job.dir), job.probe).output);
  },
  bundleCheck: tfliteBundleCheck(1e-4),
  secondRuntime: { name: 'Arm NN (python3-pyarmnn)', script: ARMNN_CHECK_SCRIPT },
};
