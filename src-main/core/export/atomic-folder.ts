/**
 * Write a whole folder or nothing: build it in a hidden sibling, check it, then swap it into
 * place with renames. A failure at any point removes the partial sibling and leaves whatever was
 * at the target before untouched; an existing target is replaced only when asked, and only when
 * every entry in it is one the export itself wrote (never a folder holding anything else).
 */
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AtelierError } from '../errors';

/** The file-system calls this module makes; injectable so tests can provoke EACCES or ENOSPC even as root. */
export type FolderFs = Pick<typeof nodeFs, 'lstat' | 'mkdir' | 'readdir' | 'rename' | 'rm'>;

export interface AtomicFolderOptions {
  /** Replace an existing target (an earlier export or an empty folder). */
  force: boolean;
  /**
   * The entries of the existing folder `dir` that the export did not write; an empty answer means
   * the folder holds nothing but an earlier export and may be replaced.
   */
  foreignEntries: (dir: string, entries: string[]) => Promise<string[]>;
  /** Fill the temporary folder and check it; throw to abandon. */
  build: (tempDir: string) => Promise<void>;
  /** Tests: replaces node:fs/promises for the calls above. */
  fs?: FolderFs;
}

const PARTIAL_MARK = '.atelier-partial-';
const OLD_MARK = '.atelier-old-';
/** How many names of files in the way a refusal lists before it only counts the rest. */
const NAMES_SHOWN = 3;

/** "a, b, c and 4 more" for a refusal message. */
function someNames(names: string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).join(', ');
  return names.length > NAMES_SHOWN ? `${shown} and ${names.length - NAMES_SHOWN} more` : shown;
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A file-system failure while exporting, as a message that names the folder and says what to do.
 * The errno decides the advice; anything unrecognised keeps the system's own words.
 */
export function describeWriteFailure(error: unknown, target: string): AtelierError | null {
  if (error instanceof AtelierError) return null;
  const code = errnoOf(error);
  // Only system errors (errno names); Node's own ERR_* codes are bugs, not a disk's state.
  if (code === undefined || !/^E[A-Z]+$/.test(code)) return null;
  const parent = dirname(target);
  const nothingLeft = 'Nothing was saved and nothing was left behind.';
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new AtelierError('disk-full', `Cannot export to ${target}: the disk holding ${parent} is full. ${nothingLeft} Free some space there, or choose a folder on another disk, and export again.`, { cause: error });
    case 'EACCES':
    case 'EPERM':
      return new AtelierError('export-failed', `Cannot export to ${target}: you may not write into ${parent} (permission denied). ${nothingLeft} Choose a folder you can write to, or change the permissions of ${parent}.`, { cause: error });
    case 'EROFS':
      return new AtelierError('export-failed', `Cannot export to ${target}: ${parent} is on a read-only disk. ${nothingLeft} Choose a folder on a writable disk.`, { cause: error });
    case 'ENOENT':
    case 'ENOTDIR':
      return new AtelierError('not-found', `Cannot export to ${target}: the folder ${parent} does not exist (or was removed while exporting). ${nothingLeft} Create ${parent} first, or choose a folder that exists.`, { cause: error });
    case 'EEXIST':
    case 'ENOTEMPTY':
      return new AtelierError('target-exists', `Cannot export to ${target}: something else created it while the export was being written. ${nothingLeft} Look at what is there, then choose another folder or export again.`, { cause: error });
    default:
      return new AtelierError('export-failed', `Cannot export to ${target}: ${(error as Error).message}. ${nothingLeft} Choose another folder, or fix the problem and export again.`, { cause: error });
  }
}

async function isDirectory(fs: FolderFs, path: string): Promise<boolean> {
  try {
    return (await fs.lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Refuse a target that exists unless `force` allows replacing it and it is safe to. True when it exists. */
async function checkTarget(fs: FolderFs, target: string, options: AtomicFolderOptions): Promise<boolean> {
  let isFolder: boolean;
  try {
    isFolder = (await fs.lstat(target)).isDirectory();
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return false;
    throw error;
  }
  if (!isFolder) throw new AtelierError('target-exists', `${target} exists and is a file, not a folder. Choose another name; Atelier does not overwrite files.`);
  if (!options.force) throw new AtelierError('target-exists', `${target} already exists. Confirm to replace it (--force on the command line), or choose another folder.`);
  const entries = await fs.readdir(target);
  const foreign = entries.length > 0 ? await options.foreignEntries(target, entries) : [];
  if (foreign.length > 0) {
    const count = foreign.length === 1 ? '1 entry' : `${foreign.length} entries`;
    throw new AtelierError(
      'target-exists',
      `${target} holds ${count} that Atelier's export did not write (${someNames(foreign)}), so it is not replaced: Atelier replaces only a folder that holds nothing but its own earlier export. Nothing was changed. Move those files elsewhere, or choose another folder.`,
    );
  }
  return true;
}

/** Leftovers of an export that was killed mid-way (the process died before it could clean up). */
async function removeStaleSiblings(fs: FolderFs, parent: string, name: string): Promise<void> {
  for (const entry of await fs.readdir(parent)) {
    if (entry.startsWith(`.${name}${PARTIAL_MARK}`) || entry.startsWith(`.${name}${OLD_MARK}`)) await fs.rm(join(parent, entry), { recursive: true, force: true });
  }
}

/**
 * Build a folder at `target` atomically. Its parent must exist: a mistyped path or an unmounted
 * drive should be refused, not silently created somewhere else. Resolves once the complete,
 * checked folder is in place; rejects with nothing changed on disk.
 */
export async function writeFolderAtomically(target: string, options: AtomicFolderOptions): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const path = resolve(target);
  const parent = dirname(path);
  const name = basename(path);
  try {
    await checkTarget(fs, path, options);
    if (!(await isDirectory(fs, parent))) {
      throw new AtelierError('not-found', `Cannot export to ${path}: the folder ${parent} does not exist. Nothing was saved. Create ${parent} first, or choose a folder that exists.`);
    }
    await removeStaleSiblings(fs, parent, name);
    await swapIn(fs, path, parent, name, options);
  } catch (error) {
    throw describeWriteFailure(error, path) ?? error;
  }
}

async function swapIn(fs: FolderFs, path: string, parent: string, name: string, options: AtomicFolderOptions): Promise<void> {
  const temp = join(parent, `.${name}${PARTIAL_MARK}${randomBytes(4).toString('hex')}`);
  let placed = false;
  try {
    await fs.mkdir(temp);
    await options.build(temp);
    // Checked again: the target may have appeared, or been filled, while the export was being built.
    const replacing = await checkTarget(fs, path, options);
    if (replacing) {
      const old = join(parent, `.${name}${OLD_MARK}${randomBytes(4).toString('hex')}`);
      await fs.rename(path, old);
      try {
        await fs.rename(temp, path);
      } catch (error) {
        await fs.rename(old, path);
        throw error;
      }
      placed = true;
      await fs.rm(old, { recursive: true, force: true });
    } else {
      await fs.rename(temp, path);
      placed = true;
    }
  } catch (error) {
    if (!placed) await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}
