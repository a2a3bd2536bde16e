/**
 * `atelier classify` and `atelier photos-eval`: the Classify view without a window, through the
 * same `photos.classifyPaths` call, for scripts and for measuring a model on real photos.
 */
import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Atelier } from '../app';
import { PHOTO_MAX_PATHS, WHY_METHOD, type PhotoBatch, type PhotoPreprocessing, type PhotoResult } from '../contract';
import { CLASS_NAMES } from '../core/fashion-mnist';
import { AtelierError, toErrorInfo } from '../core/errors';
import { writeFileAtomic } from '../core/fs-atomic';
import { photoResultsCsv } from '../core/photos/csv';
import { collectPhotoPaths } from '../core/photos/decode';
import { photoToInput } from '../core/photos/service';
import { whyPicture } from '../core/photos/why-picture';
import { fileSha256, photosSeenBy, type RunLineage, type SeenPhotos } from '../core/training/cross-validation';
import type { CliIo } from './commands';
import { withAtelier, type CliDeps } from './session';

export const PHOTOS_HELP_LINES = `  classify [--run ID|latest] FILE|DIR... [--json] [--naive] [--csv FILE|-] [--why [--why-dir DIR]]
                               Classify clothing photos (folders: the photos in them) with the run chosen
                               in Models, or --run; --json prints one JSON object per photo; --csv FILE
                               also saves them as CSV (file path, class, confidence, not sure, the ten
                               probabilities, error; one row per photo), --csv - prints only the CSV;
                               --why also writes each photo's heatmap of what raised its answer (occlusion:
                               the drop when a 4×4 patch is hidden) as FILE.why.png in --why-dir (default:
                               the current folder), the photo and its 28×28 input side by side
  photos-eval DIR [--run ID|latest] [--json] [--naive]
                               Top-1 accuracy on a folder of class folders laid out like real-photos
                               (t-shirt, pants, longsleeve, dress, outwear, shirt, shoes), overall and per
                               folder; --naive scores plain grayscale resizing instead of Atelier's preprocessing.
                               Photos the run (or a run it was taught from) trained on are refused: listed
                               and counted apart, never scored`;

/**
 * Folder name → the Fashion-MNIST classes counted as right, as in real-photos/README.md. A long
 * sleeve top is a pullover or a shirt; any footwear class counts for shoes.
 */
export const ACCEPTED_LABELS: Readonly<Record<string, readonly number[]>> = {
  't-shirt': [0],
  pants: [1],
  longsleeve: [2, 6],
  dress: [3],
  outwear: [4],
  shirt: [6],
  shoes: [5, 7, 9],
};

/**
 * Folder name → the class a photo of it trains as (cross-validation): one of its accepted classes,
 * the one a person would pick. A long sleeve top is taught as a pullover (shirts have their own
 * folder); shoes as sneakers, the footwear most of them are.
 */
export const TRAINING_LABELS: Readonly<Record<string, number>> = {
  't-shirt': 0,
  pants: 1,
  longsleeve: 2,
  dress: 3,
  outwear: 4,
  shirt: 6,
  shoes: 7,
};

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

/** One photo's result as a JSON line for scripts. */
export function photoJson(result: PhotoResult): Record<string, unknown> {
  const file = result.path ?? result.name;
  if (!result.ok) return { file, ok: false, error: result.error };
  return {
    file,
    ok: true,
    class: result.classIndex,
    label: result.className,
    confidence: result.confidence,
    notSure: result.notSure,
    probabilities: result.probabilities,
  };
}

/** The "why" part of a photo's JSON line: the PNG written, the class explained and how. */
export function whyJson(result: PhotoResult, png: string | undefined): Record<string, unknown> {
  if (!result.ok || !result.why || png === undefined) return {};
  return { why: { png, class: result.why.classIndex, probability: result.why.probability, method: 'occlusion', patch: result.why.patch, stride: result.why.stride } };
}

/** One photo's result as a line for people. */
export function formatPhotoLine(result: PhotoResult, width: number): string {
  const file = (result.path ?? result.name).padEnd(width);
  if (!result.ok) return `  ${file}  ✗ ${result.error.kind}: ${result.error.message}`;
  return `  ${file}  ${result.className.padEnd(11)} ${percent(result.confidence).padStart(6)}${result.notSure ? '  (not sure)' : ''}`;
}

function preprocessingOf(naive: boolean): PhotoPreprocessing {
  return naive ? 'naive' : 'atelier';
}

