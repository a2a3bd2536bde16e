/**
 * `atelier`: the core without a UI, for scripts, benchmarks and servers.
 * Runs trained here appear in the app and the other way round (same data folder).
 */
import { parseArgs } from 'node:util';
import { rendererDir } from '../locations';
import type { EventPayload } from '../contract';
import { AtelierError, toErrorInfo } from '../core/errors';
import { APP_VERSION } from '../version';
import { formatEpoch, formatEvaluation, formatRuns, formatSystemInfo } from './format';
import { commandDataset } from './dataset';
import { commandExport, commandImport, EXPORT_HELP_LINES } from './export';
import { BENCH_HELP_LINES, commandBench } from './bench';
import { commandClassify, commandPhotosEval, PHOTOS_HELP_LINES } from './photos';
import { commandMyPhotos, MY_PHOTOS_HELP_LINES } from './my-photos';
import { cliDeps, withAtelier } from './session';

const HELP = `Atelier ${APP_VERSION} — train, judge, use and export a Fashion-MNIST clothing classifier.

Usage: atelier <command> [options]

Commands:
  system [--json]              Engine backend (and why others were skipped), dataset sources, data folder
  serve [--port N]             Serve the app to a browser on 127.0.0.1 (prints a URL with a session token)
  train [options] [--json]     Train a model; one line per epoch, then the test-set evaluation
      --preset tutorial-mlp|cnn|photo-robust   --epochs N   --batch-size N   --learning-rate X
      --hidden-units N   --validation-split X   --seed N   --limit N (first N training images)
  evaluate --run ID|latest [--json] [--recompute]
                               Test-set loss, accuracy, confusion matrix and per-class scores
  runs [--json]                Every run: date, preset, backend, epochs, duration, test accuracy, status
${EXPORT_HELP_LINES}
${PHOTOS_HELP_LINES}
${MY_PHOTOS_HELP_LINES}
  dataset info [--json]        Fashion-MNIST: source, every place looked at, 70,000 images verified
  dataset fetch [--from DIR|URL]
                               Fill the cache from the official mirrors, a mirror URL or a folder
  dataset use DIR | --forget   Use this folder first, here and in the app (or forget it)
${BENCH_HELP_LINES}
  help                         This text

Environment:
  ATELIER_HOME                 Data folder (default: the platform's per-user data folder)
  ATELIER_BACKEND              Force an engine backend: tensorflow-gpu | tensorflow | wasm | cpu
  FASHION_MNIST_DIR            A folder with the four Fashion-MNIST files
  ATELIER_SYSTEM_DATASET_DIR   Where to look for the system package (default /usr/share/datasets/fashion-mnist)
  ATELIER_DATASET_MIRRORS      Download base URLs, comma-separated (default: the official mirrors)
`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

const { call, resolveRun } = cliDeps;

async function commandSystem(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  return withAtelier(cliDeps, async (atelier) => {
    const info = await call(atelier, 'system.info', {});
    io.out(values.json ? JSON.stringify(info, null, 2) : formatSystemInfo(info));
    return 0;
  });
}

