/**
 * `atelier classify` and `atelier photos-eval`: the Classify view without a window, through the
 * same `photos.classifyPaths` call, for scripts and for measuring a model on real photos.
 */
import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Atelier } from '../app';
import { PHOTO_MAX_PATHS, type PhotoBatch, type PhotoPreprocessing, type PhotoResult } from '../contract';
import { CLASS_NAMES } from '../core/fashion-mnist';
import { AtelierError } from '../core/errors';
import type { CliIo } from './commands';
import { withAtelier, type CliDeps } from './session';

export const PHOTOS_HELP_LINES = `  classify [--run ID|latest] FILE|DIR... [--json] [--naive]
                               Classify clothing photos (folders: the photos in them) with the run chosen
                               in Models, or --run; --json prints one JSON object per photo
  photos-eval DIR [--run ID|latest] [--json] [--naive]
                               Top-1 accuracy on a folder of class folders laid out like real-photos
                               (t-shirt, pants, longsleeve, dress, outwear, shirt, shoes), overall and per
                               folder; --naive scores plain grayscale resizing instead of Atelier's preprocessing`;

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

/** One photo's result as a line for people. */
export function formatPhotoLine(result: PhotoResult, width: number): string {
  const file = (result.path ?? result.name).padEnd(width);
  if (!result.ok) return `  ${file}  ✗ ${result.error.kind}: ${result.error.message}`;
  return `  ${file}  ${result.className.padEnd(11)} ${percent(result.confidence).padStart(6)}${result.notSure ? '  (not sure)' : ''}`;
}

function preprocessingOf(naive: boolean): PhotoPreprocessing {
  return naive ? 'naive' : 'atelier';
}

/** Classify many paths in calls of at most `PHOTO_MAX_PATHS`, as one batch. */
async function classifyAll(deps: CliDeps, atelier: Atelier, paths: string[], runId: string | undefined, preprocessing: PhotoPreprocessing): Promise<PhotoBatch> {
  const parts: PhotoBatch[] = [];
  for (let start = 0; start < paths.length; start += PHOTO_MAX_PATHS) {
    parts.push(await deps.call(atelier, 'photos.classifyPaths', { paths: paths.slice(start, start + PHOTO_MAX_PATHS), includeSteps: false, preprocessing, ...(runId ? { runId } : {}) }));
  }
  const [first] = parts;
  if (!first) throw new AtelierError('invalid-payload', 'Name at least one photo or folder.');
  return { ...first, results: parts.flatMap((part) => part.results) };
}

async function runOption(deps: CliDeps, atelier: Atelier, run: string | undefined): Promise<string | undefined> {
  return run === undefined ? undefined : deps.resolveRun(atelier, run);
}