/** Classify many paths in calls of at most `PHOTO_MAX_PATHS`, as one batch; `why` adds each photo's heatmap. */
export async function classifyAll(deps: CliDeps, atelier: Atelier, paths: string[], runId: string | undefined, preprocessing: PhotoPreprocessing, why = false): Promise<PhotoBatch> {
  const parts: PhotoBatch[] = [];
  for (let start = 0; start < paths.length; start += PHOTO_MAX_PATHS) {
    parts.push(await deps.call(atelier, 'photos.classifyPaths', { paths: paths.slice(start, start + PHOTO_MAX_PATHS), includeSteps: false, preprocessing, ...(runId ? { runId } : {}), ...(why ? { why } : {}) }));
  }
  const [first] = parts;
  if (!first) throw new AtelierError('invalid-payload', 'Name at least one photo or folder.');
  return { ...first, results: parts.flatMap((part) => part.results) };
}

async function runOption(deps: CliDeps, atelier: Atelier, run: string | undefined): Promise<string | undefined> {
  return run === undefined ? undefined : deps.resolveRun(atelier, run);
}

/** Save the CSV at `path` in one piece (a reader never sees half of it), or say why it could not be. */
async function saveCsv(path: string, csv: string): Promise<void> {
  try {
    await writeFileAtomic(path, csv);
  } catch (error) {
    const info = toErrorInfo(error);
    if (info.kind === 'disk-full') throw new AtelierError('disk-full', `${path}: the CSV could not be saved, the disk is full — free some space or name a file on another disk.`, { cause: error });
    const code = (error as { code?: string }).code;
    const why = code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' || code === 'EPERM' ? 'no permission to write there' : code === 'ENOTDIR' ? 'part of the path is a file, not a folder' : info.message;
    throw new AtelierError('export-failed', `${path}: the CSV could not be saved (${why}) — name a file in a folder you can write to.`, { cause: error });
  }
}

/**
 * Write each explained photo's heatmap as `<file name>.why.png` in `dir` (a second photo of the same
 * name gets `-2`, `-3`, …); answers the PNG's path by result. The photo is decoded and preprocessed
 * again here, the same deterministic steps that made the input the heatmap explains.
 */
async function writeWhyPictures(results: readonly PhotoResult[], dir: string, preprocessing: PhotoPreprocessing): Promise<Map<PhotoResult, string>> {
  const written = new Map<PhotoResult, string>();
  const used = new Set<string>();
  for (const result of results) {
    if (!result.ok || !result.why || !result.framing || result.path === null) continue;
    const stem = basename(result.path);
    let name = `${stem}.why.png`;
    for (let n = 2; used.has(name); n += 1) name = `${stem}-${n}.why.png`;
    used.add(name);
    const target = join(dir, name);
    const { steps, framing } = await photoToInput({ path: result.path }, { preprocessing });
    try {
      await writeFileAtomic(target, await whyPicture(steps, framing, result.why));
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new AtelierError('export-failed', `${target}: the heatmap could not be saved (${code ?? toErrorInfo(error).message}) — name a folder you can write to with --why-dir.`, { cause: error });
    }
    written.set(result, target);
  }
  return written;
}

