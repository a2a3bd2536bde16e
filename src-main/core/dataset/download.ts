/**
 * Filling the cache: from the official mirrors (`downloadDataset`) or from a folder
 * (`importFromFolder`). Both are all-or-nothing: every file is staged in a temp folder inside
 * the cache, decompressed and verified there, and only when all four are good are they renamed
 * into place. A failure or a cancel at any point leaves the cache as it was, with no temp files.
 */
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AtelierError } from '../errors';
import { APT_INSTALL_HINT, DATASET_FILES, DATASET_MIRRORS, formatCount, type DatasetFile } from './files';
import { decompressIfGzip, isGzip } from './gunzip';
import { inspectFolder, sourceFromFolder, type DatasetSource, type LocatedFile } from './sources';
import { readVerifiedFile, verifyDatasetFile } from './verify';

/** One progress report, throttled (see `progressIntervalMs`); the first and last of each file always arrive. */
export interface DownloadProgress {
  /** The `.gz` name being fetched, e.g. `train-images-idx3-ubyte.gz`. */
  file: string;
  /** 0-based position of this file among those being fetched this time. */
  fileIndex: number;
  /** How many files this download fetches (files already verified in the cache are skipped). */
  fileCount: number;
  /** The URL being read. */
  url: string;
  phase: 'downloading' | 'verifying' | 'done';
  receivedBytes: number;
  /** From `Content-Length`; null when the server does not say. */
  totalBytes: number | null;
  /** Average speed over this file so far; 0 until some time has passed (the first report of a file). */
  bytesPerSecond: number;
  /** 0 to 1 over all files of this download (estimated from the official sizes until each starts). */
  overallFraction: number;
}

export interface DownloadOptions {
  /** Where the files end up: `datasetCacheDir(atelierHome())`. */
  cacheDir: string;
  /** Base URLs ending in `/`, tried in order per file. Defaults to the official mirrors. */
  mirrors?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Give up on a mirror when no byte arrives for this long. Default 30 s. */
  stallTimeoutMs?: number;
  /** Minimum time between two progress reports of one file. Default 100 ms. */
  progressIntervalMs?: number;
  /** Milliseconds for throttling and speed; tests inject one so speeds do not depend on the machine's load. Default `Date.now`. */
  clock?: () => number;
}

const STAGING_PREFIX = '.staging-';
/** Staging folders this old are leftovers of a crashed process, not a concurrent download. */
const STALE_STAGING_MS = 24 * 60 * 60 * 1000;

/**
 * Download whatever the cache lacks from the mirrors, verify it, and return the cache as a
 * source. Files already in the cache are verified and kept. Throws `cancelled`, `offline`
 * (no mirror reachable) or `download-failed` (a mirror answered with something unusable),
 * each naming the file and URLs and saying what else to do.
 */
