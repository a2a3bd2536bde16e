/**
 * TFLite, full-integer int8: the float model quantized after training (see tflite/quantize.ts),
 * about a quarter of the size, for integer-only hardware (microcontrollers, NPUs, Edge TPU-style
 * accelerators). Input and output are int8 with the scale and zero point the file and
 * atelier-model.json state.
 *
 * Calibration and the re-check use real Fashion-MNIST training images (two samples with their
 * own seeds; drawn independently from 60,000, they share about two images): quantization is fitted to the data the model sees, and random probe images would
 * push activations past the calibrated ranges and say nothing about the model's real behaviour.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../fs-atomic';
import { ARMNN_CHECK_SCRIPT } from '../external-checks';
import { tfliteBundleCheck } from '../bundle';
import { toTflite } from '../tflite/convert';
import { INT8_INPUT_QUANTIZATION, quantizeTflite } from '../tflite/quantize';
import { runTfliteReference } from '../tflite/reference';
import { encodeTflite, TFLITE_SCHEMA_VERSION } from '../tflite/schema';
import { readTflite, TFLITE_MODEL_FILE, tfliteDescription, tfliteSignature } from './tflite';
import type { ExportFormatModule, ExportImageSource } from './types';

/** Calibration: how many training images, picked with which seed. */
export const CALIBRATION_IMAGES = 500;
const CALIBRATION_SEED = 18;
/** The re-check: a second sample, drawn with its own seed. */
const CHECK_IMAGES = 200;
const CHECK_SEED = 1818;
/**
 * The share of each activation's largest values the range keeps (see QuantizeOptions.percentile).
 * Measured on a CNN trained 3 epochs (float 89.21 % on the 10,000 test images), int8 by the
 * integer reference: min/max 89.26 % (same class as float on 99.55 %), 99.99th percentile
 * 89.28 % (99.47 %), 99.9th 89.23 % (99.49 %). Clipping buys nothing here, so min/max it is.
 */
export const CALIBRATION_PERCENTILE = 1;
/** Softmax's fixed int8 output: probability = (q + 128) / 256. */
const OUTPUT_QUANTIZATION = { scale: 1 / 256, zeroPoint: -128 };

const asReal = (bytes: Uint8Array): Float32Array => Float32Array.from(bytes, (value) => value / 255);

/** Real inputs in [0, 1] → the int8 values the file takes. */
export function quantizeInput(real: Float32Array): Int8Array {
  return Int8Array.from(real, (value) => Math.max(-128, Math.min(127, Math.round(value / INT8_INPUT_QUANTIZATION.scale) + INT8_INPUT_QUANTIZATION.zeroPoint)));
}

async function calibrationImages(images: ExportImageSource): Promise<Float32Array> {
  return asReal(await images.trainingImages(CALIBRATION_IMAGES, CALIBRATION_SEED));
}

export const tfliteInt8Format: ExportFormatModule = {
  format: 'tflite-int8',
  label: 'TFLite int8',
  files: { model: TFLITE_MODEL_FILE, weights: [] },
  needsWeights: true,
  // Quantization changes probabilities by a few hundredths on most images and flips the class of
  // a few uncertain ones; a wrong weight layout or scale changes most classes.
  tolerance: { largestDifference: 0.5, sameTopClass: 0.95 },
  probe: async (images) => asReal(await images.trainingImages(CHECK_IMAGES, CHECK_SEED)),
  signature: (description) => tfliteSignature(description, { input: INT8_INPUT_QUANTIZATION, output: OUTPUT_QUANTIZATION }),
  metadataExtras: () => ({ onnx: null, tflite: { schemaVersion: TFLITE_SCHEMA_VERSION, quantization: 'int8' } }),
  async write(job) {
    const float = toTflite(job.description, tfliteDescription(job.run, job.atelierVersion, 'int8, quantized after training'));
    const int8 = quantizeTflite(float, { calibration: await calibrationImages(job.images), percentile: CALIBRATION_PERCENTILE });
    await writeFileAtomic(join(job.dir, TFLITE_MODEL_FILE), encodeTflite(int8));
    await job.afterWeights();
  },
  async reproduce(job) {
    const { output } = runTfliteReference(await readTflite(job.dir), quantizeInput(job.probe));
    return Float32Array.from(output, (q) => OUTPUT_QUANTIZATION.scale * (q - OUTPUT_QUANTIZATION.zeroPoint));
  },
  // Runtimes round int8 rescaling their own ways; a step of 1/256 in a layer can move an output a few steps.
  bundleCheck: tfliteBundleCheck(4 / 256),
  secondRuntime: { name: 'Arm NN (python3-pyarmnn)', script: ARMNN_CHECK_SCRIPT },
};