export async function commandClassify(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      run: { type: 'string' },
      json: { type: 'boolean', default: false },
      naive: { type: 'boolean', default: false },
      csv: { type: 'string' },
      why: { type: 'boolean', default: false },
      'why-dir': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new AtelierError('invalid-payload', 'Name the photos (or folders of photos) to classify: atelier classify [--run ID|latest] FILE...');
  const csvToStdout = values.csv === '-';
  if (csvToStdout && values.json) throw new AtelierError('invalid-config', '--csv - prints CSV and --json prints JSON, both on standard output; choose one, or save the CSV to a file with --csv FILE.');
  if (values.csv === '') throw new AtelierError('invalid-config', 'Name the CSV file after --csv (or --csv - to print it).');
  const csvPath = values.csv === undefined || csvToStdout ? null : resolve(values.csv);
  if (values['why-dir'] !== undefined && !values.why) throw new AtelierError('invalid-config', '--why-dir says where --why writes its heatmaps; add --why, or leave --why-dir out.');
  if (values['why-dir'] === '') throw new AtelierError('invalid-config', 'Name the folder after --why-dir.');
  const whyDir = resolve(values['why-dir'] ?? '.');
  return withAtelier(deps, async (atelier) => {
    const runId = await runOption(deps, atelier, values.run);
    const preprocessing = preprocessingOf(values.naive);
    const batch = await classifyAll(deps, atelier, positionals.map((path) => resolve(path)), runId, preprocessing, values.why);
    const whyPngs = values.why ? await writeWhyPictures(batch.results, whyDir, preprocessing) : new Map<PhotoResult, string>();
    const csv = values.csv === undefined ? null : photoResultsCsv(batch.results, batch.classNames);
    if (csv !== null && csvToStdout) {
      // io.out ends the text with LF: the CSV's last CRLF loses its LF here to stay RFC 4180.
      io.out(csv.slice(0, -1));
    } else if (values.json) {
      for (const result of batch.results) io.out(JSON.stringify({ ...photoJson(result), ...whyJson(result, whyPngs.get(result)) }));
    } else {
      io.out(`Classified with "${batch.run.name}" (${batch.run.id}${batch.run.testAccuracy === null ? '' : `, ${percent(batch.run.testAccuracy)} on the test set`}):`);
      const width = Math.min(60, Math.max(...batch.results.map((result) => (result.path ?? result.name).length)));
      for (const result of batch.results) {
        io.out(formatPhotoLine(result, width));
        const png = whyPngs.get(result);
        if (png) io.out(`  ${''.padEnd(width)}  why: ${png}`);
      }
      if (values.why) io.out(`Heatmaps: ${WHY_METHOD.summary}`);
    }
    if (csv !== null && csvPath !== null) {
      await saveCsv(csvPath, csv);
      if (!values.json) io.out(`Saved ${batch.results.length} ${batch.results.length === 1 ? 'row' : 'rows'} as CSV to ${csvPath}`);
    }
    return batch.results.every((result) => result.ok) ? 0 : 1;
  });
}

export interface FolderScore {
  folder: string;
  accepted: number[];
  photos: number;
  correct: number;
  accuracy: number;
  /** Photos that could not be classified (counted as wrong). */
  errors: number;
  /** How many photos got each class. */
  predicted: number[];
  /** Photos left out because the model trained on them (not in `photos`). */
  refused: number;
}

/** A photo the scored model (or a run it was taught from) trained on: left out of the score. */
export interface RefusedPhoto {
  file: string;
  folder: string;
  /** The run whose training photos it is among. */
  runId: string;
}

export interface PhotosEvaluation {
  dir: string;
  run: PhotoBatch['run'];
  preprocessing: PhotoPreprocessing;
  photos: number;
  correct: number;
  accuracy: number;
  /** Mean of the per-folder accuracies: the folders are unbalanced. */
  balancedAccuracy: number;
  folders: FolderScore[];
  /** Subfolders whose name is not a known label, left out. */
  skipped: string[];
  errors: { file: string; kind: string; message: string }[];
  /** How often "not sure" was right and wrong, to judge the threshold. */
  notSure: { sure: number; sureCorrect: number; unsure: number; unsureCorrect: number };
  /** Photos the model trained on, left out: a model is never scored on its own training photos. */
  refused: RefusedPhoto[];
  /** Runs it was taught from that are gone: photos they trained on could not be left out. */
  missingAncestors: string[];
}

