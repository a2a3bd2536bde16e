/**
 * Second opinions on exported files from runtimes that share no code with Atelier: Arm NN
 * (Debian's python3-pyarmnn) for .tflite and the ONNX project's checker (python3-onnx) for
 * .onnx, each through a small Python script beside this file, for the tests' checks on whole
 * test sets. What a person re-runs from an export folder is the bundle's own check script
 * (bundle/scripts.ts), which needs nothing of Atelier.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Debian's interpreter, where its python3-* packages live (not a virtualenv's). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export const ARMNN_CHECK_SCRIPT = fileURLToPath(new URL('./check_tflite_armnn.py', import.meta.url));
export const ONNX_CHECK_SCRIPT = fileURLToPath(new URL('./check_onnx.py', import.meta.url));

function canImport(module: string): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

/** Why Arm NN cannot check here, or null when it can. */
export function armnnMissing(): string | null {
  if (!canImport('numpy')) return `${SYSTEM_PYTHON} lacks numpy (apt install python3-numpy)`;
  if (!canImport('pyarmnn')) return `${SYSTEM_PYTHON} lacks pyarmnn (apt install python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22)`;
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import pyarmnn as ann; ann.ITfLiteParser()'], { stdio: 'ignore' });
  return probe.status === 0 ? null : 'pyarmnn has no TFLite parser (apt install libarmnntfliteparser22)';
}

export const armnnAvailable = (): boolean => armnnMissing() === null;

/** Why the ONNX checker cannot run here, or null when it can. */
export function onnxCheckerMissing(): string | null {
  return canImport('onnx') ? null : `${SYSTEM_PYTHON} lacks the onnx package (apt install python3-onnx)`;
}

export interface ArmnnSummary {
  backend: string;
  armnn: string;
  input: 'float32' | 'int8';
  inputShape: number[];
  images: number;
  classes: number;
  loadSeconds: number;
  runSeconds: number;
}

/** The last line a script printed, as JSON (pyarmnn prints notes of its own before it). */
function lastJsonLine(stdout: string): unknown {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line);
}

/**
 * Run `model` in Arm NN on `images` (28×28 bytes each) and return its probabilities
 * (images × classes). The images and probabilities pass through files named after `workFile`.
 * Asynchronous, so that two models can be checked at once on two cores.
 */
export async function runArmnn(model: string, images: Uint8Array, workFile: string, backend = 'CpuRef'): Promise<{ probabilities: Float32Array; summary: ArmnnSummary }> {
  const imagesFile = `${workFile}.images.u8`;
  const outputFile = `${workFile}.probabilities.f32`;
  await writeFile(imagesFile, images);
  const { stdout } = await execFileAsync(SYSTEM_PYTHON, [ARMNN_CHECK_SCRIPT, model, imagesFile, outputFile, '--backend', backend], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const bytes = await readFile(outputFile);
  return { probabilities: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), summary: lastJsonLine(stdout) as ArmnnSummary };
}

export interface OnnxCheckResult {
  valid: boolean;
  onnx: string;
  error?: string;
  irVersion?: number;
  opsets?: Record<string, number>;
}

/** `onnx.checker.check_model(model, full_check=True)` on a file. */
export function runOnnxChecker(model: string): OnnxCheckResult {
  const result = spawnSync(SYSTEM_PYTHON, [ONNX_CHECK_SCRIPT, model], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return lastJsonLine(result.stdout) as OnnxCheckResult;
}
