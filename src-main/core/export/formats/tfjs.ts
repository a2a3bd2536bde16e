/**
 * TF.js layers format: model.json naming one weights.bin, loadable by `tf.loadLayersModel` in
 * plain @tensorflow/tfjs. The files are the run's own, so the copy must reproduce the run exactly;
 * it is re-checked by loading the written folder in the engine.
 */
import { tfjsBundleCheck } from '../bundle';
import { describeSignature } from '../metadata';
import { probeImages } from '../probe';
import { TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE, writeTfjsModel } from '../tfjs';
import type { ExportFormatModule } from './types';

export const tfjsFormat: ExportFormatModule = {
  format: 'tfjs',
  label: 'TF.js',
  files: { model: TFJS_MODEL_FILE, weights: [TFJS_WEIGHTS_FILE] },
  needsWeights: false,
  // Same engine, same weights: any difference is a broken copy.
  tolerance: { largestDifference: 1e-6, sameTopClass: 1 },
  probe: async () => probeImages(),
  signature: (description) =>
    describeSignature({
      inputShape: description.inputShapes[0]!,
      outputShape: description.outputShapes[0]!,
      inputName: null,
      outputName: null,
      dtype: 'float32',
      inputQuantization: null,
      outputQuantization: null,
    }),
  metadataExtras: () => ({ onnx: null, tflite: null }),
  write: (job) => writeTfjsModel(job.modelDir, job.dir, `Atelier ${job.atelierVersion}`, job.afterWeights),
  reproduce: async (job) => (await job.engine.request('inspect', { modelDir: job.dir, includeWeights: false, probe: job.probe })).probabilities!,
  // Plain tfjs on its cpu backend against the engine's wasm: float32 summation order differs a little.
  bundleCheck: tfjsBundleCheck(1e-5),
  // Plain @tensorflow/tfjs in Node is the second runtime: the bundle's check.mjs drives it.
  secondRuntime: null,
};