/** Score a batch against the folder each photo came from. */
export function scorePhotos(
  dir: string,
  batch: PhotoBatch,
  folderOf: (result: PhotoResult) => string,
  skipped: string[],
  refusal: { refused: RefusedPhoto[]; missingAncestors: string[] } = { refused: [], missingAncestors: [] },
): PhotosEvaluation {
  const folders = new Map<string, FolderScore>();
  const errors: PhotosEvaluation['errors'] = [];
  const notSure = { sure: 0, sureCorrect: 0, unsure: 0, unsureCorrect: 0 };
  const scoreOf = (folder: string): FolderScore => {
    let score = folders.get(folder);
    if (!score) {
      score = { folder, accepted: [...(ACCEPTED_LABELS[folder] ?? [])], photos: 0, correct: 0, accuracy: 0, errors: 0, predicted: new Array<number>(CLASS_NAMES.length).fill(0), refused: 0 };
      folders.set(folder, score);
    }
    return score;
  };
  for (const photo of refusal.refused) scoreOf(photo.folder).refused += 1;
  for (const result of batch.results) {
    const folder = folderOf(result);
    const accepted = ACCEPTED_LABELS[folder] ?? [];
    const score = scoreOf(folder);
    score.photos += 1;
    if (!result.ok) {
      score.errors += 1;
      errors.push({ file: result.path ?? result.name, kind: result.error.kind, message: result.error.message });
      continue;
    }
    score.predicted[result.classIndex] = (score.predicted[result.classIndex] ?? 0) + 1;
    const right = accepted.includes(result.classIndex);
    if (right) score.correct += 1;
    if (result.notSure) {
      notSure.unsure += 1;
      if (right) notSure.unsureCorrect += 1;
    } else {
      notSure.sure += 1;
      if (right) notSure.sureCorrect += 1;
    }
  }
  const list = [...folders.values()].sort((a, b) => Object.keys(ACCEPTED_LABELS).indexOf(a.folder) - Object.keys(ACCEPTED_LABELS).indexOf(b.folder));
  for (const score of list) score.accuracy = score.photos ? score.correct / score.photos : 0;
  const photos = list.reduce((sum, score) => sum + score.photos, 0);
  const correct = list.reduce((sum, score) => sum + score.correct, 0);
  return {
    dir,
    run: batch.run,
    preprocessing: batch.preprocessing,
    photos,
    correct,
    accuracy: photos ? correct / photos : 0,
    balancedAccuracy: list.length ? list.reduce((sum, score) => sum + score.accuracy, 0) / list.length : 0,
    folders: list,
    skipped,
    errors,
    notSure,
    refused: refusal.refused,
    missingAncestors: refusal.missingAncestors,
  };
}

export function formatPhotosEvaluation(evaluation: PhotosEvaluation): string {
  const lines = [
    `Run "${evaluation.run.name}" (${evaluation.run.id}), ${evaluation.preprocessing === 'naive' ? 'naive preprocessing (grayscale, squashed to 28×28)' : "Atelier's preprocessing"}, on ${evaluation.dir}:`,
    '',
    `  ${'folder'.padEnd(11)} ${'photos'.padStart(6)} ${'right'.padStart(6)} ${'accuracy'.padStart(8)}  accepted`,
  ];
  for (const folder of evaluation.folders) {
    const notes = [folder.errors ? `${folder.errors} unreadable` : '', folder.refused ? `${folder.refused} refused` : ''].filter(Boolean);
    lines.push(
      `  ${folder.folder.padEnd(11)} ${String(folder.photos).padStart(6)} ${String(folder.correct).padStart(6)} ${(folder.photos ? percent(folder.accuracy) : '—').padStart(8)}  ${folder.accepted.map((label) => CLASS_NAMES[label]).join(', ')}${notes.length ? ` (${notes.join(', ')})` : ''}`,
    );
  }
  lines.push(`  ${'all'.padEnd(11)} ${String(evaluation.photos).padStart(6)} ${String(evaluation.correct).padStart(6)} ${percent(evaluation.accuracy).padStart(8)}  (mean of folders ${percent(evaluation.balancedAccuracy)})`);
  const { sure, sureCorrect, unsure, unsureCorrect } = evaluation.notSure;
  if (sure + unsure > 0) {
    lines.push('', `Sure: ${sure} photos, ${sure ? percent(sureCorrect / sure) : '–'} right · "not sure": ${unsure} photos, ${unsure ? percent(unsureCorrect / unsure) : '–'} right`);
  }
  if (evaluation.refused.length) {
    lines.push('', `Refused ${evaluation.refused.length} photo${evaluation.refused.length === 1 ? '' : 's'} this model trained on (its own run's or an earlier run's it was taught from), not scored:`);
    for (const photo of evaluation.refused) lines.push(`  − ${photo.file} (trained run ${photo.runId})`);
  }
  for (const runId of evaluation.missingAncestors) {
    lines.push('', `Warning: this model was taught from run ${runId}, which is no longer on disk, so photos that run trained on could not be left out; the accuracy may be too high.`);
  }
  if (evaluation.skipped.length) lines.push('', `Skipped folders (not a known label): ${evaluation.skipped.join(', ')}. Known: ${Object.keys(ACCEPTED_LABELS).join(', ')}.`);
  for (const error of evaluation.errors) lines.push(`  ✗ ${error.file}: ${error.kind} — ${error.message}`);
  return lines.join('\n');
}

