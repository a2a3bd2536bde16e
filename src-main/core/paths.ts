import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Atelier's data folder, the same for the Electron, browser and CLI shells so that a
 * run trained in one appears in the others. `$ATELIER_HOME` wins; otherwise the
 * platform's per-user data folder.
 */
export function atelierHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.ATELIER_HOME && env.ATELIER_HOME.trim() !== '') return env.ATELIER_HOME;
  const home = homedir();
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'Atelier');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Atelier');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'atelier');
}

export const datasetCacheDir = (home: string): string => join(home, 'datasets', 'fashion-mnist');
export const runsDir = (home: string): string => join(home, 'runs');