export async function commandClassify(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { run: { type: 'string' }, json: { type: 'boolean', default: false }, naive: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) throw new AtelierError('invalid-payload', 'Name the photos (or folders of photos) to classify: atelier classify [--run ID|latest] FILE...');
  return withAtelier(deps, async (atelier) => {
    const runId = await runOption(deps, atelier, values.run);
    const batch = await classifyAll(deps, atelier, positionals.map((path) => resolve(path)), runId, preprocessingOf(values.naive));
    if (values.json) {
      for (const result of batch.results) io.out(JSON.stringify(photoJson(result)));
    } else {
      io.out(`Classified with "${batch.run.name}" (${batch.run.id}${batch.run.testAccuracy === null ? '' : `, ${percent(batch.run.testAccuracy)} on the test set`}):`);
      const width = Math.min(60, Math.max(...batch.results.map((result) => (result.path ?? result.name).length)));
      for (const result of batch.results) io.out(formatPhotoLine(result, width));
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
}

/** Score a batch against the folder each photo came from. */
export function scorePhotos(dir: string, batch: PhotoBatch, folderOf: (result: PhotoResult) => string, skipped: string[]): PhotosEvaluation {
  const folders = new Map<string, FolderScore>();
  const errors: PhotosEvaluation['errors'] = [];
  const notSure = { sure: 0, sureCorrect: 0, unsure: 0, unsureCorrect: 0 };
  for (const result of batch.results) {
    const folder = folderOf(result);
    const accepted = ACCEPTED_LABELS[folder] ?? [];
    let score = folders.get(folder);
    if (!score) {
      score = { folder, accepted: [...accepted], photos: 0, correct: 0, accuracy: 0, errors: 0, predicted: new Array<number>(CLASS_NAMES.length).fill(0) };
      folders.set(folder, score);
    }
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
  };
}

export function formatPhotosEvaluation(evaluation: PhotosEvaluation): string {
  const lines = [
    `Run "${evaluation.run.name}" (${evaluation.run.id}), ${evaluation.preprocessing === 'naive' ? 'naive preprocessing (grayscale, squashed to 28×28)' : "Atelier's preprocessing"}, on ${evaluation.dir}:`,
    '',
    `  ${'folder'.padEnd(11)} ${'photos'.padStart(6)} ${'right'.padStart(6)} ${'accuracy'.padStart(8)}  accepted`,
  ];
  for (const folder of evaluation.folders) {
    lines.push(
      `  ${folder.folder.padEnd(11)} ${String(folder.photos).padStart(6)} ${String(folder.correct).padStart(6)} ${percent(folder.accuracy).padStart(8)}  ${folder.accepted.map((label) => CLASS_NAMES[label]).join(', ')}${folder.errors ? ` (${folder.errors} unreadable)` : ''}`,
    );
  }
  lines.push(`  ${'all'.padEnd(11)} ${String(evaluation.photos).padStart(6)} ${String(evaluation.correct).padStart(6)} ${percent(evaluation.accuracy).padStart(8)}  (mean of folders ${percent(evaluation.balancedAccuracy)})`);
  const { sure, sureCorrect, unsure, unsureCorrect } = evaluation.notSure;
  if (sure + unsure > 0) {
    lines.push('', `Sure: ${sure} photos, ${sure ? percent(sureCorrect / sure) : '–'} right · "not sure": ${unsure} photos, ${unsure ? percent(unsureCorrect / unsure) : '–'} right`);
  }
  if (evaluation.skipped.length) lines.push('', `Skipped folders (not a known label): ${evaluation.skipped.join(', ')}. Known: ${Object.keys(ACCEPTED_LABELS).join(', ')}.`);
  for (const error of evaluation.errors) lines.push(`  ✗ ${error.file}: ${error.kind} — ${error.message}`);
  return lines.join('\n');
}

export async function commandPhotosEval(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { run: { type: 'string' }, json: { type: 'boolean', default: false }, naive: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [dirArg, ...extra] = positionals;
  if (!dirArg || extra.length) throw new AtelierError('invalid-payload', 'Name one folder of class folders: atelier photos-eval DIR [--run ID|latest].');
  const dir = resolve(dirArg);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new AtelierError(code === 'ENOENT' ? 'not-found' : 'photo-unreadable', `${dir}: ${code === 'ENOTDIR' ? 'not a folder' : code === 'ENOENT' ? 'no such folder' : 'cannot be read'} — name a folder holding class folders (t-shirt, pants, …).`);
  }
  const subfolders = entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).map((entry) => entry.name).sort();
  const known = subfolders.filter((name) => name in ACCEPTED_LABELS);
  const skipped = subfolders.filter((name) => !(name in ACCEPTED_LABELS));
  if (known.length === 0) {
    throw new AtelierError('folder-empty', `${dir}: no class folders found (looked for ${Object.keys(ACCEPTED_LABELS).join(', ')})${skipped.length ? `; found only ${skipped.join(', ')}` : ''} — lay the photos out like real-photos.`);
  }
  return withAtelier(deps, async (atelier) => {
    const runId = await runOption(deps, atelier, values.run);
    // Each class folder is one path: the service expands it, and an empty one reports itself.
    const batch = await classifyAll(deps, atelier, known.map((name) => join(dir, name)), runId, preprocessingOf(values.naive));
    const folderOf = (result: PhotoResult): string => {
      const path = result.path ?? result.name;
      return known.find((name) => path === join(dir, name) || path.startsWith(join(dir, name) + '/') || path.startsWith(join(dir, name) + '\\')) ?? basename(path);
    };
    const evaluation = scorePhotos(dir, batch, folderOf, skipped);
    io.out(values.json ? JSON.stringify(evaluation) : formatPhotosEvaluation(evaluation));
    return 0;
  });
}
