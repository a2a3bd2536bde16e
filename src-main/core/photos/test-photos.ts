/**
 * Test support: where tests find real photos. Six small ones are in the repository
 * (`test-photos/`, see its README) so that every spec runs on a fresh clone; the whole
 * development set (`shared/real-photos`, 290 photos) is outside it and only some machines have it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { realPhotosDir } from '../../locations';

/** The photos in the repository, in class folders laid out like the development set. */
export const TEST_PHOTOS_DIR = fileURLToPath(new URL('./test-photos/', import.meta.url));

/** The `index`-th JPEG (by name) of a class folder of the repository's test photos. */
export function testPhoto(folder: string, index = 0): string {
  const dir = join(TEST_PHOTOS_DIR, folder);
  const name = readdirSync(dir).filter((file) => file.endsWith('.jpg')).sort()[index];
  if (name === undefined) throw new Error(`${dir} has no photo number ${index}: add one (see test-photos/README.md) or pick another`);
  return join(dir, name);
}

/** The whole development set, or why a test that needs it is skipped. */
export type RealPhotoSet = { readonly dir: string; readonly skipReason: null } | { readonly dir: null; readonly skipReason: string };

/**
 * `ATELIER_REAL_PHOTOS=none` hides the development set even where it exists, so that one machine
 * can prove that a clone without it passes; any other value is the set's folder.
 */
export function realPhotoSet(env: NodeJS.ProcessEnv = process.env): RealPhotoSet {
  if (env.ATELIER_REAL_PHOTOS === 'none') return { dir: null, skipReason: 'ATELIER_REAL_PHOTOS=none hides the development photos' };
  const dir = env.ATELIER_REAL_PHOTOS || realPhotosDir();
  if (!existsSync(dir)) {
    return { dir: null, skipReason: `no development photos at ${dir} (shared/real-photos is not part of the repository; set ATELIER_REAL_PHOTOS to a copy to run this)` };
  }
  return { dir, skipReason: null };
}
