/**
 * Write a whole folder or nothing: build it in a hidden sibling, check it, then swap it into
 * place with renames. A failure at any point removes the partial sibling and leaves whatever was
 * at the target before untouched; an existing target is replaced only when asked, and only when
 * it looks like an earlier export (never a folder of other files).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AtelierError } from '../errors';

export interface AtomicFolderOptions {
  /** Replace an existing target (an earlier export or an empty folder). */
  force: boolean;
  /** True when an existing folder may be replaced (it holds an earlier export). */
  isReplaceable: (entries: string[]) => boolean;
  /** Fill the temporary folder and check it; throw to abandon. */
  build: (tempDir: string) => Promise<void>;
}

const PARTIAL_MARK = '.atelier-partial-';
const OLD_MARK = '.atelier-old-';

async function entriesOf(path: string): Promise<string[] | null> {
  try {
    return await readdir(path);
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Refuse a target that exists unless `force` allows replacing it and it is safe to. */
async function checkTarget(target: string, options: AtomicFolderOptions): Promise<boolean> {
  if (!(await exists(target))) return false;
  const entries = await entriesOf(target);
  if (entries === null) throw new AtelierError('target-exists', `${target} exists and is a file, not a folder. Choose another name; Atelier does not overwrite files.`);
  if (!options.force) throw new AtelierError('target-exists', `${target} already exists. Confirm to replace it (--force on the command line), or choose another folder.`);
  if (entries.length > 0 && !options.isReplaceable(entries)) {
    throw new AtelierError('target-exists', `${target} holds other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}), not an earlier export; Atelier replaces only its own exports. Choose a new folder name.`);
  }
  return true;
}

/** Leftovers of an export that was killed mid-way (the process died before it could clean up). */
async function removeStaleSiblings(parent: string, name: string): Promise<void> {
  for (const entry of (await entriesOf(parent)) ?? []) {
    if (entry.startsWith(`.${name}${PARTIAL_MARK}`) || entry.startsWith(`.${name}${OLD_MARK}`)) await rm(join(parent, entry), { recursive: true, force: true });
  }
}

/**
 * Build a folder at `target` atomically. Resolves once the complete, checked folder is in place;
 * rejects with nothing changed on disk (besides an empty parent it had created, removed again).
 */
export async function writeFolderAtomically(target: string, options: AtomicFolderOptions): Promise<void> {
  const path = resolve(target);
  const parent = dirname(path);
  const name = basename(path);
  await checkTarget(path, options);
  const createdParent = await mkdir(parent, { recursive: true });
  const temp = join(parent, `.${name}${PARTIAL_MARK}${randomBytes(4).toString('hex')}`);
  let placed = false;
  try {
    await removeStaleSiblings(parent, name);
    await mkdir(temp);
    await options.build(temp);
    // Checked again: the target may have appeared while the export was being built.
    const replacing = await checkTarget(path, options);
    if (replacing) {
      const old = join(parent, `.${name}${OLD_MARK}${randomBytes(4).toString('hex')}`);
      await rename(path, old);
      try {
        await rename(temp, path);
      } catch (error) {
        await rename(old, path);
        throw error;
      }
      placed = true;
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(temp, path);
      placed = true;
    }
  } catch (error) {
    if (!placed) {
      await rm(temp, { recursive: true, force: true });
      if (createdParent) await rm(createdParent, { recursive: true, force: true });
    }
    throw error;
  }
}
