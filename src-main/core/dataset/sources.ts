/**
 * Where Fashion-MNIST comes from, in DESIGN.md's order: the folder the user chose (or
 * `FASHION_MNIST_DIR`), the cache in Atelier's data folder, Debian's `dataset-fashion-mnist`
 * package, then a download. Looking is cheap — a few `stat`s and a 6-byte read per file — so
 * the System view can ask on every open; the big files are only read by `loadDataset`.
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { datasetCacheDir, atelierHome } from '../paths';
import { AtelierError } from '../errors';
import { APT_INSTALL_HINT, DATASET_FILES, DATASET_MIRRORS, SYSTEM_DATASET_DIR, formatCount, type DatasetFile } from './files';
import { gunzipCapped, isGzip } from './gunzip';
import { sha256Hex } from './verify';

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

/** The sources a person picks: a folder chosen in the app or CLI, or FASHION_MNIST_DIR. */
export type ChosenSourceKind = 'user-folder' | 'env';

export interface SourcesReport {
  /** The source that would be used, or null when none holds the data (or the person's choice is refused). */
  using: LocalSourceKind | null;
  /**
   * The person's choice when it holds some of the files but not all four usable ones: it is
   * refused, and no later source is used behind their back. Null otherwise.
   */
  refused: { kind: ChosenSourceKind; dir: string } | null;
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
    whenMissing: 'Download fills it (or ‘atelier dataset fetch’)',
  });
  candidates.push({
    kind: 'system-package',
    dir: options.systemDir ?? SYSTEM_DATASET_DIR,
    what: 'The system package',
    whenMissing: `install it with ‘${APT_INSTALL_HINT}’`,
  });
  return candidates;
}

/**
 * Every candidate's status and which one would be used, without reading the big files.
 * A chosen folder (or FASHION_MNIST_DIR) that holds damaged or only some of the files stops the
 * search: the person picked it, so quietly using another copy would hide that it is broken. One
 * that does not exist or holds none of the files is skipped, its status saying so.
 */
