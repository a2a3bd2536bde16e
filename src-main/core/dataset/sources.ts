/**
 * Where Fashion-MNIST comes from, in DESIGN.md's order: the folder the user chose (or
 * `FASHION_MNIST_DIR`), the cache in Atelier's data folder, Debian's `dataset-fashion-mnist`
 * package, then a download. Looking is cheap — a few `stat`s and a 6-byte read per file — so
 * the System view can ask on every open; the big files are only read by `loadDataset`.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { datasetCacheDir, atelierHome } from '../paths';
import { AtelierError } from '../errors';
import { APT_INSTALL_HINT, DATASET_FILES, DATASET_MIRRORS, SYSTEM_DATASET_DIR, formatCount, type DatasetFile } from './files';

/** The places Fashion-MNIST can come from, in the order they are tried. Same names as the contract's enum. */
export type DatasetSourceKind = 'user-folder' | 'env' | 'cache' | 'system-package' | 'download';

/** A source that holds all four files on disk. */
export type LocalSourceKind = Exclude<DatasetSourceKind, 'download'>;

/** One of the four files, found in a folder. */
export interface LocatedFile {
  file: DatasetFile;
  path: string;
  /** True for `.gz`, false for an already decompressed IDX file. */
  compressed: boolean;
}

/** A folder that holds the four files, ready for `loadDataset`. `files` follows `DATASET_FILES`' order. */
export interface DatasetSource {
  kind: LocalSourceKind;
  dir: string;
  files: LocatedFile[];
}

/** What the System view shows for one candidate; matches the contract's `DatasetSourceStatus`. */
export interface DatasetSourceStatus {
  kind: DatasetSourceKind;
  /** Folder on disk, or the first mirror's base URL for `download`. */
  location: string;
  /** `available` is only used by `download`, which has nothing on disk to find. */
  state: 'found' | 'missing' | 'incomplete' | 'available';
  /** Files (as `.gz` names) absent from, or unusable in, this folder. Empty when found or missing entirely. */
  missingFiles: string[];
  /** One sentence: how to use or fix this source. */
  hint: string;
}

export interface SourcesReport {
  /** The source that would be used, or null when none holds the data and download is the only way. */
  using: LocalSourceKind | null;
  /** Every candidate, in the order they are tried. */
  sources: DatasetSourceStatus[];
  /** The source that would be used, with its file paths (null when `using` is null). */
  selected: DatasetSource | null;
}

/** Everything the search depends on, injectable so tests never touch the real home or /usr/share. */
export interface SourceOptions {
  /** A folder the user picked in the UI or passed on the command line; tried first. */
  chosenDir?: string | null;
  /** Read for `FASHION_MNIST_DIR` (and `ATELIER_HOME` when `home` is not given). Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Atelier's data folder; the cache is `datasetCacheDir(home)`. Defaults to `atelierHome(env)`. */
  home?: string;
  /** Debian's install location. Defaults to `/usr/share/datasets/fashion-mnist`. */
  systemDir?: string;
  /** Download base URLs, only shown in the `download` status. */
  mirrors?: readonly string[];
}

/** What one folder holds. */
export interface FolderInspection {
  dir: string;
  exists: boolean;
  /** Usable files, in `DATASET_FILES`' order. */
  files: LocatedFile[];
  /** `.gz` names of files that are absent or unusable. */
  missingFiles: string[];
  /** Why a present file is unusable, one sentence each (e.g. a truncated `.gz`). */
  problems: string[];
}

const GZIP_MIN_BYTES = 18; // 10-byte header + 8-byte trailer

/**
 * Which of the four files a folder holds, accepting `name.gz` or the decompressed `name`.
 * Checks sizes only: a decompressed file must have its exact size, a `.gz` must start with the
 * gzip magic and its trailer must record the right decompressed size (catches truncated downloads).
 */
