/**
 * Moving model files between the browser and the core: a .zip answer becomes a download, chosen
 * files become the base64 payload of `models.importFiles`.
 */

import { PHOTO_UPLOAD_MAX_BYTES } from '../../../src-main/contract';
import { downloadBlob } from './save-text';

/** What one upload message can carry (the browser shell sizes its largest message from it). */
export const MAX_UPLOAD_BYTES = PHOTO_UPLOAD_MAX_BYTES;

/** Save base64 bytes as a file through the browser's download machinery. */
export function downloadBase64(base64: string, fileName: string, mimeType: string): void {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  downloadBlob(new Blob([bytes], { type: mimeType }), fileName);
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) binary += String.fromCharCode(...bytes.subarray(i, i + step));
  return btoa(binary);
}

/** Why these files cannot be a TF.js model upload, or null when they can. */
export function checkModelFiles(files: readonly { name: string; size: number }[]): string | null {
  if (files.length === 0) return 'Choose model.json and its weight files (.bin).';
  if (!files.some((file) => file.name.endsWith('.json') && file.name !== 'atelier-model.json')) return 'Include model.json: it describes the model; the .bin files hold its weights.';
  if (!files.some((file) => file.name.endsWith('.bin'))) return 'Include the weight files (.bin) named in model.json.';
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (total > MAX_UPLOAD_BYTES) return `These files add up to ${(total / 1024 / 1024).toFixed(0)} MB; the browser can send at most ${MAX_UPLOAD_BYTES / 1024 / 1024} MB. Import the folder with the command atelier import PATH instead.`;
  return null;
}

/** Files chosen in an <input type=file> as the payload of `models.importFiles`. */
export async function readModelFiles(files: readonly File[]): Promise<{ name: string; base64: string }[]> {
  return Promise.all(files.map(async (file) => ({ name: file.name, base64: toBase64(new Uint8Array(await file.arrayBuffer())) })));
}
