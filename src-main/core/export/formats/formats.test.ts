/**
 * The format table: one module per contract format, each naming its own files (what --force may
 * replace), and second-runtime scripts that exist beside the code.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ExportFormatSchema } from '../../../contract';
import { exportedFiles } from '../export';
import { EXPORT_FORMATS } from './index';

describe('export formats', () => {
  it('has one module per format of the contract, each under its own key with its own label', () => {
    expect(Object.keys(EXPORT_FORMATS).sort()).toEqual([...ExportFormatSchema.options].sort());
    for (const [key, module] of Object.entries(EXPORT_FORMATS)) expect(module.format).toBe(key);
    const labels = Object.values(EXPORT_FORMATS).map((module) => module.label);
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('says which files each export consists of (what --force may replace)', () => {
    const samples = [...Array.from({ length: 10 }, (_, index) => `samples/sample-${index}.png`), 'samples/samples.json'];
    expect(exportedFiles('tfjs')).toEqual(['atelier-model.json', 'model.json', 'weights.bin', 'MODEL_CARD.md', 'check.mjs', ...samples]);
    expect(exportedFiles('onnx')).toEqual(['atelier-model.json', 'model.onnx', 'MODEL_CARD.md', 'check.mjs', ...samples]);
    expect(exportedFiles('tflite')).toEqual(['atelier-model.json', 'model.tflite', 'MODEL_CARD.md', 'check.py', ...samples]);
    expect(exportedFiles('tflite-int8')).toEqual(['atelier-model.json', 'model.tflite', 'MODEL_CARD.md', 'check.py', ...samples]);
  });

  it('allows the float formats no class changes, and int8 only a few', () => {
    for (const format of ['tfjs', 'onnx', 'tflite'] as const) expect(EXPORT_FORMATS[format].tolerance.sameTopClass).toBe(1);
    expect(EXPORT_FORMATS['tflite-int8'].tolerance.sameTopClass).toBeGreaterThanOrEqual(0.95);
  });

  it('points to second-runtime scripts that exist', () => {
    for (const module of Object.values(EXPORT_FORMATS)) if (module.secondRuntime) expect(existsSync(module.secondRuntime.script)).toBe(true);
    expect(EXPORT_FORMATS.tflite.secondRuntime?.name).toMatch(/Arm NN/);
    expect(EXPORT_FORMATS.onnx.secondRuntime?.name).toMatch(/onnx\.checker/);
  });
});
