/**
 * Fashion-MNIST as the app and the CLI see it (main thread): which source is used, the folder the
 * person chose (remembered in `$ATELIER_HOME/settings.json`, so every shell and every restart
 * agrees), downloads with progress and cancel, and pages of images ready to cross the contract.
 * The composition root owns one `DatasetService`; the images live once in its `DatasetStore`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AtelierError, toErrorInfo } from '../errors';
import { writeJsonAtomic } from '../fs-atomic';
import { datasetCacheDir } from '../paths';
import { downloadDataset, importFromFolder, type DownloadProgress } from './download';
import { APT_INSTALL_HINT, DATASET_MIRRORS, SYSTEM_DATASET_DIR, type SplitName } from './files';
import {
  describeSources,
  explainRefusedChoice,
  inspectFolder,
  sourceFromFolder,
  type DatasetSource,
  type DatasetSourceStatus,
  type LocalSourceKind,
  type SourceOptions,
} from './sources';
import { DatasetStore, type DatasetStoreOptions, type DatasetSummary, type PageRequest } from './store';

/** Where the last (or running) download stands; matches the contract's `DatasetDownloadStatus`. */
export interface DownloadStatus {
  state: 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
  progress: DownloadProgress | null;
  error: string | null;
}

/** What the Dataset and System views show about sources; matches the contract's `DatasetSources`. */
export interface DatasetSourcesReport {
  using: LocalSourceKind | null;
  sources: DatasetSourceStatus[];
  chosenDir: string | null;
  download: DownloadStatus;
}

/** A page whose pixels are base64 (`indices.length × 784` bytes), as the contract carries them. */
export interface EncodedImagePage {
  split: SplitName;
  total: number;
  offset: number;
  indices: number[];
  labels: number[];
  pixels: string;
}

/** One image with its label; pixels base64 (784 bytes). */
export interface EncodedImage {
  split: SplitName;
  index: number;
  label: number;
  className: string;
  pixels: string;
}

export interface DatasetServiceOptions {
  /** Atelier's data folder: the cache and settings.json live here. */
  home: string;
  /**
   * Read for `FASHION_MNIST_DIR`, `ATELIER_SYSTEM_DATASET_DIR` (where Debian's package is looked
   * for) and `ATELIER_DATASET_MIRRORS` (comma-separated download base URLs). Defaults to `process.env`.
   */
  env?: NodeJS.ProcessEnv;
  /** Overrides `ATELIER_SYSTEM_DATASET_DIR` (tests). */
  systemDir?: string;
  /** Overrides `ATELIER_DATASET_MIRRORS` (tests). */
  mirrors?: readonly string[];
  /** The shell's folder dialog (Electron only); without it `pickFolder` answers `unsupported`. */
  pickFolder?: () => Promise<string | null>;
  /** Each throttled download report (about ten a second). */
  onProgress?: (progress: DownloadProgress) => void;
  /** The sources changed: a folder was chosen or forgotten, a download or import ended. */
  onChanged?: (report: DatasetSourcesReport) => void;
  /** Minimum time between two reports of one file; default 100 ms. */
  progressIntervalMs?: number;
  /** Replaces the store's loader (tests). */
  load?: DatasetStoreOptions['load'];
}

/** The settings.json key that remembers the chosen folder; other keys in the file are kept. */
const SETTINGS_KEY = 'datasetDir';

interface RunningDownload {
  controller: AbortController;
  done: Promise<DatasetSourcesReport>;
}

/** Finds, fills and serves Fashion-MNIST for every shell. */
export class DatasetService {
  /** The images, loaded once and shared by the views, the CLI and training. */
  readonly store: DatasetStore;
  readonly #options: DatasetServiceOptions;
  readonly #env: NodeJS.ProcessEnv;
  #download: RunningDownload | null = null;
  #status: DownloadStatus = { state: 'idle', progress: null, error: null };
  /** Serialises settings writes so two quick choices cannot interleave their read-modify-write. */
  #settingsWrite: Promise<unknown> = Promise.resolve();

  constructor(options: DatasetServiceOptions) {
    this.#options = options;
    this.#env = options.env ?? process.env;
    this.store = new DatasetStore({ locate: () => this.locateOrExplain(), ...(options.load ? { load: options.load } : {}) });
  }

