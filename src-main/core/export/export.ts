/**
 * Exporting a finished run so others can use it: TF.js layers or ONNX, each with
 * `atelier-model.json`. The folder is written beside the target, re-loaded and checked against
 * the engine's own predictions on probe images, and only then moved into place.
 */
import { lstat, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportFormat, ModelArchive, ModelExport } from '../../contract';
import { CLASS_NAMES, PIXELS_PER_IMAGE } from '../fashion-mnist';
import type { EngineClient } from '../engine/client';
import type { ModelDescription } from '../engine/protocol';
import { AtelierError } from '../errors';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic';
import type { RunRecord, RunStore } from '../runs/store';
import { writeFolderAtomically, type FolderFs } from './atomic-folder';
import { assertCompatible } from './compat';
import { buildMetadata, METADATA_FILE, readMetadata, type ModelMetadata } from './metadata';
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, toOnnx } from './onnx/convert';
import { decodeOnnx, encodeOnnx } from './onnx/model';
import { runOnnxReference } from './onnx/reference';
import { ONNX_IR_VERSION, ONNX_OPSET } from './onnx/schema';
import { largestDifference, probeImages } from './probe';
import { TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE, writeTfjsModel } from './tfjs';
import { createZip } from './zip';

export const ONNX_MODEL_FILE = 'model.onnx';

/** A TF.js copy must reproduce the run exactly (same engine, same weights). */
const TFJS_TOLERANCE = 1e-6;
/** ONNX is checked by a float64 reference evaluator; float32 rounding differs, meaning must not. */
const ONNX_TOLERANCE = 1e-4;

export interface ExportContext {
  engine: Pick<EngineClient, 'request'>;
  runs: RunStore;
  atelierVersion: string;
  /** Tests: runs inside the temporary folder once the weights are on disk (throw to simulate a failure). */
  afterWeightsWritten?: (tempDir: string, format: ExportFormat) => Promise<void> | void;
  /** Tests: the export folder's file-system calls, to provoke errors (EACCES, ENOSPC) that root cannot. */
  folderFs?: FolderFs;
}

export interface ExportRequest {
  runId: string;
  format: ExportFormat;
  path: string;
  force: boolean;
}

/** Every file an export of `format` consists of: what `--force` may replace, and nothing else. */
export function exportedFiles(format: ExportFormat): string[] {
  return format === 'onnx' ? [METADATA_FILE, ONNX_MODEL_FILE] : [METADATA_FILE, TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE];
}

/**
 * The entries of an existing folder that an Atelier export of the format its atelier-model.json
 * records would not have written (folders shown with a trailing slash). The file list comes from
 * the format, not from the marker, so a marker naming other files cannot make them replaceable.
 */
export async function foreignExportEntries(dir: string, entries: string[]): Promise<string[]> {
  const metadata = await readMetadata(dir);
  const own = new Set(metadata ? exportedFiles(metadata.format) : []);
  const foreign: string[] = [];
  for (const entry of [...entries].sort()) {
    const info = await lstat(join(dir, entry)).catch(() => null);
    if (info?.isFile() && own.has(entry)) continue;
    foreign.push(info?.isDirectory() ? `${entry}/` : entry);
  }
  return foreign;
}

/** A folder name that says what is inside, e.g. "fashion-cnn-2025-06-01-onnx". */
export function suggestedExportName(run: Pick<RunRecord, 'preset' | 'createdAt'>, format: ExportFormat): string {
  const preset = run.preset.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  return `fashion-${preset}-${run.createdAt.slice(0, 10)}-${format}`;
}

async function finishedRun(context: ExportContext, runId: string): Promise<RunRecord> {
  const run = await context.runs.read(runId);
  if (run.status === 'running' || run.status === 'evaluating') {
    throw new AtelierError('busy', `Run ${run.name} is still training. Export it once it has finished, or stop it first.`);
  }
  if (!(await context.runs.hasModel(runId))) {
    throw new AtelierError('no-model', `Run ${run.name} has no saved model (it stopped before its first epoch ended), so there is nothing to export.`);
  }
  return run;
}

function checkReproduces(format: ExportFormat, expected: Float32Array, actual: Float32Array, images: number, tolerance: number): number {
  const difference = largestDifference(expected, actual);
  if (!(difference <= tolerance)) {
    throw new AtelierError(
      'export-failed',
      `The ${format === 'onnx' ? 'ONNX' : 'TF.js'} model written for export does not reproduce the run's predictions (largest probability difference ${difference.toExponential(2)} on ${images} probe images; at most ${tolerance} is allowed). Nothing was saved. This is a bug in Atelier; please report it.`,
    );
  }
  return difference;
}

async function listFiles(dir: string): Promise<ModelExport['files']> {
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => ({ name, bytes: (await stat(join(dir, name))).size })));
}

