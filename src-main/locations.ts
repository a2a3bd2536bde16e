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