export async function downloadDataset(options: DownloadOptions): Promise<DatasetSource> {
  const { signal } = options;
  const mirrors = options.mirrors ?? DATASET_MIRRORS;
  if (mirrors.length === 0) throw new AtelierError('download-failed', 'No download mirror is configured; choose a folder that holds Fashion-MNIST instead');
  const cacheDir = resolve(options.cacheDir);
  throwIfCancelled(signal);
  await mkdir(cacheDir, { recursive: true });
  await removeStaleStaging(cacheDir);

  const needed = await filesNotVerifiedIn(cacheDir);
  throwIfCancelled(signal);
  if (needed.length > 0) {
    const staging = await mkdtemp(join(cacheDir, STAGING_PREFIX));
    try {
      const meter = new ProgressMeter(needed, options);
      const staged: StagedFile[] = [];
      for (const [index, file] of needed.entries()) {
        staged.push(await fetchOneFile(file, index, mirrors, staging, meter, options));
      }
      await commitStaged(staged, cacheDir);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  return sourceFromFolder(cacheDir, 'cache');
}

/**
 * Copy the four files from a folder into the cache (`atelier dataset fetch --from DIR`), each
 * verified first; the cache changes only if all four are good. Files keep their form (`.gz` or
 * decompressed). Throws `dataset-missing` when the folder lacks files, `dataset-corrupt` when one is bad.
 */
export async function importFromFolder(dir: string, cacheDir: string, options: { signal?: AbortSignal } = {}): Promise<DatasetSource> {
  const { signal } = options;
  const source = await sourceFromFolder(dir);
  const target = resolve(cacheDir);
  const remedy = 'the cache was not changed; fix or replace the file, or choose another folder';
  if (source.dir === target) {
    for (const located of source.files) await readVerifiedFile(located, remedy);
    return sourceFromFolder(target, 'cache');
  }
  throwIfCancelled(signal);
  await mkdir(target, { recursive: true });
  const staging = await mkdtemp(join(target, STAGING_PREFIX));
  try {
    const staged: StagedFile[] = [];
    for (const located of source.files) {
      throwIfCancelled(signal);
      const raw = await readFile(located.path);
      const name = located.compressed ? located.file.gzName : located.file.name;
      const bytes = await decompressIfGzip(raw, { maxBytes: located.file.size, name });
      verifyDatasetFile(located.file, bytes, { displayName: name, origin: source.dir, remedy });
      const path = join(staging, name);
      await writeFile(path, raw);
      staged.push({ file: located.file, path, compressed: located.compressed });
    }
    throwIfCancelled(signal);
    await commitStaged(staged, target);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return sourceFromFolder(target, 'cache');
}

interface StagedFile {
  file: DatasetFile;
  path: string;
  compressed: boolean;
}

/** Move verified files into the cache, dropping the other form of each so the folder holds one copy. */
async function commitStaged(staged: StagedFile[], cacheDir: string): Promise<void> {
  for (const { file, path, compressed } of staged) {
    await rename(path, join(cacheDir, compressed ? file.gzName : file.name));
    await rm(join(cacheDir, compressed ? file.name : file.gzName), { force: true });
  }
}

/** Files the cache lacks or holds in a form that fails verification. */
async function filesNotVerifiedIn(cacheDir: string): Promise<DatasetFile[]> {
  const inspection = await inspectFolder(cacheDir);
  const present = new Map<DatasetFile, LocatedFile>(inspection.files.map((located) => [located.file, located]));
  const needed: DatasetFile[] = [];
  for (const file of DATASET_FILES) {
    const located = present.get(file);
    const ok = located ? await readVerifiedFile(located).then(() => true, () => false) : false;
    if (!ok) needed.push(file);
  }
  return needed;
}

async function removeStaleStaging(cacheDir: string): Promise<void> {
  const now = Date.now();
  for (const entry of await readdir(cacheDir)) {
    if (!entry.startsWith(STAGING_PREFIX)) continue;
    const path = join(cacheDir, entry);
    const info = await stat(path).catch(() => null);
    if (info && now - info.mtimeMs > STALE_STAGING_MS) await rm(path, { recursive: true, force: true });
  }
}

/** Why one mirror failed for one file. `reached` is false when no HTTP answer came at all. */
interface Attempt {
  url: string;
  reason: string;
  reached: boolean;
}

async function fetchOneFile(
  file: DatasetFile,
  index: number,
  mirrors: readonly string[],
  staging: string,
  meter: ProgressMeter,
  options: DownloadOptions,
): Promise<StagedFile> {
  const attempts: Attempt[] = [];
  for (const base of mirrors) {
    const url = new URL(file.gzName, base.endsWith('/') ? base : `${base}/`).toString();
    const tempPath = join(staging, `${file.gzName}.part`);
    try {
      await fetchToFile(url, tempPath, file, index, meter, options);
      meter.report(index, url, 'verifying', true);
      const raw = await readFile(tempPath);
      const compressed = isGzip(raw);
      const bytes = await decompressIfGzip(raw, { maxBytes: file.size, name: file.gzName });
      verifyDatasetFile(file, bytes, { displayName: file.gzName, origin: url });
      const path = join(staging, compressed ? file.gzName : file.name);
      await rename(tempPath, path);
      meter.report(index, url, 'done', true);
      return { file, path, compressed };
    } catch (error) {
      await rm(tempPath, { force: true });
      throwIfCancelled(options.signal);
      if (!(error instanceof AtelierError) && !(error instanceof TransferError)) throw error;
      const transfer = error instanceof TransferError;
      attempts.push({ url, reason: transfer ? error.message : firstClause(error.message, file), reached: transfer ? error.reached : true });
      meter.restart(index);
    }
  }
  const tried = attempts.map((a) => `${a.url}: ${a.reason}`).join('; ');
  const elsewhere = `install it with ‘${APT_INSTALL_HINT}’, or choose a folder that holds Fashion-MNIST`;
  if (attempts.every((a) => !a.reached)) {
    throw new AtelierError('offline', `Cannot download ${file.gzName}: no mirror could be reached (${tried}) — check the internet connection and try again, ${elsewhere}`);
  }
  throw new AtelierError('download-failed', `Cannot download ${file.gzName}: every mirror failed (${tried}) — try again later, ${elsewhere}. The cache was not changed`);
}

/** Keep what a verification message says was wrong, without its leading file name or its remedy (wrong here). */
function firstClause(message: string, file: DatasetFile): string {
  const prefix = `${file.gzName}: `;
  const body = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  const cut = body.lastIndexOf(';');
  return cut > 0 ? body.slice(0, cut) : body;
}

/** A transfer problem; `reached` tells a dead network from a server that answered badly. */
class TransferError extends Error {
  constructor(
    message: string,
    readonly reached: boolean,
  ) {
    super(message);
  }
}

/** Stream one URL into a file, with a stall timeout and a cap on the size accepted. */
async function fetchToFile(url: string, path: string, file: DatasetFile, index: number, meter: ProgressMeter, options: DownloadOptions): Promise<void> {
  const stall = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stall.signal]) : stall.signal;
  const stallMs = options.stallTimeoutMs ?? 30_000;
  let timer = setTimeout(() => stall.abort(), stallMs);
  const poke = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), stallMs);
  };
  // An uncompressed copy is the largest thing a mirror may legitimately send.
  const maxBytes = file.size;
  let received = 0;
  let reached = false;
  let total: number | null = null;
  const handle = await open(path, 'w');
  try {
    const response = await fetch(url, { signal, redirect: 'follow' });
    reached = true;
    poke(); // the stall clock measures silence, and an answer is not silence
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      throw new TransferError(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, true);
    }
    const length = Number(response.headers.get('content-length'));
    total = Number.isSafeInteger(length) && length > 0 ? length : null;
    if (total !== null && total > maxBytes) {
      await response.body.cancel().catch(() => undefined);
      throw new TransferError(`the server offers ${formatCount(total)} bytes, more than the file can be`, true);
    }
    meter.start(index, url, total);
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      poke();
      received += chunk.byteLength;
      if (received > maxBytes) throw new TransferError(`the server sent more than ${formatCount(maxBytes)} bytes, more than the file can be`, true);
      await handle.write(chunk);
      meter.progress(index, url, received);
    }
    if (total !== null && received !== total) throw new TransferError(`the connection closed after ${formatCount(received)} of ${formatCount(total)} bytes`, true);
  } catch (error) {
    if (error instanceof TransferError) throw error;
    if (options.signal?.aborted) throw cancelledError();
    if (stall.signal.aborted) throw new TransferError(`no data for ${stallMs < 1000 ? `${stallMs} ms` : `${Math.round(stallMs / 1000)} s`} after ${formatCount(received)} bytes`, reached);
    if (reached) {
      const of = total !== null ? ` of ${formatCount(total)}` : '';
      throw new TransferError(`the connection dropped after ${formatCount(received)}${of} bytes (${describeNetworkError(error)})`, true);
    }
    throw new TransferError(describeNetworkError(error), false);
  } finally {
    clearTimeout(timer);
    await handle.close();
  }
}