export async function inspectFolder(dir: string): Promise<FolderInspection> {
  const absolute = resolve(dir);
  const exists = await isDirectory(absolute);
  const result: FolderInspection = { dir: absolute, exists, files: [], missingFiles: [], problems: [] };
  if (!exists) {
    result.missingFiles = DATASET_FILES.map((f) => f.gzName);
    return result;
  }
  for (const file of DATASET_FILES) {
    const gz = await checkGz(join(absolute, file.gzName), file);
    const raw = gz.ok ? null : await checkRaw(join(absolute, file.name), file);
    if (gz.ok) result.files.push({ file, path: join(absolute, file.gzName), compressed: true });
    else if (raw?.ok) result.files.push({ file, path: join(absolute, file.name), compressed: false });
    else {
      result.missingFiles.push(file.gzName);
      for (const problem of [gz.problem, raw?.problem]) if (problem) result.problems.push(problem);
    }
  }
  return result;
}

type FileCheck = { ok: true; problem?: undefined } | { ok: false; problem?: string };

async function checkGz(path: string, file: DatasetFile): Promise<FileCheck> {
  const size = await fileSize(path);
  if (size === null) return { ok: false };
  if (size < GZIP_MIN_BYTES) return { ok: false, problem: `${file.gzName} is only ${formatCount(size)} bytes (truncated)` };
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const head = new Uint8Array(2);
    const tail = new Uint8Array(4);
    await handle.read(head, 0, 2, 0);
    await handle.read(tail, 0, 4, size - 4);
    if (head[0] !== 0x1f || head[1] !== 0x8b) return { ok: false, problem: `${file.gzName} is not a gzip file` };
    // ISIZE: the decompressed length modulo 2^32, little-endian, in the last 4 bytes.
    const isize = new DataView(tail.buffer).getUint32(0, true);
    if (isize !== file.size % 2 ** 32) return { ok: false, problem: `${file.gzName} is truncated or damaged (its gzip trailer does not match)` };
    return { ok: true };
  } catch {
    return { ok: false, problem: `${file.gzName} cannot be read` };
  } finally {
    await handle?.close();
  }
}

async function checkRaw(path: string, file: DatasetFile): Promise<FileCheck> {
  const size = await fileSize(path);
  if (size === null) return { ok: false };
  if (size !== file.size) return { ok: false, problem: `${file.name} is ${formatCount(size)} bytes, expected ${formatCount(file.size)}` };
  return { ok: true };
}

