/**
 * Turning what a person drops, pastes or picks into photos for `photos.classify*`: walk dropped
 * folders (browser), read files as base64, and cut a large selection into calls the browser
 * shell's WebSocket accepts. No Svelte here, so it is tested as plain code.
 */
import { PHOTO_UPLOAD_MAX_BYTES, type PhotoResult } from '../../../src-main/contract';

/** Endings taken as photos inside a dropped folder (the core's list); files dropped directly are always tried. */
export const PHOTO_FILE_ENDINGS = ['.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff', '.bmp', '.heic', '.heif'];

/** What the Open… file input accepts. */
export const PHOTO_ACCEPT = ['image/*', ...PHOTO_FILE_ENDINGS].join(',');

export const isPhotoName = (name: string): boolean => PHOTO_FILE_ENDINGS.some((ending) => name.toLowerCase().endsWith(ending));

/** A file to send, with the name shown on its card (a dropped folder's files keep their folder: "shirts/a.jpg"). */
export interface NamedFile {
  name: string;
  file: File;
}

/** What a drop or a pick gave: files to classify and problems found before sending anything. */
export interface CollectedFiles {
  files: NamedFile[];
  problems: (PhotoResult & { ok: false })[];
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** The subset of the File and Directory Entries API a dropped folder is walked with. */
interface EntryLike {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  file?(success: (file: File) => void, failure: (error: unknown) => void): void;
  createReader?(): { readEntries(success: (entries: EntryLike[]) => void, failure: (error: unknown) => void): void };
}

function fileOf(entry: EntryLike): Promise<File> {
  return new Promise((resolve, reject) => entry.file!(resolve, reject));
}

/** Every entry of a folder: `readEntries` hands them out in pieces (Chromium: 100 at a time). */
async function entriesOf(entry: EntryLike): Promise<EntryLike[]> {
  const reader = entry.createReader!();
  const all: EntryLike[] = [];
  for (;;) {
    const piece = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (piece.length === 0) return all;
    all.push(...piece);
  }
}

/**
 * A dropped folder's photos: the photos in it and in its direct subfolders (as the core does for
 * paths: a folder of class folders works; a whole disk is not crawled). Hidden entries are skipped.
 */
async function photosInFolder(folder: EntryLike, prefix: string, depth: number): Promise<NamedFile[]> {
  const entries = (await entriesOf(folder)).filter((entry) => !entry.name.startsWith('.'));
  entries.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true, sensitivity: 'base' }));
  const found: NamedFile[] = [];
  for (const entry of entries) {
    if (entry.isFile && isPhotoName(entry.name)) found.push({ name: `${prefix}${entry.name}`, file: await fileOf(entry) });
  }
  if (depth > 0) {
    for (const entry of entries) {
      if (entry.isDirectory) found.push(...(await photosInFolder(entry, `${prefix}${entry.name}/`, depth - 1).catch(() => [])));
    }
  }
  return found;
}

function folderEmpty(name: string): PhotoResult & { ok: false } {
  return {
    ok: false,
    name,
    path: null,
    error: { kind: 'folder-empty', message: `${name}: this folder has no photos (looked for ${PHOTO_FILE_ENDINGS.join(' ')} in it and its direct subfolders) — choose a folder with photos in it.` },
  };
}

/**
 * Files and folders from a drop. Entries must be taken from the items before the first `await`:
 * the DataTransfer is emptied once the drop event returns.
 */
export async function collectDropped(transfer: DataTransfer): Promise<CollectedFiles> {
  const items = [...transfer.items].filter((item) => item.kind === 'file');
  const taken = items.map((item) => ({ entry: (item.webkitGetAsEntry?.() ?? null) as EntryLike | null, file: item.getAsFile() }));
  // A DataTransfer built by a script (and some platforms' pastes) has files but no items.
  if (taken.length === 0) for (const file of transfer.files) taken.push({ entry: null, file });
  const files: NamedFile[] = [];
  const problems: CollectedFiles['problems'] = [];
  for (const { entry, file } of taken) {
    if (entry?.isDirectory) {
      const found = await photosInFolder(entry, `${entry.name}/`, 1).catch(() => []);
      if (found.length === 0) problems.push(folderEmpty(entry.name));
      files.push(...found);
    } else if (file) {
      files.push({ name: file.name, file });
    }
  }
  return { files, problems };
}

/** Name pasted images like a screenshot tool would, since the clipboard's are all "image.png". */
export function pastedName(file: File, index: number, now = new Date()): string {
  const ending = file.type === 'image/jpeg' ? 'jpg' : (file.type.split('/')[1] ?? 'png');
  const stamp = `${now.getHours().toString().padStart(2, '0')}.${now.getMinutes().toString().padStart(2, '0')}.${now.getSeconds().toString().padStart(2, '0')}`;
  return `Pasted image ${stamp}${index > 0 ? ` (${index + 1})` : ''}.${ending}`;
}

/**
 * Cut files into groups of at most `maxBytes` each, in order. A file too big to send at all
 * becomes a problem card instead (the desktop app and the CLI read larger files from disk).
 */
export function planUploads(files: readonly NamedFile[], maxBytes = PHOTO_UPLOAD_MAX_BYTES): { groups: NamedFile[][]; problems: CollectedFiles['problems'] } {
  const groups: NamedFile[][] = [];
  const problems: CollectedFiles['problems'] = [];
  let current: NamedFile[] = [];
  let size = 0;
  for (const named of files) {
    if (named.file.size > maxBytes) {
      problems.push({
        ok: false,
        name: named.name,
        path: null,
        error: { kind: 'photo-too-large', message: `${named.name}: the file is ${mb(named.file.size)}; the browser can send photos up to ${mb(maxBytes)} — resize or recompress it, or use the desktop app or the atelier classify command.` },
      });
      continue;
    }
    if (current.length > 0 && (size + named.file.size > maxBytes || current.length >= 100)) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(named);
    size += named.file.size;
  }
  if (current.length > 0) groups.push(current);
  return { groups, problems };
}

/** A file's bytes as base64 (chunked: `String.fromCharCode(...bytes)` overflows the stack on big files). */
export async function fileToBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let start = 0; start < bytes.length; start += 0x8000) binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  return btoa(binary);
}
