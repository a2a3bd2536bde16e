/**
 * `atelier dataset …`: where Fashion-MNIST is, whether it verifies, and filling the cache, with
 * the same calls the app makes (a folder chosen here is the one the app uses, and back).
 */
import { parseArgs } from 'node:util';
import { calls, type DatasetSources, type DatasetSummary, type DownloadProgress } from '../contract';
import { AtelierError, toErrorInfo, type ErrorInfo } from '../core/errors';
import type { CliIo } from './commands';
import { withAtelier, type CliDeps } from './session';

export const DATASET_HELP = `Usage: atelier dataset <info|fetch|use> [options]

  info [--json]                Which source is used, every place looked at, and the 70,000 images
                               read and verified (exit 1 when the data is missing or damaged)
  fetch [--from DIR|URL]       Fill Atelier's cache: download from the official mirrors, from the
                               mirror URL given (a base URL holding the four .gz files), or copy
                               from a folder; every file is verified before the cache changes
  use DIR | --forget           Use this folder first from now on, in the app too (or forget it)`;

/** `atelier dataset info --json`: the summary of what was read and verified, plus every source. */
export interface DatasetInfoJson {
  source: DatasetSummary['source'] | null;
  verified: boolean;
  /** Images read and verified, both splits: 70,000 when all is well, 0 when it could not be read. */
  images: number;
  classNames: string[];
  train: DatasetSummary['train'] | null;
  test: DatasetSummary['test'] | null;
  using: DatasetSources['using'];
  chosenDir: string | null;
  sources: DatasetSources['sources'];
  error: ErrorInfo | null;
}

const SOURCE_LABELS: Record<string, string> = {
  'user-folder': 'the folder you chose',
  env: 'FASHION_MNIST_DIR',
  cache: "Atelier's cache",
  'system-package': 'the system package',
  download: 'download',
};

export async function commandDataset(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'info':
      return datasetInfo(rest, io, deps);
    case 'fetch':
      return datasetFetch(rest, io, deps);
    case 'use':
      return datasetUse(rest, io, deps);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(DATASET_HELP);
      return sub === undefined ? 2 : 0;
    default:
      io.err(`Unknown dataset command "${sub}".\n\n${DATASET_HELP}`);
      return 2;
  }
}

async function datasetInfo(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  return withAtelier(deps, async (atelier) => {
    const sources = await deps.call(atelier, 'dataset.sources', {});
    let summary: DatasetSummary | null = null;
    let error: ErrorInfo | null = null;
    try {
      summary = await deps.call(atelier, 'dataset.summary', {});
    } catch (caught) {
      error = toErrorInfo(caught);
    }
    const info: DatasetInfoJson = {
      source: summary?.source ?? null,
      verified: summary?.verified ?? false,
      images: summary ? summary.train.count + summary.test.count : 0,
      classNames: summary?.classNames ?? [],
      train: summary?.train ?? null,
      test: summary?.test ?? null,
      using: sources.using,
      chosenDir: sources.chosenDir,
      sources: sources.sources,
      error,
    };
    if (values.json) io.out(JSON.stringify(info, null, 2));
    else io.out(formatDatasetInfo(info));
    if (error && !values.json) io.err(`atelier dataset info: ${error.message}`);
    return error ? 1 : 0;
  });
}

/** The terminal form of `dataset info`. */
export function formatDatasetInfo(info: DatasetInfoJson): string {
  const lines: string[] = [];
  if (info.source && info.train && info.test) {
    lines.push(`Fashion-MNIST: ${info.images.toLocaleString('en-US')} images${info.verified ? ', checksums verified' : ''}`);
    lines.push(`  from ${SOURCE_LABELS[info.source.kind] ?? info.source.kind}: ${info.source.dir}`);
    lines.push(`  training ${info.train.count.toLocaleString('en-US')} · test ${info.test.count.toLocaleString('en-US')}`);
    const width = Math.max(...info.classNames.map((name) => name.length));
    info.classNames.forEach((name, label) => {
      const train = (info.train?.perClass[label] ?? 0).toLocaleString('en-US').padStart(6);
      const test = (info.test?.perClass[label] ?? 0).toLocaleString('en-US').padStart(6);
      lines.push(`    ${String(label).padStart(2)} ${name.padEnd(width)}  ${train} train  ${test} test`);
    });
  } else {
    lines.push('Fashion-MNIST: not usable');
  }
  lines.push('');
  lines.push('Where Atelier looks, in order:');
  for (const source of info.sources) {
    const mark = source.kind === info.using ? '✔' : source.state === 'incomplete' ? '!' : '·';
    lines.push(`  ${mark} ${source.kind.padEnd(15)} ${source.state.padEnd(10)} ${source.location}`);
    if (source.state !== 'found' && source.state !== 'available') lines.push(`    ${source.hint}`);
  }
  return lines.join('\n');
}

