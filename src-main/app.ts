/**
 * Atelier's core, assembled once per process and shared by whichever shell runs it
 * (Electron, browser, CLI). No Electron imports here.
 */
import { cpus, totalmem } from 'node:os';
import type { Shell, SystemInfo } from './contract';
import type { CallContext, Handlers } from './dispatch';
import { EventHub } from './events';
import { EngineClient } from './core/engine/client';
import { type SourceOptions } from './core/dataset/sources';
import { DatasetService } from './core/dataset/service';
import type { DatasetStore } from './core/dataset/store';
import { atelierHome } from './core/paths';
import { RunStore } from './core/runs/store';
import { TrainingService } from './core/training/service';
import { loadCollectionForTraining, type LoadTrainingPhotos } from './core/training/photos';
import { PhotoCollection } from './core/collection/store';
import { ModelExchange, type ModelDialogs } from './core/export/service';
import { AtelierError } from './core/errors';
import { PhotoService } from './core/photos/service';
import { MyPhotosService } from './core/collection/service';
import { APP_NAME, APP_VERSION } from './version';

export interface AtelierOptions {
  /** Where the engine worker lives (built file, or worker.ts in tests). */
  engineWorkerUrl: URL;
  /** Defaults to `atelierHome()`. */
  home?: string;
  /** Defaults to $ATELIER_BACKEND. */
  preferBackend?: string | null;
  /** Electron's version when running inside Electron. */
  electronVersion?: string | null;
  /** Dataset search overrides (tests); the environment and platform defaults otherwise. */
  datasetSources?: Omit<SourceOptions, 'home' | 'chosenDir'>;
  /** The shell's folder dialog (Electron); `dataset.pickFolder` answers `unsupported` without it. */
  pickFolder?: () => Promise<string | null>;
  /** The shell's save and folder dialogs for model export and import (Electron); `unsupported` without them. */
  modelDialogs?: ModelDialogs;
  /** The shell's open dialog for photos (Electron); `photos.pickFiles` answers `unsupported` without it. */
  pickPhotos?: () => Promise<string[]>;
  /** Where training finds My photos; defaults to the data folder's collection (tests pass their own). */
  loadTrainingPhotos?: LoadTrainingPhotos;
}

export interface Atelier {
  readonly home: string;
  readonly events: EventHub;
  readonly engine: EngineClient;
  readonly runs: RunStore;
  readonly dataset: DatasetStore;
  readonly datasets: DatasetService;
  readonly training: TrainingService;
  readonly models: ModelExchange;
  readonly photos: PhotoService;
  readonly myPhotos: MyPhotosService;
  readonly handlers: Handlers;
  dispose(): Promise<void>;
}

