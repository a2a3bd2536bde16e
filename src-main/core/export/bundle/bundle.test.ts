/**
 * The self-checking bundle of every export, end to end: a small tutorial MLP trained here is
 * exported in each format, and the bundle's own check script (run as a person would, from the
 * export folder, with the repo's node_modules standing in for their npm install) passes; with
 * half of the largest weight tensor negated in the written file, it fails and names the samples.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAtelier, type Atelier } from '../../../app';
import type { ExportFormat, ModelExport } from '../../../contract';
import { engineWorkerUrl } from '../../../locations';
import { CLASS_NAMES } from '../../fashion-mnist';
import { decodePhoto } from '../../photos/decode';
import { armnnMissing, SYSTEM_PYTHON } from '../external-checks';
import { decodeOnnx } from '../onnx/model';
import { decodeTflite } from '../tflite/schema';
import type { SamplesSpec } from './samples';

const execFileAsync = promisify(execFile);
const haveData = existsSync('/usr/share/datasets/fashion-mnist');
const noArmnn = armnnMissing();
const NODE_MODULES = resolve('node_modules');

/** Run the export's check script the way its card says; resolves with its exit code and output. */
async function runCheck(dir: string, script: 'check.mjs' | 'check.py'): Promise<{ code: number; output: string }> {
  const [command, args] = script === 'check.mjs' ? [process.execPath, ['check.mjs']] : [SYSTEM_PYTHON, ['check.py', '--runtime', 'pyarmnn']];
  try {
    const { stdout } = await execFileAsync(command, args, { cwd: dir, env: { ...process.env, NODE_PATH: NODE_MODULES }, maxBuffer: 1 << 20 });
    return { code: 0, output: stdout };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? -1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

/** The bytes of the largest weight tensor as stored in the model file (found by content). */
function largestWeights(format: ExportFormat, file: Buffer): Uint8Array {
  if (format === 'tfjs') return file;
  const tensors = format === 'onnx' ? decodeOnnx(file).graph.initializer.map((tensor) => tensor.raw_data ?? new Uint8Array(0)) : decodeTflite(file).buffers;
  return tensors.reduce((largest, tensor) => (tensor.byteLength > largest.byteLength ? tensor : largest));
}

/**
 * Negate the middle half of the largest weight tensor inside the file: a sign-bit flip per float32,
 * two's complement per int8. The header and graph stay intact, so the file still loads.
 */
function negateWeights(dir: string, format: ExportFormat): void {
  const path = join(dir, format === 'tfjs' ? 'weights.bin' : format === 'onnx' ? 'model.onnx' : 'model.tflite');
  const file = readFileSync(path);
  const weights = largestWeights(format, file);
  const start = format === 'tfjs' ? 0 : file.indexOf(Buffer.from(weights));
  expect(start).toBeGreaterThan(format === 'tfjs' ? -1 : 0);
  const from = start + Math.floor(weights.byteLength / 4 / 4) * 4;
  const to = start + Math.floor((3 * weights.byteLength) / 4 / 4) * 4;
  if (format === 'tflite-int8') for (let i = from; i < to; i++) file[i] = (256 - file[i]!) & 0xff;
  else for (let i = from + 3; i < to; i += 4) file[i] = file[i]! ^ 0x80;
  writeFileSync(path, file);
}

describe.skipIf(!haveData)('the self-checking bundle of each export (MODEL_CARD.md, samples/, check script)', () => {
  let home: string;
  let out: string;
  let atelier: Atelier;
  let runId: string;
  const exported = {} as Record<ExportFormat, ModelExport>;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'atelier-bundle-home-'));
    out = mkdtempSync(join(tmpdir(), 'atelier-bundle-out-'));
    atelier = createAtelier({ engineWorkerUrl: engineWorkerUrl(), home, preferBackend: 'wasm', datasetSources: { env: {} } });
    ({ runId } = await atelier.training.start({ preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 64, validationSplit: 0, seed: 3, trainLimit: 1000 }));
    await atelier.training.settled();
    for (const format of ['tfjs', 'onnx', 'tflite', 'tflite-int8'] as const) exported[format] = await atelier.models.export({ runId, format, path: join(out, format) });
  }, 180_000);

  afterAll(async () => {
    await atelier?.dispose();
    rmSync(home, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  const spec = (format: ExportFormat): SamplesSpec => JSON.parse(readFileSync(join(exported[format].path, 'samples', 'samples.json'), 'utf8'));

  it('writes ten Fashion-MNIST test images, one per class, as PNGs and as the exact inputs of each format', async () => {
    const float = spec('onnx');
    expect(float.samples.every((sample) => sample.source.startsWith('Fashion-MNIST test image'))).toBe(true);
    expect(new Set(float.samples.map((sample) => sample.label)).size).toBe(10);
    const int8 = spec('tflite-int8');
    expect(int8.input).toMatchObject({ dtype: 'int8', shape: [1, 28, 28], quantization: { zeroPoint: -128 } });
    expect(float.input).toMatchObject({ dtype: 'float32', shape: [1, 28, 28], name: 'input' });
    for (let index = 0; index < 10; index++) {
      const { image, source } = await decodePhoto(join(exported.onnx.path, 'samples', float.samples[index]!.image));
      expect([source.format, image.width, image.height]).toEqual(['png', 28, 28]);
      const bytes = Array.from({ length: 784 }, (_, pixel) => image.data[pixel * 4]!);
      // The same image three ways: the PNG's bytes, /255 as float32, and byte − 128 for int8.
      expect(float.samples[index]!.input).toEqual(bytes.map((byte) => Math.fround(byte / 255)));
      expect(int8.samples[index]!.input).toEqual(bytes.map((byte) => byte - 128));
      expect(float.samples[index]!.probabilities.reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 5);
    }
  });

  it('writes a model card from the run: data, settings, preparation, output, per-class scores, limits, and how to check', async () => {
    const card = readFileSync(join(exported['tflite-int8'].path, 'MODEL_CARD.md'), 'utf8');
    const evaluation = (await atelier.runs.evaluation(runId))!;
    expect(card).toContain('the first 1,000 of the 60,000 training images');
    expect(card).toContain('My photos: none');
    expect(card).toContain('Preset: tutorial-mlp');
    expect(card).toContain('1 epoch planned, 1 completed; batch size 32; learning rate 0.001');
    expect(card).toContain('backend: wasm');
    expect(card).toContain('For a byte p this is simply p − 128');
    expect(card).toContain('Negate the garment');
    expect(card).toContain(`0 ${CLASS_NAMES[0]}, 1 ${CLASS_NAMES[1]}`);
    expect(card).toContain(`${(evaluation.accuracy * 100).toFixed(2)} %`);
    const bag = evaluation.perClass[8]!;
    expect(card).toContain(`| Bag | ${bag.precision.toFixed(3)} | ${bag.recall.toFixed(3)} | ${bag.f1.toFixed(3)} | ${bag.support} |`);
    expect(card).toContain('Accuracy on real photos: not measured');
    expect(card).toContain('about half to two thirds right');
    expect(card).toContain('python3 check.py');
    expect(card).not.toContain('`');
    const onnxCard = readFileSync(join(exported.onnx.path, 'MODEL_CARD.md'), 'utf8');
    expect(onnxCard).toContain('npm install onnxruntime-node');
    expect(onnxCard).toContain('Feed the values as float32');
  });

  it.each(['tfjs', 'onnx'] as const)('%s: node check.mjs passes on the export, and fails naming the samples once weights are altered', async (format) => {
    const dir = exported[format].path;
    const passed = await runCheck(dir, 'check.mjs');
    expect(passed.output).toMatch(/^PASS: 10 of 10 samples match within/m);
    expect(passed.code).toBe(0);

    const altered = join(out, `${format}-altered`);
    await atelier.models.export({ runId, format, path: altered });
    negateWeights(altered, format);
    const failed = await runCheck(altered, 'check.mjs');
    expect(failed.code).toBe(1);
    expect(failed.output).toMatch(/^FAIL sample-\d\.png: /m);
    expect(failed.output).toMatch(/^FAIL: \d of 10 samples match .*; wrong: sample-\d\.png/m);
  }, 60_000);

  describe.skipIf(noArmnn !== null)(`check.py with Arm NN${noArmnn ? ` — skipped: ${noArmnn}` : ''}`, () => {
    it.each(['tflite', 'tflite-int8'] as const)('%s: python3 check.py passes on the export, and fails naming the samples once weights are altered', async (format) => {
      const dir = exported[format].path;
      const passed = await runCheck(dir, 'check.py');
      expect(passed.output).toContain('runtime: pyarmnn');
      expect(passed.output).toMatch(/^PASS: 10 of 10 samples match within/m);
      expect(passed.code).toBe(0);

      const altered = join(out, `${format}-altered`);
      await atelier.models.export({ runId, format, path: altered });
      negateWeights(altered, format);
      const failed = await runCheck(altered, 'check.py');
      expect(failed.code).toBe(1);
      expect(failed.output).toMatch(/^FAIL sample-\d\.png: /m);
      expect(failed.output).toMatch(/^FAIL: \d of 10 samples match .*; wrong: sample-\d\.png/m);
    }, 60_000);
  });

  it('export --force replaces an earlier export with its samples/, but not one whose samples/ holds a file of the person', async () => {
    const target = join(out, 'force-samples');
    await atelier.models.export({ runId, format: 'onnx', path: target });
    await atelier.models.export({ runId, format: 'onnx', path: target, force: true });
    writeFileSync(join(target, 'samples', 'my-shirt.png'), 'mine');
    await expect(atelier.models.export({ runId, format: 'onnx', path: target, force: true })).rejects.toMatchObject({ kind: 'target-exists', message: expect.stringContaining('(samples/my-shirt.png)') });
    expect(readFileSync(join(target, 'samples', 'my-shirt.png'), 'utf8')).toBe('mine');
  }, 60_000);
});