const URL_PATTERN = /^[a-z][a-z0-9+.-]*:\/\//i;

async function datasetFetch(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values } = parseArgs({ args, options: { from: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
  return withAtelier(deps, async (atelier) => {
    const tty = !values.json && process.stderr.isTTY === true;
    const unsubscribe = atelier.events.subscribe((name, payload) => {
      if (name !== 'dataset.progress' || values.json) return;
      const progress = payload as DownloadProgress;
      if (tty) process.stderr.write(`\r${formatProgress(progress)}\u001b[K`);
      else if (progress.phase === 'done') io.err(`  ✔ ${progress.file} (${formatMegabytes(progress.receivedBytes)}) verified`);
    });
    const stop = (): void => {
      atelier.datasets.cancelDownload();
    };
    process.once('SIGINT', stop);
    try {
      let report: DatasetSources;
      const from = values.from;
      if (from !== undefined && !URL_PATTERN.test(from)) {
        if (!values.json) io.out(`Copying Fashion-MNIST from ${from} into ${atelier.datasets.cacheDir}, verifying each file…`);
        report = await atelier.datasets.importFolder(from);
      } else {
        // The contract's own check, so a bad URL is refused in the words the app uses.
        const input = calls['dataset.download'].input.safeParse(from === undefined ? {} : { mirror: from });
        if (!input.success) throw new AtelierError('invalid-payload', `--from ${from}: ${input.error.issues[0]?.message ?? 'not a mirror URL'}`);
        if (!values.json) io.out(`Downloading Fashion-MNIST from ${from ?? atelier.datasets.mirrors[0]} into ${atelier.datasets.cacheDir}; Ctrl+C cancels.`);
        // The service's own promise (the contract call answers at once); progress still arrives as events.
        report = await atelier.datasets.download(input.data.mirror ? { mirror: input.data.mirror } : {});
      }
      if (tty) process.stderr.write('\n');
      const cache = report.sources.find((source) => source.kind === 'cache');
      if (values.json) io.out(JSON.stringify({ cacheDir: atelier.datasets.cacheDir, cacheState: cache?.state ?? null, using: report.using, sources: report.sources }, null, 2));
      else {
        io.out(`Fashion-MNIST is in ${atelier.datasets.cacheDir}: the four files are there and verified.`);
        if (report.using !== 'cache' && report.using) io.out(`Atelier still uses ${SOURCE_LABELS[report.using]}, which comes first; the cache is the fallback.`);
      }
      return 0;
    } finally {
      process.removeListener('SIGINT', stop);
      unsubscribe();
    }
  });
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** One status line: file, bytes, percent, speed. */
export function formatProgress(progress: DownloadProgress): string {
  const of = progress.totalBytes ? ` / ${formatMegabytes(progress.totalBytes)}` : '';
  const percent = `${Math.round(progress.overallFraction * 100)}%`.padStart(4);
  const speed = progress.phase === 'downloading' ? ` · ${formatMegabytes(progress.bytesPerSecond)}/s` : ` · ${progress.phase}`;
  return `  ${percent}  ${progress.file} (${progress.fileIndex + 1}/${progress.fileCount}) ${formatMegabytes(progress.receivedBytes)}${of}${speed}`;
}

async function datasetUse(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { forget: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  if (values.forget === (positionals.length === 1) || positionals.length > 1) {
    io.err('Give one folder (atelier dataset use DIR) or --forget.');
    return 2;
  }
  return withAtelier(deps, async (atelier) => {
    const report = await deps.call(atelier, 'dataset.chooseFolder', { path: values.forget ? null : positionals[0] });
    io.out(
      report.chosenDir
        ? `Atelier will use ${report.chosenDir} first, in the app and here (remembered in ${atelier.datasets.settingsPath}).`
        : `Forgot the chosen folder; Atelier uses ${report.using ? SOURCE_LABELS[report.using] : 'nothing yet: run ‘atelier dataset fetch’'}.`,
    );
    return 0;
  });
}
