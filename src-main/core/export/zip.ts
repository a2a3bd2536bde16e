/**
 * A .zip of an export folder, for handing it to a browser as one download (fflate writes the
 * format). Each entry is deflated at level 9, or stored when deflating would not make it smaller
 * (weights are nearly incompressible).
 */
import { deflateSync, zipSync, type Zippable } from 'fflate';

export interface ZipEntry {
  /** Path inside the archive, with forward slashes. */
  name: string;
  data: Uint8Array;
}

/** The bytes of a .zip file holding `entries`. */
export function createZip(entries: readonly ZipEntry[], modified = new Date()): Uint8Array {
  const files: Zippable = {};
  for (const entry of entries) {
    const level = deflateSync(entry.data, { level: 9 }).byteLength < entry.data.byteLength ? 9 : 0;
    // os 3 (Unix): Info-ZIP then reads the names as UTF-8 rather than as a DOS code page.
    files[entry.name] = [entry.data, { level, mtime: modified, os: 3 }];
  }
  return zipSync(files);
}
