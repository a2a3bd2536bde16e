import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Test support: writes an engine worker into `dir` that stands in for TensorFlow.js. It announces
 * a cpu backend, answers `info` at once and fails every other method as an engine would
 * (`engine-unavailable`), so tests of the handler table need no real engine.
 */
export function writeFakeEngineWorker(dir: string): URL {
  const file = join(dir, 'fake-engine-worker.mjs');
  writeFileSync(
    file,
    `import { parentPort } from 'node:worker_threads';
const info = { state: 'ready', backend: 'cpu', tfjsVersion: '4.22.0', features: {}, error: null,
  ladder: [{ name: 'cpu', package: '@tensorflow/tfjs-backend-cpu', outcome: 'used', reason: null, detail: null }] };
parentPort.postMessage({ type: 'event', name: 'engine.status', payload: info });
parentPort.on('message', (request) => {
  if (request.method === 'info') parentPort.postMessage({ type: 'result', id: request.id, ok: true, value: info });
  else parentPort.postMessage({ type: 'result', id: request.id, ok: false,
    error: { kind: 'engine-unavailable', message: 'fake engine: ' + request.method + ' is not simulated' } });
});
`,
  );
  return pathToFileURL(file);
}
