/**
 * Model exchange as the app sees it: export a run (to a folder, or as a .zip for a browser),
 * import a TF.js model as a run, and the shell's dialogs for both. One export or import at a
 * time, so two requests for the same folder never race.
 */
import type { Evaluation, ExportFormat, ModelArchive, ModelExport, ModelImport } from '../../contract';
import type { EngineClient } from '../engine/client';
import { AtelierError } from '../errors';
import type { RunStore } from '../runs/store';
import { archiveRun, exportRun, suggestedExportName, type ExportContext } from './export';
import { importModel, importModelFiles } from './import';

/** Native dialogs of the Electron shell; other shells have none and answer `unsupported`. */
export interface ModelDialogs {
  /** A save dialog for an export folder; null when cancelled. */
  chooseExportPath(options: { defaultName: string; format: ExportFormat }): Promise<string | null>;
  /** An open dialog for a TF.js model folder; null when cancelled. */
  chooseImportFolder(): Promise<string | null>;
}

export interface ModelExchangeOptions {
  engine: Pick<EngineClient, 'request'>;
  runs: RunStore;
  atelierVersion: string;
  /** Evaluate a run on the test set and record it (the training service's `evaluation`). */
  evaluate: (runId: string) => Promise<Evaluation>;
  /** Fashion-MNIST, for the int8 TFLite export's calibration (see `ExportContext.dataset`). */
  dataset?: ExportContext['dataset'];
  dialogs?: ModelDialogs | undefined;
  /** Tests: see `ExportContext.afterWeightsWritten`. */
  afterWeightsWritten?: ExportContext['afterWeightsWritten'];
  /** Tests: see `ExportContext.folderFs`. */
  folderFs?: ExportContext['folderFs'];
}

export class ModelExchange {
  readonly #options: ModelExchangeOptions;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ModelExchangeOptions) {
    this.#options = options;
  }

  #context(): ExportContext {
    const { engine, runs, atelierVersion, dataset, afterWeightsWritten, folderFs } = this.#options;
    return { engine, runs, atelierVersion, dataset, ...(afterWeightsWritten ? { afterWeightsWritten } : {}), ...(folderFs ? { folderFs } : {}) };
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work, work);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Export a finished run into the folder `path`. */
  export(request: { runId: string; format: ExportFormat; path: string; force?: boolean | undefined }): Promise<ModelExport> {
    return this.#serial(() => exportRun(this.#context(), { ...request, force: request.force ?? false }));
  }

  /** The export as a .zip, for a browser download. */
  archive(request: { runId: string; format: ExportFormat }): Promise<ModelArchive> {
    return this.#serial(() => archiveRun(this.#context(), request));
  }

  /** Import a TF.js layers model folder (or its model.json) as a new run. */
  import(path: string): Promise<ModelImport> {
    return this.#serial(() => importModel(this.#options, path));
  }

  /** Import from files a browser sent. */
  importFiles(files: { name: string; base64: string }[]): Promise<ModelImport> {
    return this.#serial(() => importModelFiles(this.#options, files));
  }

  /** The save dialog (Electron), suggesting a name that says what the export holds. */
  async pickExportPath(request: { runId: string; format: ExportFormat }): Promise<string | null> {
    const dialogs = this.#requireDialogs();
    const run = await this.#options.runs.read(request.runId);
    return dialogs.chooseExportPath({ defaultName: suggestedExportName(run, request.format), format: request.format });
  }

  /** The folder dialog for an import (Electron). */
  pickImportFolder(): Promise<string | null> {
    return this.#requireDialogs().chooseImportFolder();
  }

  #requireDialogs(): ModelDialogs {
    const dialogs = this.#options.dialogs;
    if (!dialogs) throw new AtelierError('unsupported', 'Only the desktop app has file dialogs; type the folder path instead.');
    return dialogs;
  }
}