async function commandServe(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string', default: '0' } }, strict: true });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.err(`--port must be a whole number from 0 to 65535 (0 picks a free port), not "${values.port}".`);
    return 2;
  }
  const { startWebServer } = await import('../web/server');
  return withAtelier(cliDeps, async (atelier) => {
    const server = await startWebServer({
      atelier,
      rendererDir: rendererDir(),
      port,
    });
    io.out(`Atelier is running in your browser at:\n\n  ${server.url}\n\nOnly this machine can connect (127.0.0.1); the token in the URL is required. Press Ctrl+C to stop.`);
    void atelier.engine.info().catch(() => undefined); // warm the engine while the page loads
    await new Promise<void>((done) => {
      const stop = (): void => {
        void server.close().then(done);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  });
}

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new AtelierError('invalid-config', `--${name} must be a number, not "${value}".`);
  return parsed;
}

async function commandTrain(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      preset: { type: 'string', default: 'tutorial-mlp' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      'learning-rate': { type: 'string' },
      'hidden-units': { type: 'string' },
      'validation-split': { type: 'string' },
      seed: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  return withAtelier(cliDeps, async (atelier) => {
    const presets = await call(atelier, 'training.presets', {});
    const preset = presets.find((candidate) => candidate.id === values.preset);
    if (!preset) throw new AtelierError('invalid-config', `Unknown preset "${values.preset}". Choose one of: ${presets.map((p) => p.id).join(', ')}.`);
    const config = {
      ...preset.defaults,
      ...definedOnly({
        epochs: numberOption('epochs', values.epochs),
        batchSize: numberOption('batch-size', values['batch-size']),
        learningRate: numberOption('learning-rate', values['learning-rate']),
        hiddenUnits: numberOption('hidden-units', values['hidden-units']),
        validationSplit: numberOption('validation-split', values['validation-split']),
        seed: numberOption('seed', values.seed),
        trainLimit: numberOption('limit', values.limit),
      }),
    };
    let lastLine = 0;
    const unsubscribe = atelier.events.subscribe((name, payload) => {
      if (name === 'training.epoch') {
        const epoch = payload as EventPayload<'training.epoch'>;
        io.out(values.json ? JSON.stringify({ type: 'epoch', ...epoch }) : formatEpoch(epoch));
      } else if (name === 'training.batch' && !values.json && process.stderr.isTTY && Date.now() - lastLine > 250) {
        lastLine = Date.now();
        const batch = payload as EventPayload<'training.batch'>;
        process.stderr.write(`\r  epoch ${batch.epoch}/${batch.epochs} · batch ${batch.batch}/${batch.batches} · loss ${batch.loss.toFixed(4)} · ${Math.round(batch.samplesPerSecond)} samples/s   `);
      }
    });
    const { runId } = await call(atelier, 'training.start', config);
    if (!values.json) io.out(`Training run ${runId} (${preset.name}, backend ${atelier.engine.lastInfo?.backend ?? '?'}); Ctrl+C stops after the current batch.`);
    const stopOnSignal = (): void => {
      atelier.training.stop();
    };
    process.once('SIGINT', stopOnSignal);
    await atelier.training.settled();
    process.removeListener('SIGINT', stopOnSignal);
    unsubscribe();
    if (!values.json && process.stderr.isTTY) process.stderr.write('\n');
    const run = await call(atelier, 'runs.get', { runId });
    const evaluation = run.hasModel && run.status !== 'failed' ? await call(atelier, 'evaluation.get', { runId }) : null;
    if (values.json) {
      io.out(JSON.stringify({ type: 'result', runId, status: run.status, error: run.error, backend: run.backend, durationSeconds: run.durationSeconds, evaluation }));
    } else {
      io.out(`Run ${runId}: ${run.status}${run.error ? ` — ${run.error}` : ''}`);
      if (evaluation) io.out(formatEvaluation(evaluation));
    }
    return run.status === 'failed' ? 1 : 0;
  });
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}

async function commandEvaluate(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { run: { type: 'string' }, json: { type: 'boolean', default: false }, recompute: { type: 'boolean', default: false } }, strict: true });
  return withAtelier(cliDeps, async (atelier) => {
    const runId = await resolveRun(atelier, values.run);
    const evaluation = await call(atelier, 'evaluation.get', { runId, recompute: values.recompute });
    io.out(values.json ? JSON.stringify(evaluation) : formatEvaluation(evaluation));
    return 0;
  });
}

async function commandRuns(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  return withAtelier(cliDeps, async (atelier) => {
    const runs = await call(atelier, 'runs.list', {});
    io.out(values.json ? JSON.stringify(runs, null, 2) : formatRuns(runs));
    return 0;
  });
}

/** Entry point; returns the exit code. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(HELP);
        return 0;
      case '--version':
      case '-v':
        io.out(APP_VERSION);
        return 0;
      case 'system':
        return await commandSystem(rest, io);
      case 'serve':
        return await commandServe(rest, io);
      case 'train':
        return await commandTrain(rest, io);
      case 'evaluate':
        return await commandEvaluate(rest, io);
      case 'runs':
        return await commandRuns(rest, io);
      case 'dataset':
        return await commandDataset(rest, io, cliDeps);
      case 'export':
        return await commandExport(rest, io, cliDeps);
      case 'import':
        return await commandImport(rest, io, cliDeps);
      case 'bench':
        return await commandBench(rest, io);
      case 'classify':
        return await commandClassify(rest, io, cliDeps);
      case 'photos-eval':
        return await commandPhotosEval(rest, io, cliDeps);
      case 'photos':
        return await commandMyPhotos(rest, io, cliDeps);
      default:
        io.err(`Unknown command "${command}". Run ‘atelier --help’ for the list.`);
        return 2;
    }
  } catch (error) {
    const info = toErrorInfo(error);
    io.err(`atelier ${command}: ${info.message}`);
    return info.kind === 'invalid-payload' || info.kind === 'invalid-config' || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}
