/**
 * `atelier`: the core without a UI, for scripts, benchmarks and servers.
 * Runs trained here appear in the app and the other way round (same data folder).
 */
import { parseArgs } from 'node:util';
import { rendererDir } from '../locations';
import type { Atelier } from '../app';
import { DEFAULT_PHOTO_SHARE, type EventPayload, type LearningRateSchedule, type TrainingPhotoRecord } from '../contract';
import { CLASS_NAMES } from '../core/fashion-mnist';
import { AtelierError, toErrorInfo } from '../core/errors';
import { APP_VERSION } from '../version';
import { formatEpoch, formatEvaluation, formatRuns, formatSweep, formatSystemInfo, type RunLineage } from './format';
import { commandDataset } from './dataset';
import { commandExport, commandImport, EXPORT_HELP_LINES } from './export';
import { BENCH_HELP_LINES, commandBench } from './bench';
import { commandClassify, commandPhotosEval, PHOTOS_HELP_LINES } from './photos';
import { commandMyPhotos, MY_PHOTOS_HELP_LINES } from './my-photos';
import { commandPhotosCrossValidation, PHOTOS_CV_HELP_LINES, wantsCrossValidation } from './photos-cv';
import { cliDeps, withAtelier } from './session';

const HELP = `Atelier ${APP_VERSION} — train, judge, use and export a Fashion-MNIST clothing classifier.

Usage: atelier <command> [options]

Commands:
  system [--json]              Engine backend (and why others were skipped), dataset sources, data folder
  serve [--port N]             Serve the app to a browser on 127.0.0.1 (prints a URL with a session token)
  train [options] [--json]     Train a model; one line per epoch, then the test-set evaluation
      --preset tutorial-mlp|cnn|photo-robust|best   --epochs N   --batch-size N   --learning-rate X
      --hidden-units N   --validation-split X   --seed N   --limit N (first N training images)
      --my-photos [--photo-share S]   mix My photos into every epoch at share S (default ${DEFAULT_PHOTO_SHARE})
      --schedule constant|step|cosine|one-cycle [--step-every N --step-factor F]   learning rate per batch
      --early-stopping P        stop when the validation loss has not improved for P epochs, keep the best
  train --resume ID|latest [--epochs N] [--from-epoch K] [--json]
                               Go on training a run from its last checkpoint, in the same run: the rest of a
                               stopped or failed run, or N more epochs (Train more); --from-epoch K starts from
                               an older checkpoint when the newest is damaged
  lr-find [train's model options] [--batches N] [--json]
                               Learning-rate finder: a sweep on a copy of a new model (nothing is saved);
                               loss against rate, and the rate where it falls fastest
  teach --run ID|latest [--epochs N] [--photo-share S] [--json]
                               Teach a run's model with My photos: a new run from its weights, linked to it
                               (default 1 epoch; the share the run had, else ${DEFAULT_PHOTO_SHARE}); prints the photos used
                               and the test accuracy against the parent's
  evaluate --run ID|latest [--json] [--recompute]
                               Test-set loss, accuracy, confusion matrix and per-class scores
  runs [--json]                Every run: date, preset, backend, epochs, duration, test accuracy, status,
                               and the run a taught run started from
${EXPORT_HELP_LINES}
${PHOTOS_HELP_LINES}
${PHOTOS_CV_HELP_LINES}
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

/** `--photo-share S` as a number, or undefined; the contract checks its range. */
function photoShareOption(value: string | undefined): number | undefined {
  return numberOption('photo-share', value);
}

/** "5 photos (T-shirt/top 1, Trouser 1, Dress 1, Sneaker 2)": what a run trained on, per class. */
export function describeRunPhotos(photos: readonly TrainingPhotoRecord[]): string {
  if (photos.length === 0) return 'no photos';
  const perClass = CLASS_NAMES.map((name, label) => ({ name, count: photos.filter((photo) => photo.label === label).length })).filter((entry) => entry.count > 0);
  return `${photos.length} photo${photos.length === 1 ? '' : 's'} (${perClass.map((entry) => `${entry.name} ${entry.count}`).join(', ')})`;
}

function photosPerClass(photos: readonly TrainingPhotoRecord[]): Record<string, number> {
  return Object.fromEntries(CLASS_NAMES.map((name, label) => [name, photos.filter((photo) => photo.label === label).length] as const).filter(([, count]) => count > 0));
}

/**
 * Start a training (train or teach, through the dispatcher like every shell), print its epochs as
 * they come, let Ctrl+C stop it after the current batch, and report the run: status, parent, the
 * photos it used and its test-set evaluation. Returns the exit code.
 */
async function followTraining(atelier: Atelier, io: CliIo, json: boolean, start: () => Promise<{ runId: string }>): Promise<number> {
  let lastLine = 0;
  const unsubscribe = atelier.events.subscribe((name, payload) => {
    if (name === 'training.epoch') {
      const epoch = payload as EventPayload<'training.epoch'>;
      io.out(json ? JSON.stringify({ type: 'epoch', ...epoch }) : formatEpoch(epoch));
    } else if (name === 'training.batch' && !json && process.stderr.isTTY && Date.now() - lastLine > 250) {
      lastLine = Date.now();
      const batch = payload as EventPayload<'training.batch'>;
      process.stderr.write(`\r  epoch ${batch.epoch}/${batch.epochs} · batch ${batch.batch}/${batch.batches} · loss ${batch.loss.toFixed(4)} · ${Math.round(batch.samplesPerSecond)} samples/s   `);
    }
  });
  const stopOnSignal = (): void => {
    atelier.training.stop();
  };
  try {
    const { runId } = await start();
    const started = await call(atelier, 'runs.get', { runId });
    if (!json) {
      io.out(`Training run ${runId} (${started.name}, backend ${atelier.engine.lastInfo?.backend ?? '?'}); Ctrl+C stops after the current batch.`);
      if (started.parentRunId) io.out(`Taught from ${await runLabel(atelier, started.parentRunId)}.`);
      if (started.config?.myPhotos) io.out(`My photos: ${describeRunPhotos(started.photos)}, ${started.config.myPhotos.share} of each epoch's samples.`);
    }
    process.once('SIGINT', stopOnSignal);
    await atelier.training.settled();
    if (!json && process.stderr.isTTY) process.stderr.write('\n');
    const run = await call(atelier, 'runs.get', { runId });
    const evaluation = run.hasModel && run.status !== 'failed' ? await call(atelier, 'evaluation.get', { runId }) : null;
    const parentAccuracy = run.parentRunId ? await call(atelier, 'runs.get', { runId: run.parentRunId }).then((parent) => parent.testAccuracy, () => null) : null;
    if (json) {
      io.out(
        JSON.stringify({
          type: 'result', runId, status: run.status, error: run.error, backend: run.backend, durationSeconds: run.durationSeconds,
          parentRunId: run.parentRunId, parentTestAccuracy: parentAccuracy, photos: run.photos.length, photosPerClass: photosPerClass(run.photos), evaluation,
        }),
      );
    } else {
      io.out(`Run ${runId}: ${run.status}${run.error ? ` — ${run.error}` : ''}`);
      if (evaluation) io.out(formatEvaluation(evaluation));
      if (evaluation && run.parentRunId && parentAccuracy !== null) {
        const change = (evaluation.accuracy - parentAccuracy) * 100;
        io.out(`Test accuracy ${(evaluation.accuracy * 100).toFixed(2)}% against ${(parentAccuracy * 100).toFixed(2)}% for the parent (${change >= 0 ? '+' : ''}${change.toFixed(2)} points).`);
      }
    }
    return run.status === 'failed' ? 1 : 0;
  } finally {
    process.removeListener('SIGINT', stopOnSignal);
    unsubscribe();
  }
}

