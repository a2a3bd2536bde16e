/**
 * Export and import in the browser shell: a run trained by the CLI (same data folder) is
 * downloaded as an ONNX .zip and as float and int8 TFLite .zips from the Models view, a TF.js
 * export is uploaded back as a new run, and a model of the wrong shape is refused with what it
 * has and what is needed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, expect, test, type AtelierServer, screenshot } from './fixtures';

const run = promisify(execFile);

function atelier(server: AtelierServer, args: string[]) {
  return run(process.execPath, [join(ROOT, 'bin/atelier.js'), ...args], { cwd: ROOT, env: { ...process.env, ATELIER_HOME: server.home }, maxBuffer: 1 << 22 });
}

/** A TF.js layers model that takes 32×32 colour images and gives 5 classes (weights all zero). */
function writeWrongModel(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'cifar_like',
      layers: [
        { class_name: 'Flatten', config: { name: 'flatten', batch_input_shape: [null, 32, 32, 3], dtype: 'float32' } },
        { class_name: 'Dense', config: { name: 'dense', units: 5, activation: 'softmax', use_bias: true } },
      ],
    },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
  const weights = [
    { name: 'dense/kernel', shape: [3072, 5], dtype: 'float32' },
    { name: 'dense/bias', shape: [5], dtype: 'float32' },
  ];
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths: ['weights.bin'], weights }] }));
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array((3072 * 5 + 5) * 4));
}

test.describe.serial('Export and import (browser shell)', () => {
  let scratch: string;

  test.beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'atelier-e2e-export-'));
  });
  test.afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test('downloads a run as an ONNX .zip from the Models view', async ({ page, server }) => {
    test.setTimeout(180_000);
    await atelier(server, ['train', '--preset', 'cnn', '--epochs', '1', '--limit', '500']);
    await page.setViewportSize({ width: 1280, height: 760 });
    await page.goto(`${server.url}#/models`);
    const row = page.getByTestId('run-row').first();
    await expect(row.getByTestId('run-status')).toHaveText('completed');

    await row.getByTestId('run-export').click();
    const tfjs = page.getByRole('menuitem', { name: /TF\.js/ });
    await expect(tfjs).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await expect(page.getByRole('menuitem', { name: /ONNX/ })).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await expect(page.getByTestId('export-tflite')).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await expect(page.getByTestId('export-tflite-int8')).toBeFocused();
    await expect(page.getByTestId('export-tflite-int8')).toContainText('TFLite int8');
    await page.keyboard.press('ArrowDown');
    await expect(tfjs).toBeFocused();
    // All four formats fit in the window (the menu opens upwards when the row is low).
    const box = (await page.getByRole('menu').boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height).toBeLessThanOrEqual(760);
    await screenshot(page, 'models-export');
    await page.keyboard.press('Escape');
    await expect(page.getByRole('menu')).toHaveCount(0);
    await expect(row.getByTestId('run-export')).toBeFocused();

    await row.getByTestId('run-export').click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-onnx').click()]);
    expect(download.suggestedFilename()).toMatch(/^fashion-cnn-\d{4}-\d{2}-\d{2}-onnx\.zip$/);
    const zip = join(scratch, download.suggestedFilename());
    await download.saveAs(zip);
    const { stdout } = await run('unzip', ['-Z1', zip]);
    // One folder holding the model, its metadata and the self-checking bundle (card, check script, samples/).
    const samples = [...Array.from({ length: 10 }, (_, index) => `samples/sample-${index}.png`), 'samples/samples.json'];
    const entries = stdout.trim().split('\n').filter((name) => !name.endsWith('/'));
    expect(new Set(entries.map((name) => name.split('/')[0])).size).toBe(1);
    expect(entries.map((name) => name.split('/').slice(1).join('/')).sort()).toEqual(['MODEL_CARD.md', 'atelier-model.json', 'check.mjs', 'model.onnx', ...samples].sort());
    await expect(page.getByRole('status')).toContainText(/Downloading fashion-cnn-.*-onnx\.zip .* checked against the run's own predictions/);
  });

  test('downloads the run as an int8 TFLite .zip: model.tflite a quarter of the float size', async ({ page, server }) => {
    test.setTimeout(120_000);
    await page.setViewportSize({ width: 1280, height: 760 });
    await page.goto(`${server.url}#/models`);
    const row = page.getByTestId('run-row').first();
    const sizes: Record<string, number> = {};
    for (const format of ['tflite', 'tflite-int8'] as const) {
      await row.getByTestId('run-export').click();
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId(`export-${format}`).click()]);
      expect(download.suggestedFilename()).toMatch(new RegExp(`^fashion-cnn-\\d{4}-\\d{2}-\\d{2}-${format}\\.zip$`));
      const zip = join(scratch, download.suggestedFilename());
      await download.saveAs(zip);
      const { stdout } = await run('unzip', ['-Zl', zip]);
      const entry = stdout.split('\n').find((line) => line.endsWith('/model.tflite'))!;
      sizes[format] = Number(entry.trim().split(/\s+/)[3]);
      const label = format === 'tflite' ? 'TFLite' : 'TFLite int8';
      await expect(page.getByRole('status')).toContainText(`: Small CNN #1 as ${label}, checked against the run's own predictions`);
    }
    expect(sizes['tflite-int8']! / sizes.tflite!).toBeLessThan(0.3);
  });

  test('imports an uploaded TF.js export as a new, evaluated run', async ({ page, server }) => {
    test.setTimeout(120_000);
    const exported = join(scratch, 'cnn-tfjs');
    await atelier(server, ['export', '--run', 'latest', '--format', 'tfjs', '--out', exported]);
    await page.setViewportSize({ width: 1280, height: 760 });
    await page.goto(`${server.url}#/models`);
    await expect(page.getByTestId('run-row')).toHaveCount(1);
    await page.getByTestId('models-import-files').setInputFiles(['model.json', 'weights.bin', 'atelier-model.json'].map((name) => join(exported, name)));
    await expect(page.getByTestId('models-import')).toHaveText('Importing and evaluating…');
    await expect(page.getByRole('status')).toContainText(/Imported Small CNN #1: test accuracy \d+\.\d%/, { timeout: 60_000 });
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    const imported = page.getByTestId('run-row').filter({ has: page.getByTestId('run-origin').getByText('imported', { exact: true }) });
    await expect(imported.getByTestId('run-epochs')).toHaveText('1');
    await expect(imported.getByTestId('run-accuracy')).toHaveText(await page.getByTestId('run-row').filter({ hasNot: page.getByText('imported', { exact: true }) }).getByTestId('run-accuracy').innerText());
    await screenshot(page, 'models-imported');
  });

  test('refuses a model of the wrong shape, saying what it has and what is needed', async ({ page, server }) => {
    const wrong = join(scratch, 'wrong');
    writeWrongModel(wrong);
    await page.goto(`${server.url}#/models`);
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    await page.getByTestId('models-import-files').setInputFiles([join(wrong, 'model.json'), join(wrong, 'weights.bin')]);
    await expect(page.getByRole('alert')).toHaveText(
      'This model takes [32,32,3] images and gives 5 classes; Atelier needs 28×28 grayscale input ([28,28] or [28,28,1]) and 10 output classes.',
    );
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    expect(readFileSync(join(wrong, 'model.json'), 'utf8')).toContain('cifar_like');
  });
});
