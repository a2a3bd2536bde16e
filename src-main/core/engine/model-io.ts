/**
 * Models on disk in the TF.js layers format (`model.json` + a weights file), loadable by
 * `tf.loadLayersModel` anywhere. Saving is crash-safe: the weights go to a new file first and
 * `model.json`, written atomically last, is the commit point; an older weights file is removed
 * only after that.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfType from '@tensorflow/tfjs';
import { AtelierError } from '../errors';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic';

type Tf = typeof tfType;

export const MODEL_JSON = 'model.json';

interface ModelJson {
  modelTopology: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tfType.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
}

/** Save `model` into `dir` (created if needed), replacing what was there only once complete. */
export async function saveModel(tf: Tf, model: tfType.LayersModel, dir: string, tag: string): Promise<void> {
  const weightsName = `weights-${tag}.bin`;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : new ArrayBuffer(0);
      await writeFileAtomic(join(dir, weightsName), new Uint8Array(weightData));
      const json: ModelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        weightsManifest: [{ paths: [`./${weightsName}`], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeJsonAtomic(join(dir, MODEL_JSON), json);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  // Older weights files are no longer referenced by model.json.
  for (const entry of await readdir(dir)) {
    if (entry.startsWith('weights-') && entry.endsWith('.bin') && entry !== weightsName) await rm(join(dir, entry), { force: true });
  }
}

/** Read a layers-format model folder into artifacts (without building the model). */
export async function readModelArtifacts(dir: string): Promise<tfType.io.ModelArtifacts> {
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(join(dir, MODEL_JSON), 'utf8')) as ModelJson;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw new AtelierError('no-model', `No model in ${dir}: ${MODEL_JSON} is missing. Train the run again or choose another one.`);
    throw new AtelierError('run-corrupt', `${join(dir, MODEL_JSON)} is not valid JSON (${(error as Error).message}). Delete the run or import the model again.`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new AtelierError('run-corrupt', `${join(dir, MODEL_JSON)} is not a TF.js layers model (no modelTopology or weightsManifest).`);
  }
  const weightSpecs: tfType.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) {
      const file = join(dir, path);
      if (!file.startsWith(dir)) throw new AtelierError('run-corrupt', `${MODEL_JSON} points outside its folder (${path}).`);
      try {
        buffers.push(await readFile(file));
      } catch {
        throw new AtelierError('run-corrupt', `The weights file ${path} named in ${join(dir, MODEL_JSON)} is missing. Train or import the model again.`);
      }
    }
  }
  const total = buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const buffer of buffers) {
    weightData.set(buffer, offset);
    offset += buffer.byteLength;
  }
  return {
    modelTopology: json.modelTopology as tfType.io.ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData: weightData.buffer,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
  };
}

export async function loadModel(tf: Tf, dir: string): Promise<tfType.LayersModel> {
  const artifacts = await readModelArtifacts(dir);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (error) {
    throw new AtelierError('run-corrupt', `The model in ${dir} could not be built: ${(error as Error).message}`);
  }
}
