/**
 * The self-checking bundle every export carries beside its model files: MODEL_CARD.md, samples/
 * and one check script. Formats say which script and tolerance; this writes the rest the same way
 * for all of them.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Evaluation } from '../../../contract';
import type { RunRecord } from '../../runs/store';
import type { ModelMetadata } from '../metadata';
import { MODEL_CARD_FILE, modelCard, type CheckScriptInfo } from './card';
import { buildSamplesSpec, sampleFiles, writeSamples, type SampleImages } from './samples';
import { ONNX_CHECK_SCRIPT_NODE, TFJS_CHECK_SCRIPT, TFLITE_CHECK_SCRIPT } from './scripts';

export { MODEL_CARD_FILE } from './card';
export { SAMPLE_COUNT, SAMPLES_DIR, SAMPLES_FILE, samplesAsReal, type SampleImages } from './samples';

/** A format's part of the bundle: its check script and how close a runtime must come to Atelier's probabilities. */
export interface BundleCheck extends CheckScriptInfo {
  /** The script's text, written as `file`. */
  text: string;
  /** The largest allowed difference of one probability between Atelier's and another runtime's output on a sample. */
  tolerance: number;
}

const NODE = 'Node.js 18 or later, and';

export function nodeCheck(runtimePackage: string, text: string, tolerance: number): BundleCheck {
  return { file: 'check.mjs', command: 'node check.mjs', needs: `${NODE} npm install ${runtimePackage} (in this folder, or anywhere above it).`, text, tolerance };
}

export const tfjsBundleCheck = (tolerance: number): BundleCheck => nodeCheck('@tensorflow/tfjs', TFJS_CHECK_SCRIPT, tolerance);
export const onnxBundleCheck = (tolerance: number): BundleCheck => nodeCheck('onnxruntime-node', ONNX_CHECK_SCRIPT_NODE, tolerance);
export const tfliteBundleCheck = (tolerance: number): BundleCheck => ({
  file: 'check.py',
  command: 'python3 check.py',
  needs:
    'Python 3 with numpy and one TFLite runtime — pip install tflite-runtime (or pip install tensorflow), or on Debian/Ubuntu apt install python3-numpy python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22 (check.py tries them in that order).',
  text: TFLITE_CHECK_SCRIPT,
  tolerance,
});

/** The bundle's files for a format, relative to the export folder. */
export function bundleFiles(check: BundleCheck): string[] {
  return [MODEL_CARD_FILE, check.file, ...sampleFiles()];
}

export interface BundleJob {
  dir: string;
  metadata: ModelMetadata;
  run: RunRecord;
  evaluation: Evaluation | null;
  formatLabel: string;
  check: BundleCheck;
  images: SampleImages;
  /** The exported file's probabilities on the sample images, as Atelier computed them. */
  probabilities: Float32Array;
  samplesFromTestSet: boolean;
}

export async function writeBundle(job: BundleJob): Promise<void> {
  const spec = buildSamplesSpec(job.metadata, job.images, job.probabilities, job.check.tolerance);
  await writeSamples(job.dir, job.images, spec);
  await writeFile(join(job.dir, job.check.file), job.check.text, { mode: 0o755 });
  await writeFile(
    join(job.dir, MODEL_CARD_FILE),
    modelCard({
      metadata: job.metadata,
      run: job.run,
      evaluation: job.evaluation,
      formatLabel: job.formatLabel,
      script: job.check,
      tolerance: job.check.tolerance,
      sampleCount: job.images.labels.length,
      samplesFromTestSet: job.samplesFromTestSet,
    }),
  );
}
