/**
 * Exporting a finished run so others can use it, in any format of `formats/` (TF.js, ONNX,
 * TFLite float32 or int8), each with `atelier-model.json`. The folder is written beside the
 * target, re-read and checked against the engine's own predictions on probe images, and only
 * then moved into place. Nothing here knows a format by name: each says its files, how to write
 * them and how to check them.
 */
import { lstat, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportFormat, ModelArchive, ModelExport } from '../../contract';
import { CLASS_NAMES, PIXELS_PER_IMAGE } from '../fashion-mnist';
import type { DatasetStore } from '../dataset/store';
import type { EngineClient } from '../engine/client';
import { AtelierError } from '../errors';
import { writeJsonAtomic } from '../fs-atomic';
import { mulberry32 } from '../random';
import type { RunRecord, RunStore } from '../runs/store';
import { writeFolderAtomically, type FolderFs } from './atomic-folder';
import { bundleFiles, SAMPLE_COUNT, samplesAsReal, writeBundle, type SampleImages } from './bundle';
import { assertCompatible } from './compat';
import { exportFormat, type ExportFormatModule } from './formats';
import type { ExportImageSource } from './formats/types';
import { buildMetadata, METADATA_FILE, readMetadata, type ModelMetadata } from './metadata';
import { largestDifference, probeImages } from './probe';
import { createZip } from './zip';

export interface ExportContext {
  engine: Pick<EngineClient, 'request'>;
  runs: RunStore;
  atelierVersion: string;
  /** Fashion-MNIST, for formats that need real images (int8 calibration); absent, those formats explain what is missing. */
  dataset?: Pick<DatasetStore, 'getSplit'> | undefined;
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
  const module = exportFormat(format);
  return [METADATA_FILE, module.files.model, ...module.files.weights, ...bundleFiles(module.bundleCheck)];
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
    // A folder of the export's own (samples/) may be replaced only when it holds nothing else.
    const ownFolder = info?.isDirectory() && [...own].some((path) => path.startsWith(`${entry}/`));
    if (ownFolder) {
      foreign.push(...(await foreignExportEntriesIn(dir, entry, own)));
      continue;
    }
    foreign.push(info?.isDirectory() ? `${entry}/` : entry);
  }
  return foreign;
}

async function foreignExportEntriesIn(dir: string, folder: string, own: Set<string>): Promise<string[]> {
  const foreign: string[] = [];
  for (const name of (await readdir(join(dir, folder))).sort()) {
    const path = `${folder}/${name}`;
    const info = await lstat(join(dir, path)).catch(() => null);
    if (info?.isFile() && own.has(path)) continue;
    foreign.push(info?.isDirectory() ? `${path}/` : path);
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

function topClass(values: Float32Array, row: number, classes: number): number {
  let best = 0;
  for (let k = 1; k < classes; k++) if (values[row * classes + k]! > values[row * classes + best]!) best = k;
  return best;
}

/** Compare the written model's probabilities with the run's; throw unless within the format's tolerance. */
function checkReproduces(module: ExportFormatModule, expected: Float32Array, actual: Float32Array, images: number): ModelExport['check'] {
  const difference = largestDifference(expected, actual);
  const classes = expected.length / images;
  let same = 0;
  if (actual.length === expected.length) for (let row = 0; row < images; row++) if (topClass(expected, row, classes) === topClass(actual, row, classes)) same++;
  const { tolerance } = module;
  if (!(difference <= tolerance.largestDifference) || same < tolerance.sameTopClass * images) {
    throw new AtelierError(
      'export-failed',
      `The ${module.label} model written for export does not reproduce the run's predictions (largest probability difference ${difference.toExponential(2)}, same most likely class on ${same} of ${images} probe images; at most ${tolerance.largestDifference} and at least ${Math.ceil(tolerance.sameTopClass * images)} are allowed). Nothing was saved. This is a bug in Atelier; please report it.`,
    );
  }
  return { images, largestDifference: difference, sameTopClass: same };
}

/** Every file of the export, with paths relative to it ("samples/sample-0.png"). */
async function listFiles(dir: string): Promise<ModelExport['files']> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const names = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1).split('\\').join('/')).sort();
  return Promise.all(names.map(async (name) => ({ name, bytes: (await stat(join(dir, name))).size })));
}

/**
 * The bundle's sample images: the first Fashion-MNIST test image of each class, or, where the
 * dataset is absent (TF.js, ONNX and float TFLite export without it), the synthetic probe images.
 */
