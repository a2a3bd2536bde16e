/**
 * Every export format Atelier writes. A Record over the contract's ExportFormat, so a format
 * added to the enum without a module here is a compile error rather than a silent fall-through.
 */
import type { ExportFormat } from '../../../contract';
import { onnxFormat } from './onnx';
import { tfjsFormat } from './tfjs';
import { tfliteFormat } from './tflite';
import { tfliteInt8Format } from './tflite-int8';
import type { ExportFormatModule } from './types';

export const EXPORT_FORMATS: Record<ExportFormat, ExportFormatModule> = {
  tfjs: tfjsFormat,
  onnx: onnxFormat,
  tflite: tfliteFormat,
  'tflite-int8': tfliteInt8Format,
};

export function exportFormat(format: ExportFormat): ExportFormatModule {
  return EXPORT_FORMATS[format];
}

export type { ExportFormatModule } from './types';