export function createAtelier(options: AtelierOptions): Atelier {
  const home = options.home ?? atelierHome();
  const events = new EventHub();
  const engine = new EngineClient({
    workerUrl: options.engineWorkerUrl,
    preferBackend: options.preferBackend ?? process.env.ATELIER_BACKEND ?? null,
  });
  engine.onEvent((name, payload) => events.emit(name, payload as never));

  const datasets = new DatasetService({
    home,
    ...options.datasetSources,
    ...(options.pickFolder ? { pickFolder: options.pickFolder } : {}),
    onProgress: (progress) => events.emit('dataset.progress', progress),
    onChanged: (report) => events.emit('dataset.changed', report),
  });
  const dataset = datasets.store;
  // Training uses the same source as the views, chosen folder included.
  const locateDataset = () => datasets.locateOrExplain();
  const runs = new RunStore(home);
  const collection = new PhotoCollection(home);
  const loadTrainingPhotos = options.loadTrainingPhotos ?? (() => loadCollectionForTraining(collection));
  const training = new TrainingService({ engine, runs, events, dataset, locateDataset, loadTrainingPhotos });
  const photos = new PhotoService({ engine, runs });
  const myPhotos = new MyPhotosService({ collection, onChanged: (change) => events.emit('myPhotos.changed', change) });
  // A browser may be on another machine, where a path on this one opens nothing (see MyPhotoSchema).
  const viewer = (context: CallContext) => ({ showPaths: context.shell !== 'browser' });
  const models = new ModelExchange({ engine, runs, atelierVersion: APP_VERSION, evaluate: (runId) => training.evaluation(runId, true), dataset, dialogs: options.modelDialogs });

  const systemInfo = async (shell: Shell): Promise<SystemInfo> => {
    const [engineInfo, sources] = await Promise.all([engine.info(), datasets.sources()]);
    return {
      appName: APP_NAME,
      appVersion: APP_VERSION,
      shell,
      platform: process.platform,
      arch: process.arch,
      nodeVersion: process.versions.node,
      electronVersion: options.electronVersion ?? null,
      cpus: cpus().length,
      totalMemoryBytes: totalmem(),
      dataHome: home,
      engine: engineInfo,
      dataset: { using: sources.using, sources: sources.sources },
    };
  };

  const handlers: Handlers = {
    'system.info': async (_input, context) => systemInfo(context.shell),
    'training.presets': async () => engine.request('presets', {}),
    'training.start': async (config) => training.start(config),
    'training.teach': async (request) => training.teach(request),
    'training.resume': async (request) => training.resume(request),
    'training.checkpoints': async ({ runId }) => training.checkpoints(runId),
    'training.findLearningRate': async (request) => training.findLearningRate(request),
    'training.stop': async () => training.stop(),
    'training.state': async () => training.state(),
    'runs.list': async () => runs.list(),
    'runs.get': async ({ runId }) => runs.detail(runId),
    'runs.delete': async ({ runId }) => {
      const deleted = await runs.delete(runId);
      events.emit('runs.changed', { runId });
      return { deleted };
    },
    'runs.setActive': async ({ runId }) => {
      if (!(await runs.hasModel(runId))) throw new AtelierError('no-model', `Run ${runId} has no saved model, so it cannot classify photos. Choose a run that finished at least one epoch.`);
      await runs.setActive(runId);
      events.emit('runs.changed', { runId });
      return { activeRunId: runId };
    },
    'evaluation.get': async ({ runId, recompute }) => training.evaluation(runId, recompute ?? false),
    'evaluation.samples': async (request) => training.samples(request),
    'dataset.summary': async () => datasets.summary(),
    'dataset.page': async (request) => datasets.page(request),
    'dataset.image': async ({ split, index }) => datasets.image(split, index),
    'dataset.sources': async () => datasets.sources(),
    'dataset.chooseFolder': async ({ path }) => datasets.chooseFolder(path),
    'dataset.pickFolder': async () => ({ path: await datasets.pickFolder() }),
    'dataset.download': async ({ mirror }) => datasets.startDownload(mirror ? { mirror } : {}),
    'dataset.cancelDownload': async () => ({ cancelled: datasets.cancelDownload() }),
    'models.export': async (request) => models.export(request),
    'models.archive': async (request) => models.archive(request),
    'models.pickExportPath': async (request) => ({ path: await models.pickExportPath(request) }),
    'models.import': async ({ path }) => {
      const imported = await models.import(path);
      events.emit('runs.changed', { runId: imported.run.id });
      return imported;
    },
    'models.importFiles': async ({ files }) => {
      const imported = await models.importFiles(files);
      events.emit('runs.changed', { runId: imported.run.id });
      return imported;
    },
    'models.pickImportFolder': async () => ({ path: await models.pickImportFolder() }),
    'photos.classifyPaths': async ({ paths, requestId, ...options }) =>
      photos.classifyPaths(paths, { ...options, onProgress: (progress) => events.emit('photos.progress', { requestId: requestId ?? null, ...progress }) }),
    'photos.classifyFiles': async ({ files, requestId, ...options }) =>
      photos.classifyFiles(
        files.map((file) => ({ name: file.name, bytes: Buffer.from(file.base64, 'base64') })),
        { ...options, onProgress: (progress) => events.emit('photos.progress', { requestId: requestId ?? null, ...progress }) },
      ),
    'photos.why': async ({ pixels, runId }) => photos.why(pixels, runId),
    'photos.pickFiles': async () => {
      if (!options.pickPhotos) throw new AtelierError('unsupported', 'Choosing photos with a dialog needs the desktop app; here, use Open… in the Classify view or drop the photos on the window.');
      return { paths: await options.pickPhotos() };
    },
    'myPhotos.list': async (_input, context) => myPhotos.list(viewer(context)),
    'myPhotos.add': async ({ paths, label, ...options }, context) => myPhotos.add(paths, label, options, viewer(context)),
    'myPhotos.addFiles': async ({ files, label, ...options }, context) =>
      myPhotos.add(
        files.map((file) => ({ name: file.name, bytes: Buffer.from(file.base64, 'base64') })),
        label,
        options,
        viewer(context),
      ),
    'myPhotos.relabel': async ({ id, label }, context) => myPhotos.relabel(id, label, viewer(context)),
    'myPhotos.remove': async ({ ids }) => myPhotos.remove(ids),
    'myPhotos.thumbnails': async ({ ids, size }) => myPhotos.thumbnails(ids, size),
  };

  return {
    home,
    events,
    engine,
    runs,
    dataset,
    datasets,
    training,
    models,
    photos,
    myPhotos,
    handlers,
    dispose: () => {
      datasets.dispose();
      return engine.terminate();
    },
  };
}
