/**
 * Importing a TF.js layers model (an Atelier export or any other) as a run: the files are copied
 * into a hidden staging folder, the engine loads them there, and only a model that takes 28×28
 * grayscale images and gives 10 classes becomes a run — evaluated on the test set so that it
 * shows an accuracy, and ready for Classify. Nothing is left behind when the import is refused.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { BackendNameSchema, type Evaluation, type ModelImport } from '../../contract';
import { CLASS_NAMES } from '../fashion-mnist';
import type { EngineClient } from '../engine/client';
import { AtelierError, toErrorInfo } from '../errors';
import type { RunStore } from '../runs/store';
import { incompatibility } from './compat';
import { METADATA_FILE, readMetadata } from './metadata';
import { TFJS_MODEL_FILE } from './tfjs';

export interface ImportContext {
  engine: Pick<EngineClient, 'request'>;
  runs: RunStore;
  /** Evaluate a run on the test set (and record it); rejects when the test set is not available. */
  evaluate: (runId: string) => Promise<Evaluation>;
}

interface ModelJsonShape {
  format?: unknown;
  modelTopology?: { class_name?: unknown; model_config?: unknown; node?: unknown } | null;
  weightsManifest?: { paths?: unknown }[];
}

async function isDirectory(path: string): Promise<boolean | null> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return null;
  }
}

/** The model.json to import, from what the person chose: a folder, its model.json, or the metadata beside it. */
async function locateModelJson(chosen: string): Promise<string> {
  const path = resolve(chosen);
  const kind = await isDirectory(path);
  if (kind === null) throw new AtelierError('not-found', `${path} does not exist. Choose the folder of a TF.js model (the one with model.json).`);
  if (kind === false) {
    if (basename(path) === METADATA_FILE) return join(dirname(path), TFJS_MODEL_FILE);
    if (path.endsWith('.onnx')) throw new AtelierError('model-incompatible', `${basename(path)} is an ONNX model; Atelier imports TF.js layers models (a folder with model.json). Import the TF.js export instead.`);
    if (!path.endsWith('.json')) throw new AtelierError('model-incompatible', `${basename(path)} is not a TF.js model file; choose the folder that holds model.json.`);
    return path;
  }
  const entries = await readdir(path);
  if (entries.includes(TFJS_MODEL_FILE)) return join(path, TFJS_MODEL_FILE);
  if (entries.some((entry) => entry.endsWith('.onnx'))) {
    throw new AtelierError('model-incompatible', `${path} holds an ONNX model; Atelier imports TF.js layers models (model.json and its weights). Import the TF.js export instead.`);
  }
  // An unzipped download is often one folder deeper.
  const nested: string[] = [];
  for (const entry of entries) {
    if ((await isDirectory(join(path, entry))) && (await isDirectory(join(path, entry, TFJS_MODEL_FILE))) === false) nested.push(join(path, entry, TFJS_MODEL_FILE));
  }
  if (nested.length === 1) return nested[0]!;
  throw new AtelierError('not-found', `${path} has no model.json. Choose the folder of a TF.js layers model (model.json with its weight files).`);
}

async function readModelJson(file: string): Promise<ModelJsonShape> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = (error as { code?: string }).code === 'ENOENT' ? 'it does not exist' : `it is not valid JSON (${(error as Error).message})`;
    throw new AtelierError('model-incompatible', `${file} cannot be read as a TF.js model: ${reason}.`);
  }
  const model = json as ModelJsonShape;
  if (!model || typeof model !== 'object' || !model.modelTopology || !Array.isArray(model.weightsManifest)) {
    throw new AtelierError('model-incompatible', `${file} is not a TF.js model (it has no modelTopology and weightsManifest).`);
  }
  const topology = model.modelTopology;
  if (model.format === 'graph-model' || (Array.isArray(topology.node) && !topology.class_name && !topology.model_config)) {
    throw new AtelierError(
      'model-incompatible',
      `${file} is a TF.js graph model (converted from a SavedModel). Atelier imports layers models: saved with model.save() in TensorFlow.js, or converted from Keras with --output_format=tfjs_layers_model.`,
    );
  }
  return model;
}

/** Paths in a manifest are URL-relative (TF.js fetches them next to model.json). */
function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Weight file paths named by model.json, each checked to stay inside the model's folder. */
function weightPaths(model: ModelJsonShape, file: string): string[] {
  const paths: string[] = [];
  for (const group of model.weightsManifest ?? []) {
    if (!Array.isArray(group.paths)) throw new AtelierError('model-incompatible', `${file}: a weights group has no list of paths.`);
    for (const path of group.paths) {
      const relativePath = typeof path === 'string' ? normalize(decodedPath(path)) : '';
      if (!relativePath || isAbsolute(relativePath) || relativePath === '..' || relativePath.startsWith(`..${sep}`)) {
        throw new AtelierError('model-incompatible', `${file} names the weights file "${String(path)}", which is not inside the model's folder. Atelier only reads weights next to model.json.`);
      }
      paths.push(relativePath);
    }
  }
  return paths;
}

