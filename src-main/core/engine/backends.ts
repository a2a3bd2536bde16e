/**
 * The backend ladder: tfjs-node-gpu (CUDA) → tfjs-node (native CPU) → wasm → cpu (pure JS).
 * The first rung that loads wins; every earlier rung records why it was skipped, in words a
 * person can act on. Runs inside the engine worker only.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendAttempt, BackendName, EngineInfo } from '../../contract';

interface Rung {
  name: BackendName;
  package: string;
  /** Loads the backend and makes it current; throws with the reason when it cannot. */
  load(): Promise<Record<string, string | number | boolean>>;
}

const NATIVE_HINT =
  'its install script downloads libtensorflow, which failed or was blocked on this machine. ' +
  'With network access to it, run ‘npm install’ again (and see the README for GPU requirements).';

/** Dynamic import by a computed name so bundlers leave the optional packages alone. */
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

function isMissingModule(error: unknown, pkg: string): boolean {
  const code = (error as { code?: string })?.code;
  const message = error instanceof Error ? error.message : String(error);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(pkg);
}

/** Explain a native package's failure: not installed, or installed without its native library. */
function nativeReason(error: unknown, pkg: string, extra: string): string {
  if (isMissingModule(error, pkg)) return `${pkg} is not installed: ${NATIVE_HINT}`;
  const message = error instanceof Error ? error.message : String(error);
  if (/\.so|\.dll|\.dylib|libtensorflow|binding|napi/i.test(message)) {
    return `${pkg} is installed but its native library did not load${extra}. Reinstall with network access: npm rebuild ${pkg}.`;
  }
  return `${pkg} failed to start: ${message.split('\n')[0]}`;
}

async function useTensorflowBackend(): Promise<Record<string, string | number | boolean>> {
  const ok = await tf.setBackend('tensorflow');
  if (!ok) throw new Error('the tensorflow backend did not initialise');
  await tf.ready();
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return { gpu: Boolean(backend.isUsingGpuDevice) };
}

const RUNGS: Rung[] = [
  {
    name: 'tensorflow-gpu',
    package: '@tensorflow/tfjs-node-gpu',
    async load() {
      try {
        await importOptional('@tensorflow/tfjs-node-gpu');
      } catch (error) {
        throw new Error(nativeReason(error, '@tensorflow/tfjs-node-gpu', ' (it needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1)'), {
          cause: error,
        });
      }
      const features = await useTensorflowBackend();
      if (!features.gpu) {
        throw new Error('@tensorflow/tfjs-node-gpu loaded, but TensorFlow found no CUDA GPU (check the NVIDIA driver, CUDA 11.2 and cuDNN 8.1).');
      }
      return features;
    },
  },
  {
    name: 'tensorflow',
    package: '@tensorflow/tfjs-node',
    async load() {
      try {
        await importOptional('@tensorflow/tfjs-node');
      } catch (error) {
        // tfjs-node-gpu also provides the native CPU backend when it loaded but found no GPU.
        if (tf.findBackend('tensorflow')) return useTensorflowBackend();
        throw new Error(nativeReason(error, '@tensorflow/tfjs-node', ''), { cause: error });
      }
      return useTensorflowBackend();
    },
  },
  {
    name: 'wasm',
    package: '@tensorflow/tfjs-backend-wasm',
    async load() {
      await importOptional('@tensorflow/tfjs-backend-wasm');
      const ok = await tf.setBackend('wasm');
      if (!ok) throw new Error('the wasm backend did not initialise (WebAssembly unavailable?)');
      await tf.ready();
      return {
        simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
        threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT'),
      };
    },
  },
  {
    name: 'cpu',
    package: '@tensorflow/tfjs-backend-cpu',
    async load() {
      const ok = await tf.setBackend('cpu');
      if (!ok) throw new Error('the cpu backend did not initialise');
      await tf.ready();
      return {};
    },
  },
];

function rootMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause) current = current.cause;
  return current instanceof Error ? current.message.split('\n')[0]! : String(current);
}

/**
 * Walk the ladder and make the first working backend current.
 * `prefer` skips the rungs above it (for tests and for people who want a specific backend).
 */
export async function selectBackend(prefer: string | null): Promise<EngineInfo> {
  const preferIndex = prefer ? RUNGS.findIndex((rung) => rung.name === prefer) : 0;
  const ladder: BackendAttempt[] = [];
  let chosen: BackendName | null = null;
  let features: EngineInfo['features'] = {};
  // An unknown name is reported (not silently ignored) and the whole ladder is walked.
  const unknownPreference = prefer && preferIndex < 0 ? `ATELIER_BACKEND=${prefer} is not a backend (use ${RUNGS.map((rung) => rung.name).join(', ')}); ignored.` : null;

  for (const [index, rung] of RUNGS.entries()) {
    const base = { name: rung.name, package: rung.package };
    if (chosen) {
      ladder.push({ ...base, outcome: 'not-tried', reason: null, detail: null });
      continue;
    }
    if (prefer && !unknownPreference && preferIndex > index) {
      ladder.push({ ...base, outcome: 'skipped', reason: `ATELIER_BACKEND=${prefer} asks for a later rung.`, detail: null });
      continue;
    }
    try {
      features = await rung.load();
      chosen = rung.name;
      ladder.push({ ...base, outcome: 'used', reason: null, detail: null });
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      ladder.push({ ...base, outcome: 'skipped', reason, detail: rootMessage(error) });
    }
  }

  if (unknownPreference) features = { ...features, warning: unknownPreference };
  return {
    state: chosen ? 'ready' : 'failed',
    backend: chosen,
    tfjsVersion: tf.version.tfjs,
    features,
    ladder,
    error: chosen ? null : 'No TensorFlow.js backend could start; see the reasons for each rung.',
  };
}