async function sampleImages(context: ExportContext): Promise<{ images: SampleImages; fromTestSet: boolean }> {
  const test = await context.dataset?.getSplit('test').catch(() => null);
  if (test) {
    const pixels = new Uint8Array(SAMPLE_COUNT * PIXELS_PER_IMAGE);
    const labels: number[] = [];
    const sources: string[] = [];
    for (let index = 0; index < test.count && labels.length < SAMPLE_COUNT; index++) {
      const label = test.labels[index]!;
      if (labels.includes(label) && labels.length < CLASS_NAMES.length) continue;
      pixels.set(test.images.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE), labels.length * PIXELS_PER_IMAGE);
      labels.push(label);
      sources.push(`Fashion-MNIST test image ${index}`);
    }
    if (labels.length === SAMPLE_COUNT) return { images: { pixels, labels, sources }, fromTestSet: true };
  }
  const pixels = Uint8Array.from(probeImages(SAMPLE_COUNT), (value) => Math.round(value * 255));
  return { images: { pixels, labels: Array(SAMPLE_COUNT).fill(null), sources: Array.from({ length: SAMPLE_COUNT }, (_, index) => `synthetic probe image ${index}`) }, fromTestSet: false };
}

/** Seeded picks from the training split; a missing dataset says which format needed it. */
function imageSource(context: ExportContext, module: ExportFormatModule): ExportImageSource {
  return {
    async trainingImages(count, seed) {
      const why = `The ${module.label} export calibrates and checks its quantization on Fashion-MNIST training images`;
      if (!context.dataset) throw new AtelierError('dataset-missing', `${why}, and this Atelier has no dataset to read them from. Export as TFLite (float32) instead.`);
      let split;
      try {
        split = await context.dataset.getSplit('train');
      } catch (error) {
        if (error instanceof AtelierError) throw new AtelierError(error.kind, `${why}: ${error.message}`);
        throw error;
      }
      const random = mulberry32(seed);
      const picked = new Uint8Array(count * PIXELS_PER_IMAGE);
      const chosen = new Set<number>();
      while (chosen.size < Math.min(count, split.count)) chosen.add(Math.floor(random() * split.count));
      [...chosen].forEach((index, slot) => picked.set(split.images.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE), slot * PIXELS_PER_IMAGE));
      return picked;
    },
  };
}

/** Export one run into the folder `request.path`; resolves once the checked export is in place. */
export async function exportRun(context: ExportContext, request: ExportRequest): Promise<ModelExport> {
  const { runs, engine } = context;
  const module = exportFormat(request.format);
  const run = await finishedRun(context, request.runId);
  const modelDir = runs.modelDir(run.id);
  const images = imageSource(context, module);
  const probe = await module.probe(images);
  const probeCount = probe.length / PIXELS_PER_IMAGE;
  const description = await engine.request('inspect', { modelDir, includeWeights: module.needsWeights, probe });
  assertCompatible(description.inputShapes, description.outputShapes);
  const expected = description.probabilities!;
  const [metrics, evaluation] = await Promise.all([runs.metrics(run.id), runs.evaluation(run.id)]);
  const metadata: ModelMetadata = buildMetadata({
    format: request.format,
    files: module.files,
    signature: module.signature(description),
    extras: module.metadataExtras(),
    run,
    metrics,
    evaluation,
    atelierVersion: context.atelierVersion,
  });

  let check: ModelExport['check'] = { images: probeCount, largestDifference: 0, sameTopClass: probeCount };
  let files: ModelExport['files'] = [];
  await writeFolderAtomically(request.path, {
    force: request.force,
    foreignEntries: foreignExportEntries,
    ...(context.folderFs ? { fs: context.folderFs } : {}),
    build: async (temp) => {
      await module.write({
        run,
        description,
        modelDir,
        dir: temp,
        atelierVersion: context.atelierVersion,
        images,
        afterWeights: () => context.afterWeightsWritten?.(temp, request.format),
      });
      await writeJsonAtomic(join(temp, METADATA_FILE), metadata);
      const reproduced = await module.reproduce({ dir: temp, probe, engine });
      check = checkReproduces(module, expected, reproduced, probeCount);
      const samples = await sampleImages(context);
      await writeBundle({
        dir: temp,
        metadata,
        run,
        evaluation,
        formatLabel: module.label,
        check: module.bundleCheck,
        images: samples.images,
        probabilities: await module.reproduce({ dir: temp, probe: samplesAsReal(samples.images.pixels), engine }),
        samplesFromTestSet: samples.fromTestSet,
      });
      files = await listFiles(temp);
    },
  });
  return { runId: run.id, format: request.format, path: request.path, files, check };
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
