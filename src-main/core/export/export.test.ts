/**
 * Export and import through the whole core: the real engine worker (from source), the real
 * dataset, tiny models trained here (one epoch on 1,000 images is plenty for parity), and the
 * runtimes others would use — onnxruntime-node, plain @tensorflow/tfjs in another process, Arm NN
 * for TFLite and the ONNX project's own checker (the last two from Debian's Python packages).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtelier, type Atelier } from '../../app';
import { runCli } from '../../cli/commands';
import type { CallName, CallOutput, ExportFormat, PresetId, TrainingConfig } from '../../contract';
import { dispatch } from '../../dispatch';
import { engineWorkerUrl } from '../../locations';
import { APP_VERSION } from '../../version';
import { CLASS_NAMES, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { saveModel } from '../engine/model-io';
import { AtelierError } from '../errors';
import { exportedFiles } from './export';
import { METADATA_FILE, ModelMetadataSchema } from './metadata';
import { armnnMissing, onnxCheckerMissing, runArmnn, runOnnxChecker } from './external-checks';
import { ModelExchange } from './service';

const run = promisify(execFile);
const haveData = existsSync('/usr/share/datasets/fashion-mnist');
/** ONNX and TF.js: the MLP, the CNN, and the best preset (batch normalisation, folded into its convolutions for ONNX). */
const PRESETS: PresetId[] = ['tutorial-mlp', 'cnn', 'best'];
/** Every preset, for the TFLite checks (photo-robust is the CNN trained on photo-like variants). */
const ALL_PRESETS: PresetId[] = ['tutorial-mlp', 'cnn', 'photo-robust'];
const noArmnn = armnnMissing();
const noOnnxChecker = onnxCheckerMissing();
/**
 * Arm NN's only backend on x86 (CpuRef, plain reference loops) takes about 30 ms per image for
 * the CNN, 40 ms in int8: all 10,000 test images would take over ten minutes per CNN preset. The
 * MLP is checked on all 10,000, the CNN presets on a seeded sample of 2,000.
 */
const ARMNN_IMAGES: Record<PresetId, number> = { 'tutorial-mlp': 10_000, cnn: 2_000, 'photo-robust': 2_000 } as Record<PresetId, number>;

/** `count` distinct test-image indices picked with a fixed seed (all of them, in order, when count is the whole set). */
function sampleIndices(total: number, count: number, seed: number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, index) => index);
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(next() * total));
  return [...chosen].sort((a, b) => a - b);
}

const quick = (preset: PresetId): TrainingConfig => ({
  preset, epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 64, validationSplit: 0, seed: 3, trainLimit: 1000,
});

function argmax(values: Float32Array, row: number): number {
  let best = 0;
  for (let k = 1; k < 10; k++) if (values[row * 10 + k]! > values[row * 10 + best]!) best = k;
  return best;
}

/** Rows whose top-1 class differs, and the largest probability difference. */
function compare(expected: Float32Array, actual: Float32Array, rows: number): { disagreements: number; largest: number } {
  let disagreements = 0;
  let largest = 0;
  for (let row = 0; row < rows; row++) if (argmax(expected, row) !== argmax(actual, row)) disagreements++;
  for (let i = 0; i < rows * 10; i++) largest = Math.max(largest, Math.abs(expected[i]! - actual[i]!));
  return { disagreements, largest };
}

/** Every file under `dir` (recursively) → SHA-256, to prove a refused export changed nothing, byte for byte. */
const digestTree = (dir: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .sort()
      .map((path) => [path.slice(dir.length), createHash('sha256').update(readFileSync(path)).digest('hex')]),
  );

/** The names directly inside an export folder of `format` (samples/ counted once). */
const topLevelEntries = (format: ExportFormat): string[] => [...new Set(exportedFiles(format).map((path) => path.split('/')[0]!))].sort();

