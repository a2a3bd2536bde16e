/** Shared by this folder's tests only: temp folders, fake dataset folders and folder snapshots. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatasetFile } from './files';
import { SYSTEM_DATASET_DIR } from './files';

/** The real dataset, when Debian's package is installed (CI installs it). */
export const REAL_DIR = SYSTEM_DATASET_DIR;
export const HAVE_REAL_DATA = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
].every((name) => existsSync(join(REAL_DIR, name)));
export const NO_REAL_DATA_REASON = `${REAL_DIR} is absent (apt install dataset-fashion-mnist); skipping tests that need the real files`;

export async function makeTempDir(prefix = 'atelier-dataset-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A `.gz` that passes the cheap folder check (magic + ISIZE trailer) without holding the data:
 * proves that looking for sources never decompresses.
 */
export async function writeFakeGz(dir: string, file: DatasetFile, isize = file.size): Promise<void> {
  const bytes = new Uint8Array(32);
  bytes[0] = 0x1f;
  bytes[1] = 0x8b;
  new DataView(bytes.buffer).setUint32(28, isize >>> 0, true);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, file.gzName), bytes);
}

/** A decompressed-looking file of the right size: sparse, so 47 MB costs nothing. */
export async function writeFakeRaw(dir: string, file: DatasetFile, size = file.size): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, file.name);
  await writeFile(path, new Uint8Array(0));
  await truncate(path, size);
}

/** Name → size and SHA-256 of every entry (recursively), to check a folder is unchanged. */
export async function snapshotDir(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = async (current: string, prefix: string): Promise<void> => {
    for (const entry of (await readdir(current)).sort()) {
      const path = join(current, entry);
      const info = await stat(path);
      if (info.isDirectory()) {
        out[`${prefix}${entry}/`] = 'dir';
        await walk(path, `${prefix}${entry}/`);
      } else {
        out[`${prefix}${entry}`] = `${info.size}:${createHash('sha256').update(await readFile(path)).digest('hex')}`;
      }
    }
  };
  await walk(dir, '');
  return out;
}

/** A test name that carries the skip reason when the real files are absent, so the report says why. */
export function needsRealData(name: string): string {
  return HAVE_REAL_DATA ? name : `${name} [skipped: ${NO_REAL_DATA_REASON}]`;
}