async function fileSize(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

interface Candidate {
  kind: LocalSourceKind;
  dir: string;
  /** How the user refers to this place in a hint. */
  what: string;
  /** What to do when it is missing. */
  whenMissing: string;
}

/** The on-disk candidates for these options, in priority order (without `download`). */
export function candidateFolders(options: SourceOptions = {}): Candidate[] {
  const env = options.env ?? process.env;
  const home = options.home ?? atelierHome(env);
  const candidates: Candidate[] = [];
  if (options.chosenDir && options.chosenDir.trim() !== '') {
    candidates.push({
      kind: 'user-folder',
      dir: resolve(options.chosenDir),
      what: 'The folder you chose',
      whenMissing: 'choose the folder that holds the four Fashion-MNIST files',
    });
  }
  const envDir = env.FASHION_MNIST_DIR;
  if (envDir && envDir.trim() !== '') {
    candidates.push({
      kind: 'env',
      dir: resolve(envDir),
      what: 'FASHION_MNIST_DIR',
      whenMissing: 'point FASHION_MNIST_DIR at the folder that holds the four files, or unset it',
    });
  }
  candidates.push({
    kind: 'cache',
    dir: datasetCacheDir(home),
    what: "Atelier's dataset cache",
    whenMissing: 'Download fills it (or `atelier dataset fetch`)',
  });
  candidates.push({
    kind: 'system-package',
    dir: options.systemDir ?? SYSTEM_DATASET_DIR,
    what: 'The system package',
    whenMissing: `install it with \`${APT_INSTALL_HINT}\``,
  });
  return candidates;
}

/**
 * Every candidate's status and which one would be used, without reading the big files.
 * A chosen folder that is incomplete does not stop the search: its status says what is wrong
 * and the next complete source is used.
 */
export async function describeSources(options: SourceOptions = {}): Promise<SourcesReport> {
  const candidates = candidateFolders(options);
  const inspections = await Promise.all(candidates.map((c) => inspectFolder(c.dir)));
  let selected: DatasetSource | null = null;
  const sources: DatasetSourceStatus[] = [];
  candidates.forEach((candidate, i) => {
    const inspection = inspections[i] as FolderInspection;
    const status = statusOf(candidate, inspection, selected !== null);
    if (status.state === 'found' && selected === null) selected = { kind: candidate.kind, dir: inspection.dir, files: inspection.files };
    sources.push(status);
  });
  const mirrors = options.mirrors ?? DATASET_MIRRORS;
  const totalGz = DATASET_FILES.reduce((sum, f) => sum + f.officialGzSize, 0);
  sources.push({
    kind: 'download',
    location: mirrors[0] ?? '',
    state: 'available',
    missingFiles: [],
    hint:
      `Downloads about ${Math.round(totalGz / 1e6)} MB from the official mirror into Atelier's dataset cache, ` +
      'verifying every file' + (selected ? ' (not needed: a local copy was found)' : ''),
  });
  const chosen = selected as DatasetSource | null; // assigned inside the callback, which narrowing cannot see
  return { using: chosen?.kind ?? null, sources, selected: chosen };
}

function statusOf(candidate: Candidate, inspection: FolderInspection, shadowed: boolean): DatasetSourceStatus {
  const base = { kind: candidate.kind, location: inspection.dir };
  if (inspection.files.length === DATASET_FILES.length) {
    return {
      ...base,
      state: 'found',
      missingFiles: [],
      hint: shadowed ? `${candidate.what} holds the dataset too; an earlier source is used` : `${candidate.what} holds the dataset; it is used`,
    };
  }
  const nothing = inspection.files.length === 0 && inspection.problems.length === 0;
  if (nothing) {
    const where = inspection.exists ? 'holds none of the four files' : 'does not exist';
    return { ...base, state: 'missing', missingFiles: [], hint: `${candidate.what} (${inspection.dir}) ${where}: ${candidate.whenMissing}` };
  }
  const problems = inspection.problems.length > 0 ? ` (${inspection.problems.join('; ')})` : '';
  return {
    ...base,
    state: 'incomplete',
    missingFiles: inspection.missingFiles,
    hint: `${candidate.what} lacks ${inspection.missingFiles.join(', ')}${problems}: add them (.gz or decompressed), or ${candidate.whenMissing}`,
  };
}

/** The source that would be used, or null when only a download can provide the data. */
export async function findDataset(options: SourceOptions = {}): Promise<DatasetSource | null> {
  return (await describeSources(options)).selected;
}

/**
 * A specific folder as a source, e.g. one the user just picked. Throws `dataset-missing`,
 * naming the files it lacks, when the folder does not hold all four.
 */
export async function sourceFromFolder(dir: string, kind: LocalSourceKind = 'user-folder'): Promise<DatasetSource> {
  const inspection = await inspectFolder(dir);
  if (inspection.files.length === DATASET_FILES.length) return { kind, dir: inspection.dir, files: inspection.files };
  const why = !inspection.exists
    ? 'the folder does not exist'
    : `it lacks ${inspection.missingFiles.join(', ')}${inspection.problems.length ? ` (${inspection.problems.join('; ')})` : ''}`;
  throw new AtelierError(
    'dataset-missing',
    `${inspection.dir} does not hold Fashion-MNIST: ${why} — choose the folder with the four files (.gz or decompressed), ` +
      `install them with \`${APT_INSTALL_HINT}\`, or download them`,
  );
}