/** "Tutorial MLP #3 (2026-…-abc123)", or the bare id when that run is gone. */
async function runLabel(atelier: Atelier, runId: string): Promise<string> {
  try {
    return `${(await call(atelier, 'runs.get', { runId })).name} (${runId})`;
  } catch {
    return `${runId} (deleted)`;
  }
}

const SCHEDULE_KINDS = ['constant', 'step', 'cosine', 'one-cycle'] as const;

/** `--schedule` and its step options as a schedule, or undefined for the preset's; the contract checks the numbers. */
function scheduleOption(values: { schedule?: string; 'step-every'?: string; 'step-factor'?: string }): LearningRateSchedule | undefined {
  const kind = values.schedule;
  const stepOptions = values['step-every'] !== undefined || values['step-factor'] !== undefined;
  if (kind === undefined) {
    if (stepOptions) throw new AtelierError('invalid-config', '--step-every and --step-factor belong to --schedule step.');
    return undefined;
  }
  if (!(SCHEDULE_KINDS as readonly string[]).includes(kind)) throw new AtelierError('invalid-config', `Unknown schedule "${kind}". Choose one of: ${SCHEDULE_KINDS.join(', ')}.`);
  if (kind !== 'step') {
    if (stepOptions) throw new AtelierError('invalid-config', `--step-every and --step-factor belong to --schedule step, not ${kind}.`);
    return { kind } as LearningRateSchedule;
  }
  return { kind: 'step', everyEpochs: numberOption('step-every', values['step-every']) ?? 1, factor: numberOption('step-factor', values['step-factor']) ?? 0.5 };
}

