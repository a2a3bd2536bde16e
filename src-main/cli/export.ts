/**
 * `atelier export` and `atelier import`: take a trained model elsewhere (TF.js, ONNX or TFLite,
 * with atelier-model.json) and bring a TF.js model in as a run, through the same calls the app makes.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ExportFormatSchema, type ModelExport, type ModelImport } from '../contract';
import { AtelierError } from '../core/errors';
import { EXPORT_FORMATS } from '../core/export/formats';
import type { CliIo } from './commands';
import { withAtelier, type CliDeps } from './session';

const FORMAT_CHOICES = ExportFormatSchema.options.join('|');

export const EXPORT_HELP_LINES = `  export --run ID|latest --format ${FORMAT_CHOICES} --out PATH [--force] [--json]
                               Write a finished run's model into the folder PATH (TF.js: model.json +
                               weights.bin; ONNX: model.onnx, opset 13; TFLite: model.tflite, float32;
                               TFLite int8: model.tflite quantized on 500 training images, a quarter of
                               the size; each with atelier-model.json), checked before it is moved into
                               place (PATH's parent folder must exist); --force replaces a folder
                               holding nothing but an earlier export
  import PATH [--json]         Add a TF.js layers model (its folder or model.json) as a run, evaluated
                               on the test set; it must take 28×28 grayscale images and give 10 classes`;

const bytes = (count: number): string => `${count.toLocaleString('en-US')} bytes`;

export function formatExport(result: ModelExport, runName: string): string {
  // The bundle's samples/ folder is a dozen small files: one line for all of them.
  const samples = result.files.filter((file) => file.name.startsWith('samples/'));
  const rows = result.files.filter((file) => !file.name.startsWith('samples/')).map((file) => ({ name: file.name, bytes: file.bytes }));
  if (samples.length > 0) rows.push({ name: `samples/ (${samples.length} files)`, bytes: samples.reduce((sum, file) => sum + file.bytes, 0) });
  const width = Math.max(...rows.map((row) => row.name.length));
  return [
    `Exported run "${runName}" (${result.runId}) as ${EXPORT_FORMATS[result.format].label} to ${result.path}`,
    ...rows.map((row) => `  ${row.name.padEnd(width)}  ${bytes(row.bytes).padStart(15)}`),
    'Check it anywhere: MODEL_CARD.md says how; the check script runs the samples and says pass or fail.',
    `Checked: re-loaded and compared with the run's own predictions on ${result.check.images} probe images (largest difference ${result.check.largestDifference.toExponential(1)}, same most likely class on ${result.check.sameTopClass}).`,
  ].join('\n');
}

export function formatImport(result: ModelImport, path: string): string {
  const run = result.run;
  const accuracy = run.testAccuracy === null ? 'not evaluated' : `test accuracy ${(run.testAccuracy * 100).toFixed(2)}%`;
  const lines = [`Imported ${path} as run "${run.name}" (${run.id}): ${accuracy}.${run.active ? ' It is the model Classify uses.' : ''}`];
  if (result.note) lines.push(result.note);
  return lines.join('\n');
}

export async function commandExport(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      run: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const format = ExportFormatSchema.safeParse(values.format);
  if (!format.success) throw new AtelierError('invalid-payload', `--format must be one of ${ExportFormatSchema.options.join(', ')}${values.format ? `, not "${values.format}"` : ''}.`);
  if (!values.out) throw new AtelierError('invalid-payload', 'Name the folder to write with --out PATH (it must not exist yet, or use --force to replace a folder holding nothing but an earlier export).');
  const path = resolve(values.out);
  return withAtelier(deps, async (atelier) => {
    const runId = await deps.resolveRun(atelier, values.run);
    const result = await deps.call(atelier, 'models.export', { runId, format: format.data, path, force: values.force });
    const run = await deps.call(atelier, 'runs.get', { runId });
    io.out(values.json ? JSON.stringify(result) : formatExport(result, run.name));
    return 0;
  });
}

export async function commandImport(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  const [path, ...extra] = positionals;
  if (!path || extra.length) throw new AtelierError('invalid-payload', 'Name one model folder (or its model.json): atelier import PATH.');
  return withAtelier(deps, async (atelier) => {
    const result = await deps.call(atelier, 'models.import', { path: resolve(path) });
    io.out(values.json ? JSON.stringify(result) : formatImport(result, resolve(path)));
    return 0;
  });
}
