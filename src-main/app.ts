/**
 * Atelier's core, assembled once per process and shared by whichever shell runs it
 * (Electron, browser, CLI). No Electron imports here.
 */
import { cpus, totalmem } from 'node:os';
import type { Shell, SystemInfo } from './contract';
import type { Handlers } from './dispatch';
import { EventHub } from './events';
import { EngineClient } from './core/engine/client';
import { describeSources, type SourceOptions } from './core/dataset/sources';
import { DatasetStore } from './core/dataset/store';
import { atelierHome } from './core/paths';
import { RunStore } from './core/runs/store';
import { TrainingService } from './core/training/service';
import { AtelierError } from './core/errors';
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
}

export interface Atelier {
  readonly home: string;
  readonly events: EventHub;
  readonly engine: EngineClient;
  readonly runs: RunStore;
  readonly dataset: DatasetStore;
  readonly training: TrainingService;
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

  /** A folder the person chose in this session (tried before every other source). */
  const chosenDir: string | null = null;
  const sourceOptions = (): SourceOptions => ({ ...options.datasetSources, home, chosenDir });
  const locateDataset = async () => (await describeSources(sourceOptions())).selected;

  const dataset = new DatasetStore({ locate: locateDataset });
  const runs = new RunStore(home);
  const training = new TrainingService({ engine, runs, events, dataset, locateDataset });

  const systemInfo = async (shell: Shell): Promise<SystemInfo> => {
    const [engineInfo, sources] = await Promise.all([engine.info(), describeSources(sourceOptions())]);
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
  };

  return {
    home,
    events,
    engine,
    runs,
    dataset,
    training,
    handlers,
    dispose: () => engine.terminate(),
  };
}