/** The model and training options `train` and `lr-find` share. */
const CONFIG_OPTIONS = {
  preset: { type: 'string', default: 'tutorial-mlp' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  'learning-rate': { type: 'string' },
  'hidden-units': { type: 'string' },
  'validation-split': { type: 'string' },
  seed: { type: 'string' },
  limit: { type: 'string' },
  schedule: { type: 'string' },
  'step-every': { type: 'string' },
  'step-factor': { type: 'string' },
  'early-stopping': { type: 'string' },
} as const;

type ConfigValues = { [K in keyof typeof CONFIG_OPTIONS]?: string };

/** A preset's defaults with the options given on the command line (the contract checks the result). */
async function configFromOptions(atelier: Atelier, values: ConfigValues): Promise<Record<string, unknown>> {
  const presets = await call(atelier, 'training.presets', {});
  const preset = presets.find((candidate) => candidate.id === values.preset);
  if (!preset) throw new AtelierError('invalid-config', `Unknown preset "${values.preset}". Choose one of: ${presets.map((p) => p.id).join(', ')}.`);
  const schedule = scheduleOption(values);
  const patience = numberOption('early-stopping', values['early-stopping']);
  return {
    ...preset.defaults,
    ...definedOnly({
      epochs: numberOption('epochs', values.epochs),
      batchSize: numberOption('batch-size', values['batch-size']),
      learningRate: numberOption('learning-rate', values['learning-rate']),
      hiddenUnits: numberOption('hidden-units', values['hidden-units']),
      validationSplit: numberOption('validation-split', values['validation-split']),
      seed: numberOption('seed', values.seed),
      trainLimit: numberOption('limit', values.limit),
      schedule,
      earlyStopping: patience === undefined ? undefined : { patience },
    }),
  };
}

async function commandTrain(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...CONFIG_OPTIONS,
      resume: { type: 'string' },
      'from-epoch': { type: 'string' },
      'my-photos': { type: 'boolean', default: false },
      'photo-share': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const share = photoShareOption(values['photo-share']);
  if (share !== undefined && !values['my-photos']) throw new AtelierError('invalid-config', '--photo-share says how much of each epoch is My photos; add --my-photos to train with them.');
  if (values.resume !== undefined) {
    // A resumed run keeps its own settings: only how far it goes may be said.
    const settings = Object.keys(CONFIG_OPTIONS).filter((name) => name !== 'epochs' && name !== 'preset' && values[name as keyof ConfigValues] !== undefined);
    if (values.preset !== 'tutorial-mlp') settings.unshift('preset');
    if (values['my-photos']) settings.push('my-photos');
    if (settings.length > 0) throw new AtelierError('invalid-config', `--resume goes on with the run's own settings; leave out --${settings.join(', --')} (only --epochs N and --from-epoch K apply).`);
    const epochs = numberOption('epochs', values.epochs);
    const fromEpoch = numberOption('from-epoch', values['from-epoch']);
    return withAtelier(cliDeps, async (atelier) => {
      const runId = await resolveRun(atelier, values.resume);
      const before = await call(atelier, 'runs.get', { runId });
      return followTraining(atelier, io, values.json, async () => {
        const started = await call(atelier, 'training.resume', { runId, ...definedOnly({ epochs, fromEpoch }) });
        if (!values.json) io.out(`Resuming ${before.name} after epoch ${fromEpoch ?? Math.max(before.checkpointEpoch ?? 0, before.epochsCompleted)}.`);
        return started;
      });
    });
  }
  if (values['from-epoch'] !== undefined) throw new AtelierError('invalid-config', '--from-epoch says which checkpoint --resume starts from; add --resume RUN.');
  return withAtelier(cliDeps, async (atelier) => {
    const config = {
      ...(await configFromOptions(atelier, values)),
      ...(values['my-photos'] ? { myPhotos: { share: share ?? DEFAULT_PHOTO_SHARE } } : {}),
    };
    return followTraining(atelier, io, values.json, () => call(atelier, 'training.start', config));
  });
}

async function commandLearningRateFinder(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { ...CONFIG_OPTIONS, batches: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
  const batches = numberOption('batches', values.batches);
  return withAtelier(cliDeps, async (atelier) => {
    const config = await configFromOptions(atelier, values);
    if (!values.json) io.err(`Sweeping the learning rate over ${batches ?? 200} batches on a copy of a new ${String(config.preset)} model…`);
    const sweep = await call(atelier, 'training.findLearningRate', { config, ...definedOnly({ batches }) });
    if (values.json) {
      io.out(JSON.stringify(sweep));
    } else {
      io.out(formatSweep(sweep));
    }
    return 0;
  });
}

async function commandTeach(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { run: { type: 'string' }, epochs: { type: 'string' }, 'photo-share': { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const epochs = numberOption('epochs', values.epochs);
  const share = photoShareOption(values['photo-share']);
  return withAtelier(cliDeps, async (atelier) => {
    const runId = await resolveRun(atelier, values.run);
    return followTraining(atelier, io, values.json, () => call(atelier, 'training.teach', { runId, ...definedOnly({ epochs, share }) }));
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
    if (values.json) {
      io.out(JSON.stringify(evaluation));
    } else {
      const run = await call(atelier, 'runs.get', { runId });
      io.out(`Run ${run.name} (${runId})${run.parentRunId ? `, taught from ${await runLabel(atelier, run.parentRunId)} with ${describeRunPhotos(run.photos)}` : run.photos.length ? `, trained with ${describeRunPhotos(run.photos)}` : ''}`);
      io.out(formatEvaluation(evaluation));
    }
    return 0;
  });
}

async function commandRuns(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  return withAtelier(cliDeps, async (atelier) => {
    const runs = await call(atelier, 'runs.list', {});
    // runs.list is the summary; which run a taught one started from is in each run's detail.
    const lineage = new Map<string, RunLineage>();
    for (const run of runs) {
      const detail = await call(atelier, 'runs.get', { runId: run.id }).catch(() => null);
      if (detail) lineage.set(run.id, { parentRunId: detail.parentRunId, photos: detail.photos.length });
    }
    if (values.json) {
      io.out(JSON.stringify(runs.map((run) => ({ ...run, parentRunId: lineage.get(run.id)?.parentRunId ?? null, photos: lineage.get(run.id)?.photos ?? 0 })), null, 2));
    } else {
      io.out(formatRuns(runs, lineage));
    }
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
      case 'teach':
        return await commandTeach(rest, io);
      case 'lr-find':
        return await commandLearningRateFinder(rest, io);
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
        return await (wantsCrossValidation(rest) ? commandPhotosCrossValidation(rest, io, cliDeps) : commandPhotosEval(rest, io, cliDeps));
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