/** An earlier export with the person's own files saved into it since. */
function addForeignFiles(dir: string): void {
  writeFileSync(join(dir, 'important.txt'), 'my notes on this model');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'results.csv'), 'image,class\n1,Bag\n');
}

async function call<C extends CallName>(atelier: Atelier, channel: C, input: unknown): Promise<CallOutput<C>> {
  const result = await dispatch(atelier.handlers, channel, input, { shell: 'cli' });
  if (!result.ok) throw Object.assign(new Error(result.error.message), { kind: result.error.kind });
  return result.value as CallOutput<C>;
}

describe.skipIf(!haveData)('export and import (real worker, real data)', () => {
  let home: string;
  let out: string;
  let atelier: Atelier;
  const runIds = {} as Record<PresetId, string>;
  let testImages: Uint8Array;
  let testLabels: Uint8Array;
  let testCount: number;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'atelier-export-home-'));
    out = mkdtempSync(join(tmpdir(), 'atelier-export-out-'));
    atelier = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home, preferBackend: 'wasm', datasetSources: { env: {} } });
    for (const preset of [...new Set([...ALL_PRESETS, ...PRESETS])]) {
      const { runId } = await atelier.training.start(quick(preset));
      await atelier.training.settled();
      expect((await atelier.runs.read(runId)).status).toBe('completed');
      runIds[preset] = runId;
    }
    const test = await atelier.dataset.getSplit('test');
    testImages = test.images;
    testLabels = test.labels;
    testCount = test.count;
  }, 300_000);

  afterAll(async () => {
    await atelier?.dispose();
    rmSync(home, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  const exportTo = (preset: PresetId, format: ExportFormat, path = join(out, `${preset}-${format}`), force = false) =>
    call(atelier, 'models.export', { runId: runIds[preset], format, path, force });

  it.each(PRESETS)('ONNX export of %s: onnxruntime-node gives Atelier’s top-1 class on all 10,000 test images, probabilities within 1e-4', async (preset) => {
    const result = await exportTo(preset, 'onnx');
    expect(result.files.map((file) => file.name)).toEqual(exportedFiles('onnx').sort());
    expect(result.check.largestDifference).toBeLessThanOrEqual(1e-4);

    const session = await ort.InferenceSession.create(readFileSync(join(result.path, 'model.onnx')));
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['probabilities']);
    const metadata = ModelMetadataSchema.parse(JSON.parse(readFileSync(join(result.path, METADATA_FILE), 'utf8')));
    const exampleShape = metadata.input.shape.slice(1) as number[];
    expect(exampleShape).toEqual(preset === 'tutorial-mlp' ? [28, 28] : [28, 28, 1]);

    const onnx = new Float32Array(testCount * 10);
    for (let start = 0; start < testCount; start += 1000) {
      const end = Math.min(testCount, start + 1000);
      const pixels = Float32Array.from(testImages.subarray(start * PIXELS_PER_IMAGE, end * PIXELS_PER_IMAGE), (value) => value / 255);
      const outputs = await session.run({ input: new ort.Tensor('float32', pixels, [end - start, ...exampleShape]) });
      onnx.set(outputs.probabilities!.data as Float32Array, start * 10);
    }
    const atelierProbabilities = (await atelier.runs.predictions(runIds[preset]))!;
    expect(testCount).toBe(10_000);
    const { disagreements, largest } = compare(atelierProbabilities, onnx, testCount);
    expect(disagreements).toBe(0);
    expect(largest).toBeLessThanOrEqual(1e-4);
  });

  it.each(PRESETS)('TF.js export of %s loads with plain @tensorflow/tfjs in a separate Node process and predicts the same', async (preset) => {
    const result = await exportTo(preset, 'tfjs');
    expect(result.files.map((file) => file.name)).toEqual(exportedFiles('tfjs').sort());
    expect(result.check.largestDifference).toBe(0);
    // tfjs's pure-JS backend is slow on convolutions: the CNNs are compared on the first 1,000 images.
    const count = preset === 'tutorial-mlp' ? testCount : 1000;
    const images = join(out, `${preset}-images.u8`);
    const predictions = join(out, `${preset}-tfjs.f32`);
    writeFileSync(images, testImages.subarray(0, count * PIXELS_PER_IMAGE));
    const script = new URL('./fixtures/plain-tfjs-predict.test.mjs', import.meta.url).pathname;
    const { stdout } = await run(process.execPath, [script, result.path, images, predictions], { cwd: process.cwd(), maxBuffer: 1 << 20 });
    expect(JSON.parse(stdout)).toMatchObject({ backend: 'cpu', version: tf.version.tfjs, count });
    const child = new Float32Array(new Uint8Array(readFileSync(predictions)).buffer);
    const { disagreements, largest } = compare((await atelier.runs.predictions(runIds[preset]))!, child, count);
    expect(disagreements).toBe(0);
    expect(largest).toBeLessThanOrEqual(1e-5);
  }, 120_000);

  it('writes metadata a user of the export needs: classes, input and scaling, photo preprocessing, metrics, config, version', async () => {
    const dir = join(out, 'cnn-tfjs');
    if (!existsSync(dir)) await exportTo('cnn', 'tfjs');
    const metadata = ModelMetadataSchema.parse(JSON.parse(readFileSync(join(dir, METADATA_FILE), 'utf8')));
    const runRecord = await atelier.runs.read(runIds.cnn);
    const evaluation = (await atelier.runs.evaluation(runIds.cnn))!;
    expect(metadata).toMatchObject({
      kind: 'atelier-model',
      atelierVersion: APP_VERSION,
      format: 'tfjs',
      files: { model: 'model.json', weights: ['weights.bin'] },
      classes: [...CLASS_NAMES],
      input: { shape: [null, 28, 28, 1], dtype: 'float32', range: [0, 1] },
      output: { shape: [null, 10] },
      run: { id: runIds.cnn, preset: 'cnn', epochsCompleted: 1, backend: 'wasm' },
      config: runRecord.config,
      metrics: { test: { accuracy: evaluation.accuracy, loss: evaluation.loss, count: 10_000 } },
      onnx: null,
    });
    expect(metadata.input.scaling).toMatch(/255/);
    expect(metadata.photoPreprocessing.steps.length).toBeGreaterThan(3);
    expect(metadata.metrics.epochs).toHaveLength(1);
  });

  it.each(['tfjs', 'onnx', 'tflite', 'tflite-int8'] as const)('an interrupted %s export (error after the weights are written) leaves no partial folder and the previous export intact', async (format) => {
    const target = join(out, `interrupted-${format}`);
    await exportTo('tutorial-mlp', format, target);
    const before = digestTree(target);
    const siblings = readdirSync(out).sort();
    const seen: string[][] = [];
    const failing = new ModelExchange({
      engine: atelier.engine,
      runs: atelier.runs,
      atelierVersion: APP_VERSION,
      dataset: atelier.dataset,
      evaluate: (runId) => atelier.training.evaluation(runId),
      afterWeightsWritten: (tempDir) => {
        seen.push(readdirSync(tempDir));
        throw new Error('injected failure after the weights');
      },
    });
    await expect(failing.export({ runId: runIds['tutorial-mlp'], format, path: target, force: true })).rejects.toThrow('injected failure after the weights');
    await expect(failing.export({ runId: runIds['tutorial-mlp'], format, path: join(out, `never-${format}`), force: false })).rejects.toThrow('injected');
    const weightsFile = { tfjs: 'weights.bin', onnx: 'model.onnx', tflite: 'model.tflite', 'tflite-int8': 'model.tflite' }[format];
    expect(seen).toEqual([[weightsFile], [weightsFile]]);
    expect(readdirSync(out).sort()).toEqual(siblings);
    expect(digestTree(target)).toEqual(before);
  });

  it.each(ALL_PRESETS)('TFLite float32 and int8 exports of %s: a quarter of the size in int8, metadata saying how to feed and read them', async (preset) => {
    const float = await exportTo(preset, 'tflite');
    const int8 = await exportTo(preset, 'tflite-int8');
    for (const result of [float, int8]) expect(result.files.map((file) => file.name)).toEqual(exportedFiles('tflite').sort());
    expect(float.check).toMatchObject({ images: 12, sameTopClass: 12 });
    expect(float.check.largestDifference).toBeLessThanOrEqual(1e-4);
    expect(int8.check.images).toBe(200);
    expect(int8.check.sameTopClass).toBeGreaterThanOrEqual(190);
    const bytes = (result: typeof float) => result.files.find((file) => file.name === 'model.tflite')!.bytes;
    const ratio = bytes(int8) / bytes(float);
    expect(ratio).toBeGreaterThan(0.24);
    expect(ratio).toBeLessThan(0.3);

    const metadata = ModelMetadataSchema.parse(JSON.parse(readFileSync(join(int8.path, METADATA_FILE), 'utf8')));
    expect(metadata).toMatchObject({
      format: 'tflite-int8',
      files: { model: 'model.tflite', weights: [] },
      input: { name: 'input', shape: preset === 'tutorial-mlp' ? [1, 28, 28] : [1, 28, 28, 1], dtype: 'int8', range: [0, 1], quantization: { scale: 1 / 255, zeroPoint: -128 } },
      output: { name: 'probabilities', shape: [1, 10], dtype: 'int8', quantization: { scale: 1 / 256, zeroPoint: -128 } },
      onnx: null,
      tflite: { schemaVersion: 3, quantization: 'int8' },
    });
    expect(metadata.input.scaling).toMatch(/q = p − 128/);
    const floatMetadata = ModelMetadataSchema.parse(JSON.parse(readFileSync(join(float.path, METADATA_FILE), 'utf8')));
    expect(floatMetadata).toMatchObject({ format: 'tflite', input: { dtype: 'float32', quantization: null }, tflite: { schemaVersion: 3, quantization: 'none' } });
  }, 120_000);

  describe.skipIf(noArmnn !== null)(`Arm NN (CpuRef) runs the TFLite exports${noArmnn ? ` — skipped: ${noArmnn}` : ''}`, () => {
    it.each(ALL_PRESETS)("%s: float32 gives Atelier's top-1 class on ≥ 99.9 % of the test images, int8's accuracy is within 0.5 point of it", async (preset) => {
      const dirs = { float: join(out, `${preset}-tflite`), int8: join(out, `${preset}-tflite-int8`) };
      if (!existsSync(dirs.float)) await exportTo(preset, 'tflite');
      if (!existsSync(dirs.int8)) await exportTo(preset, 'tflite-int8');
      const indices = sampleIndices(testCount, ARMNN_IMAGES[preset], 18);
      const images = new Uint8Array(indices.length * PIXELS_PER_IMAGE);
      indices.forEach((index, slot) => images.set(testImages.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE), slot * PIXELS_PER_IMAGE));
      // Float and int8 at once: two processes, two cores.
      const armnn = (kind: 'float' | 'int8') => runArmnn(join(dirs[kind], 'model.tflite'), images, join(out, `${preset}-armnn-${kind}`));
      const [float, int8] = await Promise.all([armnn('float'), armnn('int8')]);
      expect(float.summary).toMatchObject({ backend: 'CpuRef', input: 'float32', images: indices.length, classes: 10 });
      expect(int8.summary).toMatchObject({ backend: 'CpuRef', input: 'int8', images: indices.length, classes: 10 });

      const all = (await atelier.runs.predictions(runIds[preset]))!;
      const atelierProbabilities = new Float32Array(indices.length * 10);
      indices.forEach((index, slot) => atelierProbabilities.set(all.subarray(index * 10, index * 10 + 10), slot * 10));
      const { disagreements, largest } = compare(atelierProbabilities, float.probabilities, indices.length);
      expect(disagreements).toBeLessThanOrEqual(Math.floor(indices.length * 0.001));
      expect(largest).toBeLessThanOrEqual(1e-4);

      const accuracy = (probabilities: Float32Array) => indices.filter((index, slot) => argmax(probabilities, slot) === testLabels[index]).length / indices.length;
      const floatAccuracy = accuracy(atelierProbabilities);
      const int8Accuracy = accuracy(int8.probabilities);
      console.info(`${preset} on ${indices.length} test images: Atelier ${(floatAccuracy * 100).toFixed(2)} %, Arm NN float32 ${(accuracy(float.probabilities) * 100).toFixed(2)} %, Arm NN int8 ${(int8Accuracy * 100).toFixed(2)} %; Arm NN seconds float ${float.summary.runSeconds}, int8 ${int8.summary.runSeconds}`);
      expect(Math.abs(int8Accuracy - floatAccuracy)).toBeLessThanOrEqual(0.005);
    }, 300_000);
  });

  describe.skipIf(noOnnxChecker !== null)(`the ONNX project's checker${noOnnxChecker ? ` — skipped: ${noOnnxChecker}` : ''}`, () => {
    it.each(ALL_PRESETS)('passes the ONNX export of %s with full_check (shape inference included)', async (preset) => {
      const dir = join(out, `${preset}-onnx`);
      if (!existsSync(dir)) await exportTo(preset, 'onnx');
      const result = runOnnxChecker(join(dir, 'model.onnx'));
      expect(result).toMatchObject({ valid: true, irVersion: 7, opsets: { 'ai.onnx': 13 } });
    });

    it('rejects a file the checker should reject (an operator that does not exist), so a pass means something', async () => {
      const dir = join(out, 'tutorial-mlp-onnx');
      if (!existsSync(dir)) await exportTo('tutorial-mlp', 'onnx');
      const bytes = readFileSync(join(dir, 'model.onnx'));
      // Every "Gemm" → "Gexm" (the operator and the node names alike): same length, so the protobuf
      // framing stays valid and only the operator's meaning breaks.
      const broken = Buffer.from(bytes.toString('latin1').replaceAll('Gemm', 'Gexm'), 'latin1');
      const file = join(out, 'broken.onnx');
      writeFileSync(file, broken);
      const result = runOnnxChecker(file);
      expect(result.valid).toBe(false);
      expect(result.error).toMatch(/Gexm/);
    });
  });

  it('refuses an int8 export without the training images, saying why they are needed, and leaves nothing behind', async () => {
    const target = join(out, 'int8-without-data');
    const noData = new ModelExchange({
      engine: atelier.engine,
      runs: atelier.runs,
      atelierVersion: APP_VERSION,
      dataset: {
        getSplit: async () => {
          throw new AtelierError('dataset-missing', 'Fashion-MNIST is not on this computer.');
        },
      },
      evaluate: (runId) => atelier.training.evaluation(runId),
    });
    await expect(noData.export({ runId: runIds.cnn, format: 'tflite-int8', path: target })).rejects.toMatchObject({
      kind: 'dataset-missing',
      message: 'The TFLite int8 export calibrates and checks its quantization on Fashion-MNIST training images: Fashion-MNIST is not on this computer.',
    });
    expect(existsSync(target)).toBe(false);
  });

  it('refuses an existing target without force, replaces an earlier export with it', async () => {
    const target = join(out, 'twice');
    await exportTo('tutorial-mlp', 'onnx', target);
    const first = JSON.parse(readFileSync(join(target, METADATA_FILE), 'utf8')).exportedAt as string;
    await expect(exportTo('tutorial-mlp', 'tfjs', target)).rejects.toMatchObject({ kind: 'target-exists', message: expect.stringContaining(target) });
    expect(readdirSync(target).sort()).toEqual(topLevelEntries('onnx'));
    await exportTo('tutorial-mlp', 'tfjs', target, true);
    expect(readdirSync(target).sort()).toEqual(topLevelEntries('tfjs'));
    expect(JSON.parse(readFileSync(join(target, METADATA_FILE), 'utf8')).exportedAt).not.toBe(first);
  });

  it.each(['tfjs', 'onnx'] as const)('export --force onto an earlier %s export that also holds the person\u2019s files: refused, naming them, every file kept byte for byte', async (format) => {
    const target = join(out, `with-foreign-${format}`);
    await exportTo('tutorial-mlp', format, target);
    addForeignFiles(target);
    const before = digestTree(target);
    const siblings = readdirSync(out).sort();
    for (const next of ['tfjs', 'onnx'] as const) {
      await expect(exportTo('tutorial-mlp', next, target, true)).rejects.toMatchObject({
        kind: 'target-exists',
        message: `${target} holds 2 entries that Atelier's export did not write (important.txt, sub/), so it is not replaced: Atelier replaces only a folder that holds nothing but its own earlier export. Nothing was changed. Move those files elsewhere, or choose another folder.`,
      });
    }
    expect(digestTree(target)).toEqual(before);
    expect(readdirSync(out).sort()).toEqual(siblings);
  });

  it('export --force refuses a folder whose atelier-model.json records another format than its files (a TF.js marker beside model.onnx)', async () => {
    const target = join(out, 'mixed-formats');
    await exportTo('tutorial-mlp', 'tfjs', target);
    writeFileSync(join(target, 'model.onnx'), 'not written by this export');
    const before = digestTree(target);
    await expect(exportTo('tutorial-mlp', 'onnx', target, true)).rejects.toMatchObject({ kind: 'target-exists', message: expect.stringContaining('1 entry that Atelier\'s export did not write (model.onnx)') });
    expect(digestTree(target)).toEqual(before);
  });

  it('a missing parent folder is refused, naming it, and nothing is created', async () => {
    const parent = join(out, 'not-mounted', 'models');
    const target = join(parent, 'cnn-onnx');
    await expect(exportTo('cnn', 'onnx', target)).rejects.toMatchObject({
      kind: 'not-found',
      message: `Cannot export to ${target}: the folder ${parent} does not exist. Nothing was saved. Create ${parent} first, or choose a folder that exists.`,
    });
    expect(existsSync(join(out, 'not-mounted'))).toBe(false);
  });

  it('a read-only parent (EACCES, injected: root writes anywhere) is refused, naming the folder, with no partial folder left', async () => {
    const parent = join(out, 'read-only');
    mkdirSync(parent);
    const target = join(parent, 'cnn-tfjs');
    const readOnly = new ModelExchange({
      engine: atelier.engine,
      runs: atelier.runs,
      atelierVersion: APP_VERSION,
      evaluate: (runId) => atelier.training.evaluation(runId),
      folderFs: {
        ...fsPromises,
        mkdir: async (path) => {
          throw Object.assign(new Error(`EACCES: permission denied, mkdir '${String(path)}'`), { code: 'EACCES', syscall: 'mkdir', path });
        },
      },
    });
    await expect(readOnly.export({ runId: runIds.cnn, format: 'tfjs', path: target })).rejects.toMatchObject({
      kind: 'export-failed',
      message: `Cannot export to ${target}: you may not write into ${parent} (permission denied). Nothing was saved and nothing was left behind. Choose a folder you can write to, or change the permissions of ${parent}.`,
    });
    expect(readdirSync(parent)).toEqual([]);
  });

  it('hands the browser a .zip of the export', async () => {
    const stagingBefore = readdirSync(tmpdir()).filter((entry) => entry.startsWith('atelier-archive-'));
    const archive = await call(atelier, 'models.archive', { runId: runIds.cnn, format: 'onnx' });
    expect(archive.fileName).toMatch(/^fashion-cnn-\d{4}-\d{2}-\d{2}-onnx\.zip$/);
    const zip = Buffer.from(archive.base64, 'base64');
    expect(zip.byteLength).toBe(archive.bytes);
    const file = join(out, archive.fileName);
    writeFileSync(file, zip);
    if (existsSync('/usr/bin/unzip')) {
      const { stdout } = await run('unzip', ['-t', file]);
      expect(stdout).toMatch(/No errors detected/);
      const { stdout: names } = await run('unzip', ['-Z1', file]);
      const folder = archive.fileName.replace(/\.zip$/, '');
      expect(names.trim().split('\n').sort()).toEqual(exportedFiles('onnx').map((name) => `${folder}/${name}`).sort());
    }
    expect(readdirSync(tmpdir()).filter((entry) => entry.startsWith('atelier-archive-'))).toEqual(stagingBefore);
  });

  it('refuses to import a model with the wrong input or output, saying what it has and what is needed', async () => {
    const before = await atelier.runs.list();
    const wrong = tf.sequential();
    wrong.add(tf.layers.flatten({ inputShape: [32, 32, 3] }));
    wrong.add(tf.layers.dense({ units: 5, activation: 'softmax' }));
    const wrongDir = join(out, 'wrong-model');
    mkdirSync(wrongDir);
    await saveModel(tf, wrong, wrongDir, 'x');
    wrong.dispose();
    await expect(call(atelier, 'models.import', { path: wrongDir })).rejects.toMatchObject({
      kind: 'model-incompatible',
      message: 'This model takes [32,32,3] images and gives 5 classes; Atelier needs 28×28 grayscale input ([28,28] or [28,28,1]) and 10 output classes.',
    });

    const threeClasses = tf.sequential();
    threeClasses.add(tf.layers.flatten({ inputShape: [28, 28] }));
    threeClasses.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
    const threeDir = join(out, 'three-classes');
    mkdirSync(threeDir);
    await saveModel(tf, threeClasses, threeDir, 'x');
    threeClasses.dispose();
    await expect(call(atelier, 'models.import', { path: join(threeDir, 'model.json') })).rejects.toMatchObject({ kind: 'model-incompatible', message: expect.stringMatching(/takes \[28,28\] images and gives 3 classes/) });

    const graphDir = join(out, 'graph-model');
    mkdirSync(graphDir);
    writeFileSync(join(graphDir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    await expect(call(atelier, 'models.import', { path: graphDir })).rejects.toMatchObject({ kind: 'model-incompatible', message: expect.stringMatching(/graph model/) });

    expect(await atelier.runs.list()).toEqual(before);
    expect(readdirSync(atelier.runs.root).filter((entry) => entry.startsWith('.'))).toEqual([]);
  });

  it('imports the TF.js export into a fresh data folder as a run that evaluates and classifies like the original', async () => {
    const dir = join(out, 'cnn-tfjs');
    if (!existsSync(dir)) await exportTo('cnn', 'tfjs');
    const freshHome = mkdtempSync(join(tmpdir(), 'atelier-import-home-'));
    const fresh = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home: freshHome, preferBackend: 'wasm', datasetSources: { env: {} } });
    try {
      const imported = await call(fresh, 'models.import', { path: dir });
      const original = await atelier.runs.detail(runIds.cnn);
      expect(imported.evaluated).toBe(true);
      expect(imported.note).toBeNull();
      expect(imported.run).toMatchObject({ origin: 'imported', status: 'completed', hasModel: true, active: true, preset: 'cnn', epochsCompleted: 1, name: original.name });
      expect(imported.run.testAccuracy).toBe(original.testAccuracy);
      const detail = await call(fresh, 'runs.get', { runId: imported.run.id });
      expect(detail.config).toEqual(original.config);
      expect(detail.metrics).toEqual(original.metrics);
      const evaluation = await call(fresh, 'evaluation.get', { runId: imported.run.id });
      expect(evaluation.confusion).toEqual((await atelier.runs.evaluation(runIds.cnn))!.confusion);

      // Classify: the active model's probabilities for a few images match the original's.
      const pixels = Float32Array.from(testImages.subarray(0, 5 * PIXELS_PER_IMAGE), (value) => value / 255);
      const { probabilities } = await fresh.engine.request('predict', { modelDir: fresh.runs.modelDir((await fresh.runs.activeRunId())!), pixels });
      expect(compare((await atelier.runs.predictions(runIds.cnn))!, probabilities, 5).largest).toBeLessThanOrEqual(1e-6);
    } finally {
      await fresh.dispose();
      rmSync(freshHome, { recursive: true, force: true });
    }
  });

  it('exports and imports from the command line', async () => {
    const previous = { home: process.env.ATELIER_HOME, backend: process.env.ATELIER_BACKEND };
    process.env.ATELIER_HOME = home;
    process.env.ATELIER_BACKEND = 'wasm';
    const mlpExport = join(out, 'tutorial-mlp-tfjs');
    if (!existsSync(mlpExport)) await exportTo('tutorial-mlp', 'tfjs');
    const lines: string[] = [];
    const errors: string[] = [];
    const io = { out: (text: string) => lines.push(text), err: (text: string) => errors.push(text) };
    try {
      const target = join(out, 'cli-onnx');
      expect(await runCli(['export', '--run', 'latest', '--format', 'onnx', '--out', target], io)).toBe(0);
      expect(lines.join('\n')).toMatch(/Exported run .* as ONNX to .*cli-onnx[\s\S]*model\.onnx[\s\S]*Checked: re-loaded/);
      expect(await runCli(['export', '--run', 'latest', '--format', 'onnx', '--out', target], io)).toBe(1);
      expect(errors.join('\n')).toMatch(/already exists.*--force/);
      expect(await runCli(['export', '--run', 'latest', '--format', 'keras', '--out', target], io)).toBe(2);
      expect(errors.join('\n')).toContain('--format must be one of tfjs, onnx, tflite, tflite-int8, not "keras"');
      lines.length = 0;
      expect(await runCli(['export', '--run', runIds.cnn, '--format', 'tflite-int8', '--out', join(out, 'cli-tflite-int8')], io)).toBe(0);
      expect(lines.join('\n')).toMatch(/as TFLite int8 to .*cli-tflite-int8[\s\S]*model\.tflite[\s\S]*Checked: .* on 200 probe images .*same most likely class on \d+\)/);
      // --force replaces the earlier export alone, and refuses once the person's own files are in it.
      expect(await runCli(['export', '--run', 'latest', '--format', 'tfjs', '--out', target, '--force'], io)).toBe(0);
      addForeignFiles(target);
      const before = digestTree(target);
      errors.length = 0;
      expect(await runCli(['export', '--run', 'latest', '--format', 'onnx', '--out', target, '--force'], io)).toBe(1);
      expect(errors.join('\n')).toBe(`atelier export: ${target} holds 2 entries that Atelier's export did not write (important.txt, sub/), so it is not replaced: Atelier replaces only a folder that holds nothing but its own earlier export. Nothing was changed. Move those files elsewhere, or choose another folder.`);
      expect(digestTree(target)).toEqual(before);
      errors.length = 0;
      const nowhere = join(out, 'no-such-folder', 'export');
      expect(await runCli(['export', '--run', 'latest', '--format', 'onnx', '--out', nowhere], io)).toBe(1);
      expect(errors.join('\n')).toContain(`the folder ${join(out, 'no-such-folder')} does not exist`);
      lines.length = 0;
      expect(await runCli(['import', mlpExport, '--json'], io)).toBe(0);
      const imported = JSON.parse(lines.at(-1)!) as { run: { origin: string; testAccuracy: number } };
      expect(imported.run.origin).toBe('imported');
      expect(imported.run.testAccuracy).toBe((await atelier.runs.read(runIds['tutorial-mlp'])).testAccuracy);
    } finally {
      for (const [name, value] of [['ATELIER_HOME', previous.home], ['ATELIER_BACKEND', previous.backend]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }, 120_000);
});
