/**
 * Atelier's core, assembled once per process and shared by whichever shell runs it
 * (Electron, browser, CLI). No Electron imports here.
 */
import { cpus, totalmem } from 'node:os';
import type { Shell, SystemInfo } from './contract';
import type { Handlers } from './dispatch';
import { EventHub } from './events';
import { EngineClient } from './core/engine/client';
import { atelierHome } from './core/paths';
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
}

export interface Atelier {
  readonly home: string;
  readonly events: EventHub;
  readonly engine: EngineClient;
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
  engine.onEvent((name, payload) => events.emit(name, payload));

  const systemInfo = async (shell: Shell): Promise<SystemInfo> => {
    const [engineInfo, dataset] = await Promise.all([engine.info(), describeDataset()]);
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
      dataset,
    };
  };

  const describeDataset = async (): Promise<SystemInfo['dataset']> => ({ using: null, sources: [] });

  const handlers: Handlers = {
    'system.info': async (_input, context) => systemInfo(context.shell),
  };

  return {
    home,
    events,
    engine,
    handlers,
    dispose: () => engine.terminate(),
  };
}
