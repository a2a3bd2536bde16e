/**
 * ONNX (opset 13): one model.onnx with the weights inside, for ONNX Runtime and the many tools
 * that read ONNX. Re-checked by Atelier's float64 reference evaluator reading the written bytes.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASS_NAMES } from '../../fashion-mnist';
import { writeFileAtomic } from '../../fs-atomic';
import { ONNX_CHECK_SCRIPT } from '../external-checks';
import { onnxBundleCheck } from '../bundle';
import { describeSignature } from '../metadata';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, toOnnx } from '../onnx/convert';
import { decodeOnnx, encodeOnnx } from '../onnx/model';
import { runOnnxReference } from '../onnx/reference';
import { ONNX_IR_VERSION, ONNX_OPSET } from '../onnx/schema';
import { probeImages } from '../probe';
import type { ExportFormatModule } from './types';

export const ONNX_MODEL_FILE = 'model.onnx';

export const onnxFormat: ExportFormatModule = {
  format: 'onnx',
  label: 'ONNX',
  files: { model: ONNX_MODEL_FILE, weights: [] },
  needsWeights: true,
  // float32 rounding differs from the float64 reference; the meaning must not.
  tolerance: { largestDifference: 1e-4, sameTopClass: 1 },
  probe: async () => probeImages(),
  signature: (description) =>
    describeSignature({
      inputShape: description.inputShapes[0]!,
      outputShape: description.outputShapes[0]!,
      inputName: ONNX_INPUT_NAME,
      outputName: ONNX_OUTPUT_NAME,
      dtype: 'float32',
      inputQuantization: null,
      outputQuantization: null,
    }),
  metadataExtras: () => ({ onnx: { opset: ONNX_OPSET, irVersion: ONNX_IR_VERSION }, tflite: null }),
  async write(job) {
    const { run, atelierVersion } = job;
    const model = toOnnx(job.description, {
      producerVersion: atelierVersion,
      description: `Fashion-MNIST clothing classifier exported by Atelier ${atelierVersion} from run "${run.name}" (${run.preset}).`,
      inputDescription: '28×28 grayscale images as float32 in [0, 1] (pixel / 255): a light garment on a black background.',
      outputDescription: `Softmax probabilities for the 10 classes, in this order: ${CLASS_NAMES.join(', ')}.`,
      metadata: {
        classes: JSON.stringify(CLASS_NAMES),
        input_scaling: 'pixel / 255 (0 = black background, 1 = brightest garment pixel)',
        atelier_version: atelierVersion,
        atelier_run: run.id,
        atelier_preset: run.preset,
      },
    });
    await writeFileAtomic(join(job.dir, ONNX_MODEL_FILE), encodeOnnx(model));
    await job.afterWeights();
  },
  async reproduce(job) {
    const written = decodeOnnx(await readFile(join(job.dir, ONNX_MODEL_FILE)));
    return runOnnxReference(written, job.probe).data;
  },
  bundleCheck: onnxBundleCheck(1e-4),
  secondRuntime: { name: 'onnx.checker (python3-onnx)', script: ONNX_CHECK_SCRIPT },
};