async function writeOnnxModel(context: ExportContext, run: RunRecord, description: ModelDescription, temp: string): Promise<void> {
  const model = toOnnx(description, {
    producerVersion: context.atelierVersion,
    description: `Fashion-MNIST clothing classifier exported by Atelier ${context.atelierVersion} from run "${run.name}" (${run.preset}).`,
    inputDescription: '28×28 grayscale images as float32 in [0, 1] (pixel / 255): a light garment on a black background.',
    outputDescription: `Softmax probabilities for the 10 classes, in this order: ${CLASS_NAMES.join(', ')}.`,
    metadata: {
      classes: JSON.stringify(CLASS_NAMES),
      input_scaling: 'pixel / 255 (0 = black background, 1 = brightest garment pixel)',
      atelier_version: context.atelierVersion,
      atelier_run: run.id,
      atelier_preset: run.preset,
    },
  });
  await writeFileAtomic(join(temp, ONNX_MODEL_FILE), encodeOnnx(model));
}

/** Export one run into the folder `request.path`; resolves once the checked export is in place. */
export async function exportRun(context: ExportContext, request: ExportRequest): Promise<ModelExport> {
  const { runs, engine } = context;
  const run = await finishedRun(context, request.runId);
  const modelDir = runs.modelDir(run.id);
  const probe = probeImages();
  const probeCount = probe.length / PIXELS_PER_IMAGE;
  const description = await engine.request('inspect', { modelDir, includeWeights: request.format === 'onnx', probe });
  assertCompatible(description.inputShapes, description.outputShapes);
  const expected = description.probabilities!;
  const [metrics, evaluation] = await Promise.all([runs.metrics(run.id), runs.evaluation(run.id)]);
  const metadata: ModelMetadata = buildMetadata({
    format: request.format,
    files: request.format === 'onnx' ? { model: ONNX_MODEL_FILE, weights: [] } : { model: TFJS_MODEL_FILE, weights: [TFJS_WEIGHTS_FILE] },
    inputShape: description.inputShapes[0]!,
    outputShape: description.outputShapes[0]!,
    run,
    metrics,
    evaluation,
    atelierVersion: context.atelierVersion,
    onnx: request.format === 'onnx' ? { opset: ONNX_OPSET, irVersion: ONNX_IR_VERSION } : null,
    inputName: request.format === 'onnx' ? ONNX_INPUT_NAME : null,
    outputName: request.format === 'onnx' ? ONNX_OUTPUT_NAME : null,
  });

  let difference = 0;
  let files: ModelExport['files'] = [];
  await writeFolderAtomically(request.path, {
    force: request.force,
    foreignEntries: foreignExportEntries,
    ...(context.folderFs ? { fs: context.folderFs } : {}),
    build: async (temp) => {
      const afterWeights = () => context.afterWeightsWritten?.(temp, request.format);
      if (request.format === 'tfjs') {
        await writeTfjsModel(modelDir, temp, `Atelier ${context.atelierVersion}`, afterWeights);
        await writeJsonAtomic(join(temp, METADATA_FILE), metadata);
        const copy = await engine.request('inspect', { modelDir: temp, includeWeights: false, probe });
        difference = checkReproduces('tfjs', expected, copy.probabilities!, probeCount, TFJS_TOLERANCE);
      } else {
        await writeOnnxModel(context, run, description, temp);
        await afterWeights();
        await writeJsonAtomic(join(temp, METADATA_FILE), metadata);
        const written = decodeOnnx(await readFile(join(temp, ONNX_MODEL_FILE)));
        const output = runOnnxReference(written, probe);
        difference = checkReproduces('onnx', expected, output.data, probeCount, ONNX_TOLERANCE);
      }
      files = await listFiles(temp);
    },
  });
  return { runId: run.id, format: request.format, path: request.path, files, check: { images: probeCount, largestDifference: difference } };
}

/** The export as one .zip (for a browser download): built in a private temporary folder, then zipped. */
export async function archiveRun(context: ExportContext, request: { runId: string; format: ExportFormat }): Promise<ModelArchive> {
  const run = await finishedRun(context, request.runId);
  const name = suggestedExportName(run, request.format);
  const staging = await mkdtemp(join(tmpdir(), 'atelier-archive-'));
  try {
    const folder = join(staging, name);
    const result = await exportRun(context, { ...request, path: folder, force: false });
    const entries = await Promise.all(result.files.map(async (file) => ({ name: `${name}/${file.name}`, data: await readFile(join(folder, file.name)) })));
    const zip = createZip(entries);
    return { fileName: `${name}.zip`, mimeType: 'application/zip', base64: Buffer.from(zip).toString('base64'), bytes: zip.byteLength, files: result.files };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
