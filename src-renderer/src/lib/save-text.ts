/**
 * Saving what the page made (Classify's CSV, an export's .zip) as a file. The browser downloads it; the desktop app
 * asks where to save it (Electron's default for a download), so one path serves both shells.
 */

/** Save `text` as UTF-8 under `fileName` through the browser's download machinery. */
export function downloadText(text: string, fileName: string, mimeType: string): void {
  downloadBlob(new Blob([text], { type: mimeType }), fileName);
}

/** Save `blob` under `fileName` through the browser's download machinery (a link the page clicks). */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken its copy once click() returns; a moment later is safe everywhere.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name that sorts by when it was saved: `atelier-classify-2025-03-14-0926.csv`. */
export function timestampedName(stem: string, extension: string, when: Date = new Date()): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${stem}-${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}-${pad(when.getHours())}${pad(when.getMinutes())}.${extension}`;
}