/** undici's `fetch failed` hides the useful part in `cause`. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  const code = (cause as { code?: unknown })?.code ?? (error as { code?: unknown })?.code;
  const known: Record<string, string> = {
    ENOTFOUND: 'host not found (DNS)',
    EAI_AGAIN: 'DNS lookup failed',
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    ENETUNREACH: 'network unreachable',
    EHOSTUNREACH: 'host unreachable',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
    UND_ERR_SOCKET: 'connection closed by the server',
  };
  if (typeof code === 'string') return known[code] ?? code;
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return message || 'network error';
}

function cancelledError(): AtelierError {
  return new AtelierError('cancelled', 'Download cancelled; the dataset cache was not changed');
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError();
}

/** Turns byte counts into throttled `DownloadProgress` reports. */
class ProgressMeter {
  private readonly estimates: number[];
  private readonly received: number[];
  private readonly startedAt: number[];
  private readonly lastReport: number[];
  private readonly totals: (number | null)[];

  constructor(
    private readonly files: DatasetFile[],
    private readonly options: DownloadOptions,
  ) {
    this.estimates = files.map((f) => f.officialGzSize);
    this.received = files.map(() => 0);
    this.startedAt = files.map(() => 0);
    this.lastReport = files.map(() => -Infinity);
    this.totals = files.map(() => null);
  }

  start(index: number, url: string, total: number | null): void {
    this.totals[index] = total;
    if (total !== null) this.estimates[index] = total;
    this.received[index] = 0;
    this.startedAt[index] = this.now();
    this.report(index, url, 'downloading', true);
  }

  progress(index: number, url: string, received: number): void {
    this.received[index] = received;
    this.report(index, url, 'downloading', false);
  }

  private now(): number {
    return (this.options.clock ?? Date.now)();
  }

  /** A mirror failed: its bytes no longer count. */
  restart(index: number): void {
    this.received[index] = 0;
  }

  report(index: number, url: string, phase: DownloadProgress['phase'], force: boolean): void {
    const onProgress = this.options.onProgress;
    if (!onProgress) return;
    const now = this.now();
    if (!force && now - (this.lastReport[index] ?? 0) < (this.options.progressIntervalMs ?? 100)) return;
    this.lastReport[index] = now;
    const received = this.received[index] ?? 0;
    if (phase === 'done') this.estimates[index] = received;
    const elapsed = (now - (this.startedAt[index] ?? now)) / 1000;
    const doneBytes = this.received.reduce((sum, r) => sum + r, 0);
    const allBytes = this.estimates.reduce((sum, e, i) => sum + Math.max(e, this.received[i] ?? 0), 0);
    const finished = phase === 'done' && index === this.files.length - 1;
    onProgress({
      file: (this.files[index] as DatasetFile).gzName,
      fileIndex: index,
      fileCount: this.files.length,
      url,
      phase,
      receivedBytes: received,
      totalBytes: this.totals[index] ?? null,
      bytesPerSecond: elapsed > 0 ? Math.round(received / elapsed) : 0,
      overallFraction: finished ? 1 : Math.min(1, allBytes > 0 ? doneBytes / allBytes : 0),
    });
  }
}