export async function describeSources(options: SourceOptions = {}): Promise<SourcesReport> {
  const candidates = candidateFolders(options);
  const inspections = await Promise.all(candidates.map((c) => inspectFolder(c.dir)));
  let selected: DatasetSource | null = null;
  let refused: SourcesReport['refused'] = null;
  const sources: DatasetSourceStatus[] = [];
  candidates.forEach((candidate, i) => {
    const inspection = inspections[i] as FolderInspection;
    const earlier = selected !== null ? 'used' : refused !== null ? 'refused' : null;
    const status = statusOf(candidate, inspection, earlier);
    if (earlier === null && status.state === 'found') selected = { kind: candidate.kind, dir: inspection.dir, files: inspection.files };
    if (earlier === null && status.state === 'incomplete' && isChosen(candidate.kind)) refused = { kind: candidate.kind, dir: inspection.dir };
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
  return { using: chosen?.kind ?? null, refused, sources, selected: chosen };
}

function isChosen(kind: LocalSourceKind): kind is ChosenSourceKind {
  return kind === 'user-folder' || kind === 'env';
}

/**
 * What to do about a damaged file, by where it is: a folder the person chose is theirs to repair
 * or let go of; Atelier's own cache or the system package they can only replace or avoid.
 */
export function damagedFileRemedy(kind: LocalSourceKind): string {
  if (kind === 'user-folder') return 'delete it or replace it with a good copy, choose another folder, or forget the chosen folder (atelier dataset use --forget, or the Dataset view)';
  if (kind === 'env') return 'delete it or replace it with a good copy, point FASHION_MNIST_DIR at another folder, or unset FASHION_MNIST_DIR';
  return 'delete it or choose another folder';
}

/**
 * Why one present file cannot be used, read in full: "truncated" and "damaged" look alike to the
 * cheap check (a cut-off .gz ends in a wrong trailer), and the person deserves to know which.
 */
async function diagnoseFile(dir: string, file: DatasetFile): Promise<string | null> {
  for (const [name, compressed] of [[file.gzName, true], [file.name, false]] as const) {
    let raw: Uint8Array;
    try {
      raw = await readFile(join(dir, name));
    } catch {
      continue;
    }
    let bytes = raw;
    if (compressed) {
      if (!isGzip(raw)) return `${name} is not a gzip file`;
      try {
        bytes = await gunzipCapped(raw, { maxBytes: file.size, name });
      } catch (error) {
        const code = ((error as Error).cause as { code?: unknown } | undefined)?.code;
        return code === 'Z_BUF_ERROR' ? `${name} is truncated (its compressed data ends early)` : `${name} is damaged (it does not decompress)`;
      }
    }
    if (bytes.byteLength < file.size) return `${name} is truncated (${formatCount(bytes.byteLength)} of ${formatCount(file.size)} bytes${compressed ? ' after decompressing' : ''})`;
    if (bytes.byteLength > file.size) return `${name} is ${formatCount(bytes.byteLength)} bytes${compressed ? ' after decompressing' : ''}, more than ${file.name} can be`;
    if (sha256Hex(bytes) !== file.sha256) return `${name} is damaged (its SHA-256 checksum does not match Fashion-MNIST's ${file.name})`;
    return `${name} holds the right data but its gzip trailer is damaged`;
  }
  return null;
}

/**
 * The error for a refused choice (`SourcesReport.refused`): the folder, each unusable file and why
 * (truncated, checksum mismatch, missing), and what to do. Reads the bad files in full, so it is
 * only called on this error path.
 */
export async function explainRefusedChoice(refused: NonNullable<SourcesReport['refused']>): Promise<AtelierError> {
  const inspection = await inspectFolder(refused.dir);
  const usable = new Set(inspection.files.map((located) => located.file));
  const reasons: string[] = [];
  const absent: string[] = [];
  for (const file of DATASET_FILES) {
    if (usable.has(file)) continue;
    const why = await diagnoseFile(inspection.dir, file);
    if (why) reasons.push(why);
    else absent.push(file.gzName);
  }
  const damaged = reasons.length > 0;
  if (absent.length > 0) reasons.push(`${absent.join(', ')} ${absent.length === 1 ? 'is' : 'are'} missing`);
  const what = refused.kind === 'user-folder' ? 'The folder you chose' : 'The folder FASHION_MNIST_DIR names';
  const remedy = damaged
    ? damagedFileRemedy(refused.kind)
    : refused.kind === 'user-folder'
      ? 'add the missing files (.gz or decompressed), choose another folder, or forget the chosen folder (atelier dataset use --forget, or the Dataset view)'
      : 'add the missing files (.gz or decompressed), point FASHION_MNIST_DIR at another folder, or unset FASHION_MNIST_DIR';
  return new AtelierError(
    damaged ? 'dataset-corrupt' : 'dataset-missing',
    `${what}, ${inspection.dir}, cannot be used: ${reasons.join('; ')}. Atelier does not switch to another copy while this folder is chosen — ${remedy}.`,
  );
}

/** `earlier` says whether a source before this one is used, or is the person's refused choice. */
function statusOf(candidate: Candidate, inspection: FolderInspection, earlier: 'used' | 'refused' | null): DatasetSourceStatus {
  const base = { kind: candidate.kind, location: inspection.dir };
  if (inspection.files.length === DATASET_FILES.length) {
    const hint =
      earlier === 'used'
        ? `${candidate.what} holds the dataset too; an earlier source is used`
        : earlier === 'refused'
          ? `${candidate.what} holds the dataset too, but is not used while the chosen folder cannot be used`
          : `${candidate.what} holds the dataset; it is used`;
    return { ...base, state: 'found', missingFiles: [], hint };
  }
  const nothing = inspection.files.length === 0 && inspection.problems.length === 0;
  if (nothing) {
    const where = inspection.exists ? 'holds none of the four files' : 'does not exist';
    return { ...base, state: 'missing', missingFiles: [], hint: `${candidate.what} (${inspection.dir}) ${where}: ${candidate.whenMissing}` };
  }
  const problems = inspection.problems.length > 0 ? ` (${inspection.problems.join('; ')})` : '';
  const refusing = earlier === null && isChosen(candidate.kind) ? '; no other source is used while it is chosen' : '';
  return {
    ...base,
    state: 'incomplete',
    missingFiles: inspection.missingFiles,
    hint: `${candidate.what} lacks ${inspection.missingFiles.join(', ')}${problems}: add them (.gz or decompressed), or ${candidate.whenMissing}${refusing}`,
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
      `install them with ‘${APT_INSTALL_HINT}’, or download them`,
  );
}
