/**
 * The TF.js layers format as others load it: `model.json` naming one `weights.bin`, loadable by
 * `tf.loadLayersModel` in plain @tensorflow/tfjs (browser: an http URL; Node: `tf.io.fromMemory`
 * or a file handler). The run's own folder may name its weights after the epoch; the export
 * always uses the conventional name.
 */
import { join } from 'node:path';
import { readModelArtifacts } from '../engine/model-io';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic';

export const TFJS_MODEL_FILE = 'model.json';
export const TFJS_WEIGHTS_FILE = 'weights.bin';

/**
 * Write the model in `modelDir` into `targetDir`: the weights first, then (after `afterWeights`)
 * model.json, which is what makes the folder a model.
 */
export async function writeTfjsModel(modelDir: string, targetDir: string, producer: string, afterWeights: () => Promise<void> | void): Promise<void> {
  const artifacts = await readModelArtifacts(modelDir);
  const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
  await writeFileAtomic(join(targetDir, TFJS_WEIGHTS_FILE), weights);
  await afterWeights();
  await writeJsonAtomic(join(targetDir, TFJS_MODEL_FILE), {
    format: 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: producer,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
  });
}