  /** Where the cache is: `$ATELIER_HOME/datasets/fashion-mnist`. */
  get cacheDir(): string {
    return datasetCacheDir(this.#options.home);
  }

  get settingsPath(): string {
    return join(this.#options.home, 'settings.json');
  }

  /** Where Debian's package is looked for. */
  get systemDir(): string {
    const fromEnv = this.#env.ATELIER_SYSTEM_DATASET_DIR?.trim();
    return this.#options.systemDir ?? (fromEnv ? fromEnv : SYSTEM_DATASET_DIR);
  }

  /** Download base URLs, tried in order. */
  get mirrors(): readonly string[] {
    if (this.#options.mirrors) return this.#options.mirrors;
    const fromEnv = (this.#env.ATELIER_DATASET_MIRRORS ?? '')
      .split(',')
      .map((url) => url.trim())
      .filter((url) => url !== '');
    return fromEnv.length > 0 ? fromEnv : DATASET_MIRRORS;
  }

  /** The folder the person chose, read from settings.json each time so the CLI and the app agree. */
  async chosenDir(): Promise<string | null> {
    const value = (await this.#readSettings())[SETTINGS_KEY];
    return typeof value === 'string' && value.trim() !== '' ? value : null;
  }

  async sourceOptions(): Promise<SourceOptions> {
    return { env: this.#env, home: this.#options.home, systemDir: this.systemDir, mirrors: this.mirrors, chosenDir: await this.chosenDir() };
  }

  /** The source that would be used now, or null when none holds the data. */
  async locate(): Promise<DatasetSource | null> {
    return (await describeSources(await this.sourceOptions())).selected;
  }

  /**
   * The source that would be used now; when there is none, an error that says why: the folder the
   * person chose holds a damaged or missing file (refused, never silently replaced by another
   * source), which folder holds a damaged or missing file (`dataset-corrupt` / `dataset-missing`,
   * naming the file), or that the data is simply not here and the three ways to get it.
   */
  async locateOrExplain(): Promise<DatasetSource> {
    const report = await describeSources(await this.sourceOptions());
    if (report.selected) return report.selected;
    if (report.refused) throw await explainRefusedChoice(report.refused);
    const broken = report.sources.filter((source) => source.state === 'incomplete');
    const ways = `choose a folder that holds the four files, install them with ‘${APT_INSTALL_HINT}’, or download them (Dataset view, or ‘atelier dataset fetch’)`;
    if (broken.length === 0) throw new AtelierError('dataset-missing', `Fashion-MNIST is not on this computer — ${ways}`);
    const inspections = await Promise.all(broken.map((source) => inspectFolder(source.location)));
    const damaged = inspections.some((inspection) => inspection.problems.length > 0);
    const what = inspections
      .map((inspection) =>
        inspection.problems.length > 0 ? `${inspection.dir}: ${inspection.problems.join('; ')}` : `${inspection.dir} lacks ${inspection.missingFiles.join(', ')}`,
      )
      .join('; ');
    const fix = damaged ? 'replace the damaged file, or ' : 'add the missing files, or ';
    throw new AtelierError(damaged ? 'dataset-corrupt' : 'dataset-missing', `Fashion-MNIST cannot be used: ${what} — ${fix}${ways}`);
  }

  /** Every candidate and its state, the chosen folder and the download's state. Cheap: no big file is read. */
  async sources(): Promise<DatasetSourcesReport> {
    const options = await this.sourceOptions();
    const { using, sources } = await describeSources(options);
    return { using, sources, chosenDir: options.chosenDir ?? null, download: this.downloadStatus() };
  }

  downloadStatus(): DownloadStatus {
    return { ...this.#status, progress: this.#status.progress ? { ...this.#status.progress } : null };
  }

  /** Loads (once) and verifies the dataset; throws naming the bad file when a source is damaged. */
  summary(): Promise<DatasetSummary> {
    return this.store.summary();
  }

  /** A page of images with its pixels as base64, without copying the split. */
  async page(request: PageRequest): Promise<EncodedImagePage> {
    const page = await this.store.page(request);
    return { split: page.split, total: page.total, offset: page.offset, indices: page.indices, labels: page.labels, pixels: encodePixels(page.pixels) };
  }

  async image(split: SplitName, index: number): Promise<EncodedImage> {
    const image = await this.store.image(split, index);
    return { split: image.split, index: image.index, label: image.label, className: image.className, pixels: encodePixels(image.pixels) };
  }

  /**
   * Use this folder first from now on, in every shell (null forgets the choice). Throws
   * `dataset-missing` naming what the folder lacks, and then remembers nothing.
   */
  async chooseFolder(dir: string | null): Promise<DatasetSourcesReport> {
    const chosen = dir === null ? null : (await sourceFromFolder(dir, 'user-folder')).dir;
    await this.#writeSettings({ [SETTINGS_KEY]: chosen });
    this.store.invalidate();
    return this.#announce();
  }

  /** Ask the shell's folder dialog; null when the person cancelled it. */
  async pickFolder(): Promise<string | null> {
    if (!this.#options.pickFolder) {
      throw new AtelierError('unsupported', 'Only the desktop app can open a folder dialog; type the path of the folder that holds Fashion-MNIST instead');
    }
    return this.#options.pickFolder();
  }

  /**
   * Download what the cache lacks (from `mirror` alone when given, else the configured mirrors),
   * verified, with progress reports. A second call while one runs joins it. Throws `offline`,
   * `download-failed` or `cancelled`; the cache is unchanged then.
   */
  download(options: { mirror?: string } = {}): Promise<DatasetSourcesReport> {
    if (this.#download) return this.#download.done;
    const controller = new AbortController();
    this.#status = { state: 'running', progress: null, error: null };
    const done = (async (): Promise<DatasetSourcesReport> => {
      try {
        const before = await this.locate();
        await downloadDataset({
          cacheDir: this.cacheDir,
          mirrors: options.mirror ? [options.mirror] : this.mirrors,
          signal: controller.signal,
          progressIntervalMs: this.#options.progressIntervalMs ?? 100,
          onProgress: (progress) => {
            this.#status.progress = progress;
            this.#options.onProgress?.(progress);
          },
        });
        this.#status = { state: 'done', progress: this.#status.progress, error: null };
        if (!sameSource(before, await this.locate())) this.store.invalidate();
      } catch (error) {
        const info = toErrorInfo(error);
        const cancelled = info.kind === 'cancelled';
        this.#status = { state: cancelled ? 'cancelled' : 'failed', progress: this.#status.progress, error: cancelled ? null : info.message };
        throw error;
      } finally {
        this.#download = null;
        await this.#announce().catch(() => undefined);
      }
      return this.sources();
    })();
    this.#download = { controller, done };
    return done;
  }

  /**
   * Start a download (or join the running one) without waiting for it, for the UIs: the report
   * says `running`; progress arrives through `onProgress`, the end through `onChanged`.
   */
  async startDownload(options: { mirror?: string } = {}): Promise<DatasetSourcesReport> {
    this.download(options).catch(() => undefined); // the outcome is in downloadStatus() and the onChanged report
    return this.sources();
  }

  /** Stop the running download; true when there was one. */
  cancelDownload(): boolean {
    if (!this.#download) return false;
    this.#download.controller.abort();
    return true;
  }

  /** Copy a folder's four files into the cache, each verified (`atelier dataset fetch --from DIR`). */
  async importFolder(dir: string): Promise<DatasetSourcesReport> {
    if (this.#download) throw new AtelierError('busy', 'A download into the cache is running; wait for it or cancel it, then import the folder');
    const before = await this.locate();
    await importFromFolder(dir, this.cacheDir);
    if (!sameSource(before, await this.locate())) this.store.invalidate();
    return this.#announce();
  }

  /** Cancel a running download (the app is closing). */
  dispose(): void {
    this.cancelDownload();
  }

  async #announce(): Promise<DatasetSourcesReport> {
    const report = await this.sources();
    this.#options.onChanged?.(report);
    return report;
  }

  async #readSettings(): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await readFile(this.settingsPath, 'utf8');
    } catch {
      return {};
    }
    try {
      const parsed: unknown = JSON.parse(text);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      // A damaged settings file only loses the remembered folder; the next choice rewrites it whole.
      return {};
    }
  }

  async #writeSettings(patch: Record<string, unknown>): Promise<void> {
    const write = this.#settingsWrite.then(async () => {
      const settings = { ...(await this.#readSettings()), ...patch };
      for (const [key, value] of Object.entries(settings)) if (value === null) delete settings[key];
      await writeJsonAtomic(this.settingsPath, settings);
    });
    this.#settingsWrite = write.catch(() => undefined);
    await write;
  }
}

function sameSource(a: DatasetSource | null, b: DatasetSource | null): boolean {
  return a?.kind === b?.kind && a?.dir === b?.dir;
}

/**
 * Pixels as base64 for the contract. The Buffer shares the page's memory, so an unfiltered page
 * (a view on the split's 47 MB buffer) is encoded without any copy and only its own bytes are read.
 */
export function encodePixels(pixels: Uint8Array): string {
  return Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength).toString('base64');
}