/** The class folders of DIR that photos-eval knows, and the others (left out with a message). */
export async function classFolders(dirArg: string, known: Readonly<Record<string, unknown>>): Promise<{ dir: string; folders: string[]; skipped: string[] }> {
  const dir = resolve(dirArg);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new AtelierError(code === 'ENOENT' ? 'not-found' : 'photo-unreadable', `${dir}: ${code === 'ENOTDIR' ? 'not a folder' : code === 'ENOENT' ? 'no such folder' : 'cannot be read'} — name a folder holding class folders (t-shirt, pants, …).`);
  }
  const subfolders = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  const folders = subfolders.filter((name) => name in known);
  const skipped = subfolders.filter((name) => !(name in known));
  if (folders.length === 0) {
    throw new AtelierError('folder-empty', `${dir}: no class folders found (looked for ${Object.keys(known).join(', ')})${skipped.length ? `; found only ${skipped.join(', ')}` : ''} — lay the photos out like real-photos.`);
  }
  return { dir, folders, skipped };
}

/** Run records read through the dispatcher, for walking a run's ancestors. */
export function runLineage(deps: CliDeps, atelier: Atelier): RunLineage {
  return { detail: (runId) => deps.call(atelier, 'runs.get', { runId }) };
}

/** Options of `photos-eval --cv` only; named here so that photos-eval without --cv can say so. */
export const CROSS_VALIDATION_OPTIONS = {
  preset: { type: 'string' },
  teach: { type: 'string' },
  epochs: { type: 'string' },
  'photo-share': { type: 'string' },
  seed: { type: 'string' },
  limit: { type: 'string' },
  'keep-runs': { type: 'boolean' },
} as const;

export async function commandPhotosEval(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { run: { type: 'string' }, json: { type: 'boolean', default: false }, naive: { type: 'boolean', default: false }, ...CROSS_VALIDATION_OPTIONS },
    allowPositionals: true,
    strict: true,
  });
  const [dirArg, ...extra] = positionals;
  if (!dirArg || extra.length) throw new AtelierError('invalid-payload', 'Name one folder of class folders: atelier photos-eval DIR [--run ID|latest].');
  const onlyWithCv = (Object.keys(CROSS_VALIDATION_OPTIONS) as (keyof typeof CROSS_VALIDATION_OPTIONS)[]).filter((name) => values[name] !== undefined);
  if (onlyWithCv.length) throw new AtelierError('invalid-config', `--${onlyWithCv[0]} is an option of cross-validation; add --cv K, or leave it out to score a run with --run.`);
  const { dir, folders: known, skipped } = await classFolders(dirArg, ACCEPTED_LABELS);
  return withAtelier(deps, async (atelier) => {
    const runId = (await runOption(deps, atelier, values.run)) ?? (await atelier.runs.activeRunId()) ?? undefined;
    // A model scored on photos it trained on looks better than it is: those are left out, and said so.
    const seen: SeenPhotos = runId ? await photosSeenBy(runLineage(deps, atelier), runId) : { hashes: new Map(), missingAncestors: [] };
    const refused: RefusedPhoto[] = [];
    const problems: PhotoResult[] = [];
    const files: { file: string; folder: string }[] = [];
    for (const folder of known) {
      const collected = await collectPhotoPaths([join(dir, folder)]);
      for (const problem of collected.problems) problems.push({ ok: false, name: basename(problem.path), path: problem.path, error: problem.error });
      for (const file of collected.files) {
        const trainedBy = seen.hashes.size ? seen.hashes.get(await fileSha256(file).catch(() => '')) : undefined;
        if (trainedBy) refused.push({ file, folder, runId: trainedBy });
        else files.push({ file, folder });
      }
    }
    if (files.length === 0) {
      if (refused.length > 0) throw new AtelierError('invalid-payload', `Every photo in ${dir} trained this model (${refused.length} photos), so none is left to score it honestly. Score it on other photos, or use photos-eval --cv to hold photos out.`);
      throw new AtelierError('folder-empty', `${dir}: its class folders (${known.join(', ')}) hold no photos — put the photos in them.`);
    }
    const batch = await classifyAll(deps, atelier, files.map((entry) => entry.file), runId, preprocessingOf(values.naive));
    const folderOfFile = new Map(files.map((entry) => [entry.file, entry.folder]));
    const folderOf = (result: PhotoResult): string => {
      const path = result.path ?? result.name;
      return folderOfFile.get(path) ?? known.find((name) => path === join(dir, name)) ?? basename(path);
    };
    const evaluation = scorePhotos(dir, { ...batch, results: [...problems, ...batch.results] }, folderOf, skipped, { refused, missingAncestors: seen.missingAncestors });
    io.out(values.json ? JSON.stringify(evaluation) : formatPhotosEvaluation(evaluation));
    return 0;
  });
}
