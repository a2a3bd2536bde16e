/**
 * Where Atelier's built siblings live. In the build every main-process file sits flat in
 * `out/main/` (see electron.vite.config.ts), next to `out/preload/` and `out/renderer/`;
 * from source (tests) the worker is the TypeScript file, run through tsx.
 */
import { fileURLToPath } from 'node:url';

const fromSource = import.meta.url.endsWith('.ts');

export function engineWorkerUrl(): URL {
  return fromSource ? new URL('./core/engine/worker.ts', import.meta.url) : new URL('./engine-worker.js', import.meta.url);
}

/** The built renderer (index.html + assets). From source it is the repo's `out/renderer`. */
export function rendererDir(): string {
  return fileURLToPath(new URL(fromSource ? '../out/renderer/' : '../renderer/', import.meta.url));
}

/**
 * The development photos (`shared/real-photos`, read-only, never copied into the repository):
 * `$ATELIER_REAL_PHOTOS`, else the `shared/` folder beside this checkout.
 */
export function realPhotosDir(): string {
  if (process.env.ATELIER_REAL_PHOTOS) return process.env.ATELIER_REAL_PHOTOS;
  return fileURLToPath(new URL(fromSource ? '../../shared/real-photos/' : '../../../shared/real-photos/', import.meta.url));
}
