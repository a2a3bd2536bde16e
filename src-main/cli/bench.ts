/**
 * `atelier bench`: the benchmark of issue 7 (training throughput, accuracy, photo latency and
 * memory per backend, next to PyTorch). Progress goes to stderr so `--json` stays one object.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PresetIdSchema, type BackendName, type PresetId } from '../contract';
import { formatBenchReport } from '../core/bench/format';
import { runBenchmark } from '../core/bench/run';
import { TIME_TO_ACCURACY_PRESETS } from '../core/bench/time-to-accuracy';
import { findDataset } from '../core/dataset/sources';
import { AtelierError } from '../core/errors';
import { engineWorkerUrl, realPhotosDir } from '../locations';
import type { CliIo } from './commands';

export const BENCH_HELP_LINES = `  bench [--json] [--quick] [--save] [--backends wasm,cpu] [--skip-pytorch]
      [--photos DIR] [--cnn-samples N] [--pytorch-threads 1,2] [--threads 1,2]
      [--accuracy-presets tutorial-mlp,cnn,best]
                               Training speed, thread scaling, time to 85/90/93 % test accuracy of
                               whole recipes, photo latency and memory per backend, next to PyTorch
                               (bench/pytorch_baseline.py) when it is installed; --quick skips the
                               accuracy runs`;

const LADDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];
const DEFAULT_PHOTOS = process.env.ATELIER_BENCH_PHOTOS || realPhotosDir();

/** Both `src-main/cli/bench.ts` and the flat `out/main/*.js` sit two folders below the repository. */
const baselineScript = (): string => fileURLToPath(new URL('../../bench/pytorch_baseline.py', import.meta.url));

function positiveInteger(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new AtelierError('invalid-config', `--${name} must be a whole number above 0, not "${value}".`);
  return parsed;
}

export function parseBackends(value: string): BackendName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !LADDER.includes(n as BackendName));
  if (names.length === 0 || unknown.length > 0) {
    throw new AtelierError('invalid-config', `--backends takes a comma-separated list of ${LADDER.join(', ')}; "${unknown.join(', ') || value}" is not one.`);
  }
  return names as BackendName[];
}

export async function commandBench(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      save: { type: 'boolean', default: false },
      backends: { type: 'string', default: LADDER.join(',') },
      'skip-pytorch': { type: 'boolean', default: false },
      photos: { type: 'string', default: DEFAULT_PHOTOS },
      'cnn-samples': { type: 'string', default: '3000' },
      'pytorch-threads': { type: 'string', default: '1,2' },
      threads: { type: 'string' },
      'accuracy-presets': { type: 'string', default: TIME_TO_ACCURACY_PRESETS.join(',') },
    },
    strict: true,
  });
  const backends = parseBackends(values.backends);
  const cnnSamples = positiveInteger('cnn-samples', values['cnn-samples']);
  const threads = values['pytorch-threads'].split(',').map((t) => positiveInteger('pytorch-threads', t.trim()));
  const threadCounts = values.threads?.split(',').map((t) => positiveInteger('threads', t.trim()));
  const accuracyPresets = values['accuracy-presets'].split(',').map((p) => p.trim()).filter(Boolean);
  const unknownPreset = accuracyPresets.find((p) => !PresetIdSchema.safeParse(p).success);
  if (unknownPreset) throw new AtelierError('invalid-config', `--accuracy-presets takes presets among ${PresetIdSchema.options.join(', ')}; "${unknownPreset}" is not one.`);
  const source = await findDataset();
  if (!source) throw new AtelierError('dataset-missing', 'Fashion-MNIST is not on this computer: install it with ‘apt install dataset-fashion-mnist’, or download it with ‘atelier dataset fetch’.');

  const report = await runBenchmark({
    engineWorkerUrl: engineWorkerUrl(),
    source,
    backends,
    quick: values.quick,
    cnnSamples,
    // The pure-JS backend trains the CNN at about one image a second here; three batches tell its rate.
    cnnSamplesSlowBackend: Math.min(cnnSamples, 96),
    warmupBatches: 5,
    photosDir: values.photos,
    photoCount: 100,
    pytorch: values['skip-pytorch'] ? null : { script: baselineScript(), threads },
    timeToAccuracy: values.quick ? null : { presets: accuracyPresets as PresetId[], trainLimit: null, testLimit: null },
    threadCounts,
    onProgress: (line) => io.err(`  ${line}`),
  });
  io.out(values.json ? JSON.stringify(report, null, 2) : formatBenchReport(report));
  if (values.save) {
    const dir = resolve('bench', 'results');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${report.date.slice(0, 10)}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    io.err(`Saved ${file}`);
  }
  return 0;
}
