/**
 * The engine's backend facts (EngineInfo.features) as a person reads them: a label and a plain
 * value instead of keys such as denseStepThreads and values such as true.
 */

export interface FeatureFact {
  label: string;
  value: string;
  /** What the fact means, for a tooltip. */
  hint: string | null;
  /** A warning to show as such, not as a fact. */
  warning: boolean;
}

const KNOWN: Record<string, { label: string; hint: string | null }> = {
  gpu: { label: 'GPU', hint: 'Whether TensorFlow runs on a CUDA graphics card.' },
  simd: { label: 'SIMD', hint: 'WebAssembly vector instructions: several numbers per instruction.' },
  threads: { label: 'Multithreaded kernels', hint: 'Whether TensorFlow.js’s own WebAssembly kernels use more than one core (not in Node); Atelier’s trainers run their own threads either way.' },
  trainingKernels: { label: 'Training kernels', hint: "Atelier's faster WebAssembly kernels for training, added to TensorFlow.js's own." },
  denseStepThreads: { label: 'Threads for the Dense step', hint: 'CPU threads that train the tutorial model’s Dense layers.' },
  cnnTrainingThreads: { label: 'Threads for CNN training', hint: 'CPU threads that share each batch of a convolutional model (its shards’ gradients are added up).' },
  warning: { label: 'Note', hint: null },
};

/** "someNewKey" → "Some new key", for facts a newer engine reports that this list does not know. */
function humanize(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function plainValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return value.toLocaleString('en-US');
  return value;
}

export function describeFeatures(features: Record<string, string | number | boolean>): FeatureFact[] {
  return Object.entries(features).map(([key, value]) => {
    const known = KNOWN[key];
    return { label: known?.label ?? humanize(key), value: plainValue(value), hint: known?.hint ?? null, warning: key === 'warning' };
  });
}