/** Copy model.json (as model.json) and its weights into `target`. */
async function stageModel(modelJson: string, model: ModelJsonShape, target: string): Promise<void> {
  const source = dirname(modelJson);
  await mkdir(target, { recursive: true });
  await copyFile(modelJson, join(target, TFJS_MODEL_FILE));
  for (const path of weightPaths(model, modelJson)) {
    const from = join(source, path);
    const to = join(target, path);
    await mkdir(dirname(to), { recursive: true });
    try {
      await copyFile(from, to);
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') throw new AtelierError('model-incompatible', `${modelJson} needs the weights file ${path}, which is not in ${source}. Copy it next to model.json and import again.`);
      throw error;
    }
  }
}

/**
 * What to call an imported run: the name it had where it was exported (its origin already says
 * "imported"), else its folder's name, else a model file not called model.json by its own name.
 */
export function importedRunName(exportedName: string | null, modelJson: string, nameHint: string | null = null): string {
  if (exportedName) return exportedName.replace(/ \(imported\)$/, '');
  if (nameHint) return nameHint;
  const file = basename(modelJson);
  if (file !== TFJS_MODEL_FILE) return file.replace(/\.json$/, '');
  return basename(dirname(modelJson)) || 'Imported model';
}

/**
 * Import the TF.js model at `path` (a folder or its model.json) as a new run. `nameHint` names it
 * when the folder's own name means nothing (an upload's private temporary folder).
 */
export async function importModel(context: ImportContext, path: string, options: { nameHint?: string | null } = {}): Promise<ModelImport> {
  const { runs, engine } = context;
  const modelJson = await locateModelJson(path);
  const model = await readModelJson(modelJson);
  const sourceDir = dirname(modelJson);
  const metadata = await readMetadata(sourceDir);

  await mkdir(runs.root, { recursive: true });
  // Inside the runs folder (hidden: run ids never start with a dot) so the move into the run is a rename.
  const staging = join(runs.root, `.import-${randomBytes(4).toString('hex')}`);
  const stagedModel = join(staging, 'model');
  let runId: string | null = null;
  try {
    await stageModel(modelJson, model, stagedModel);
    let description;
    try {
      description = await engine.request('inspect', { modelDir: stagedModel, includeWeights: false, probe: null });
    } catch (error) {
      const info = toErrorInfo(error);
      if (info.kind === 'engine-crashed' || info.kind === 'engine-unavailable') throw error;
      throw new AtelierError('model-incompatible', `${modelJson} could not be loaded as a TF.js layers model: ${info.message.replace(stagedModel, sourceDir)}`);
    }
    const problem = incompatibility(description.inputShapes, description.outputShapes);
    if (problem) throw new AtelierError('model-incompatible', problem);

    const backend = BackendNameSchema.safeParse(metadata?.run.backend);
    const record = await runs.create({
      config: metadata?.config ?? null,
      preset: metadata?.run.preset ?? 'imported',
      backend: backend.success ? backend.data : null,
      origin: 'imported',
      name: importedRunName(metadata?.run.name ?? null, modelJson, options.nameHint ?? null),
      epochsPlanned: metadata?.run.epochsCompleted ?? 0,
    });
    runId = record.id;
    await rename(stagedModel, runs.modelDir(runId));
    if (metadata) {
      for (const epoch of metadata.metrics.epochs) await runs.appendMetrics(runId, epoch);
      await runs.update(runId, { epochsCompleted: metadata.run.epochsCompleted, durationSeconds: metadata.run.durationSeconds });
    }
  } catch (error) {
    if (runId) await runs.delete(runId).catch(() => undefined);
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  const notes: string[] = [];
  if (!metadata) notes.push('It came without atelier-model.json, so Atelier assumes it takes pixels scaled to [0, 1] and gives Fashion-MNIST’s classes in their usual order.');
  else if (metadata.classes.join('\n') !== CLASS_NAMES.join('\n')) notes.push(`Its classes (${metadata.classes.join(', ')}) differ from Fashion-MNIST’s; Atelier shows Fashion-MNIST’s names.`);
  let evaluated = false;
  try {
    await context.evaluate(runId);
    evaluated = true;
  } catch (error) {
    notes.push(`It was not evaluated: ${toErrorInfo(error).message}`);
  }
  if ((await runs.activeRunId()) === null) await runs.setActive(runId);
  return { run: await runs.summary(runId), evaluated, note: notes.length ? notes.join(' ') : null };
}

/** Import from uploaded files (the browser shell): written to a private folder, imported, removed. */
export async function importModelFiles(context: ImportContext, files: { name: string; base64: string }[]): Promise<ModelImport> {
  const staging = await mkdtemp(join(tmpdir(), 'atelier-upload-'));
  try {
    for (const file of files) {
      const name = normalize(file.name);
      if (isAbsolute(name) || name.startsWith('..') || name.includes(sep)) throw new AtelierError('invalid-payload', `"${file.name}" is not a plain file name.`);
      await writeFile(join(staging, name), Buffer.from(file.base64, 'base64'));
    }
    const names = files.map((file) => file.name);
    const modelJson = names.includes(TFJS_MODEL_FILE) ? TFJS_MODEL_FILE : names.find((name) => name.endsWith('.json') && name !== METADATA_FILE);
    if (!modelJson) throw new AtelierError('invalid-payload', 'Choose model.json together with its weight files (.bin).');
    // The upload's folder is a random temporary one: name the run after the model file, or plainly.
    const nameHint = modelJson === TFJS_MODEL_FILE ? 'Uploaded model' : modelJson.replace(/\.json$/, '');
    return await importModel(context, join(staging, modelJson), { nameHint });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
