/**
 * A .zip of an export folder, for handing it to a browser as one download (fflate does the
 * format; entries are deflated at level 9, or stored when that is smaller).
 */
import { zipSync, type Zippable } from 'fflate';

export interface ZipEntry {
  /** Path inside the archive, with forward slashes. */
  name: string;
  data: Uint8Array;
}

/** The bytes of a .zip file holding `entries`. */
export function createZip(entries: readonly ZipEntry[], modified = new Date()): Uint8Array {
  const files: Zippable = {};
  for (const entry of entries) files[entry.name] = [entry.data, { level: 9, mtime: modified }];
  return zipSync(files);
}
