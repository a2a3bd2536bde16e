/**
 * "My photos": a person's own clothing photos, each kept with the label they gave it, for training.
 *   photos/files/<sha256>.<ext>     the original bytes, exactly as added
 *   photos/entries/<sha256>.json    label, source, time, size, format (see entry.ts)
 * One file pair per photo and no shared index: adds from several processes (the app and the CLI)
 * touch different files, so none can lose another's photo. The bytes are written first and the
 * entry last: the entry is the commit point, and bytes without an entry (a crash in between) are
 * invisible, overwritten by the next add of that photo and swept once they are an hour old.
 * The content hash as the name makes adding a photo twice find the first copy.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { AtelierError, toErrorInfo, type ErrorInfo } from '../errors';
import { CLASS_NAMES } from '../fashion-mnist';
import { writeFileAtomic, writeJsonAtomic } from '../fs-atomic';
import { PHOTO_LIMITS, collectPhotoPaths, decodePhoto } from '../photos/decode';
import { checkLabel } from './class-name';
import { EntryRecordSchema, collectionDir, extensionFor, shortIds, type EntryRecord, type PhotoEntry, type PhotoSource } from './entry';

/** A photo to add: a path (a file, or a folder whose photos are added), or bytes sent by a browser. */
export type PhotoInput = string | { readonly name: string; readonly bytes: Uint8Array };

/** Something that could not be done for one photo, id or entry; the rest of the call went on. */
export interface CollectionProblem {
  /** What a person recognises: the path or upload name, the id given, or the damaged entry file. */
  readonly name: string;
  /** The photo's id when the problem is a kept photo (a damaged entry): the id that removes it. */
  readonly id?: string;
  readonly error: ErrorInfo;
}

/** What `add` did with each photo. */
export interface AddResult {
  /** New entries, in the order given. */
  readonly added: PhotoEntry[];
  /** Photos that were already kept, with their current label (which `add` does not change). */
  readonly existing: PhotoEntry[];
  /** Photos that could not be read or decoded, or paths that gave no photos. */
  readonly problems: CollectionProblem[];
}

/** The whole collection. */
export interface CollectionListing {
  /** Newest first. */
  readonly entries: PhotoEntry[];
  /** Photos per label, indexed like CLASS_NAMES. */
  readonly counts: number[];
  /** Damaged entries, each left out of `entries`. */
  readonly problems: CollectionProblem[];
}

export interface RemoveResult {
  /** Ids of the photos removed. */
  readonly removed: string[];
  /** Ids that matched no photo, or more than one. */
  readonly problems: CollectionProblem[];
}

export interface ResolvedPhotos {
  /** One per id that matched a readable photo, in the order given, without repeats. */
  readonly entries: PhotoEntry[];
  readonly problems: CollectionProblem[];
}

export interface PhotoCollectionOptions {
  /** The clock for `addedAt` (tests pass one to make "newest first" exact). */
  readonly now?: () => Date;
}

/** Bytes without an entry, and temporary files, this old are leftovers of a crash; younger ones may be an add in progress. */
const LEFTOVER_AGE_MS = 60 * 60 * 1000;

/** Entry files read at once by `list`: enough to overlap the disk, few enough for any open-file limit. */
const READ_PARALLELISM = 32;

/** An id given by a person: at least 6 hex digits, so a stray word never matches by chance. */
const ID_INPUT_PATTERN = /^[0-9a-f]{6,64}$/;

const ENTRY_FILE = /^([0-9a-f]{64})\.json$/;
const BYTES_FILE = /^([0-9a-f]{64})\.[a-z]+$/;
const TEMP_FILE = /\.tmp-/;

/** What is on disk right now: entry hashes and the bytes file name of each hash. */
interface Scan {
  readonly hashes: string[];
  readonly files: Map<string, string>;
  readonly ids: Map<string, string>;
}

type Loaded = { readonly record: EntryRecord; readonly entry: PhotoEntry } | { readonly problem: CollectionProblem };

/** A photo read and checked, ready to keep. */
interface CheckedPhoto {
  readonly sha256: string;
  readonly bytes: Uint8Array;
  readonly record: EntryRecord;
}

/**
 * The labelled photo collection in `<home>/photos`. Instances hold no state besides the folder,
 * so any number of them (in any number of processes) can share one folder.
 */
export class PhotoCollection {
  /** `<home>/photos`. */
  readonly root: string;
  readonly #filesDir: string;
  readonly #entriesDir: string;
  readonly #now: () => Date;

  constructor(home: string, options: PhotoCollectionOptions = {}) {
    this.root = collectionDir(home);
    this.#filesDir = join(this.root, 'files');
    this.#entriesDir = join(this.root, 'entries');
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Keep photos with `label` (0–9). Each photo is decoded first; one that cannot be is reported
   * with why and skipped, the others are still added. A photo already kept is reported in
   * `existing` with its current label, unchanged. `note` says how the photos came in
   * ('classify' for corrected answers, 'added' for photos added directly).
   * Throws only for a label out of range.
   */
  async add(inputs: readonly PhotoInput[], label: number, options: { readonly note?: string } = {}): Promise<AddResult> {
    checkLabel(label);
    const note = options.note === undefined ? {} : { note: options.note.slice(0, 200) };
    const kept: { sha256: string; added: boolean }[] = [];
    const problems: CollectionProblem[] = [];
    const seenPaths = new Set<string>();

    const keepOne = async (name: string, source: PhotoSource, load: () => Promise<Uint8Array>): Promise<void> => {
      try {
        const bytes = await load();
        const sha256 = sha256Of(bytes);
        kept.push({ sha256, added: await this.#keep(sha256, bytes, () => this.#check(name, source, label, bytes, sha256)) });
      } catch (error) {
        problems.push({ name, error: toErrorInfo(error) });
      }
    };

    for (const input of inputs) {
      if (typeof input === 'string') {
        const collected = await collectPhotoPaths([input]);
        problems.push(...collected.problems.map((problem) => ({ name: problem.path, error: problem.error })));
        for (const path of collected.files) {
          const absolute = resolve(path);
          if (seenPaths.has(absolute)) continue;
          seenPaths.add(absolute);
          await keepOne(path, { kind: 'file', name: basename(absolute), path: absolute, ...note }, () => readPhotoFile(path));
        }
      } else {
        const name = uploadName(input.name);
        await keepOne(name, { kind: 'upload', name, ...note }, async () => input.bytes);
      }
    }

    const scan = await this.#scan();
    const added: PhotoEntry[] = [];
    const existing: PhotoEntry[] = [];
    for (const { sha256, added: isNew } of kept) {
      const loaded = await this.#load(sha256, scan);
      if ('problem' in loaded) problems.push(loaded.problem);
      else (isNew ? added : existing).push(loaded.entry);
    }
    await this.#sweepLeftovers(scan);
    return { added, existing, problems };
  }

  /** Every readable photo, newest first, with counts per label; a damaged entry is reported and left out, never fatal. */
  async list(): Promise<CollectionListing> {
    const scan = await this.#scan();
    const loaded = await mapLimited(scan.hashes, READ_PARALLELISM, (sha256) => this.#load(sha256, scan));
    const entries: PhotoEntry[] = [];
    const problems: CollectionProblem[] = [];
    for (const item of loaded) {
      if ('problem' in item) problems.push(item.problem);
      else entries.push(item.entry);
    }
    entries.sort((a, b) => Date.parse(b.addedAt) - Date.parse(a.addedAt) || a.sha256.localeCompare(b.sha256));
    const counts = CLASS_NAMES.map(() => 0);
    for (const entry of entries) counts[entry.label] = (counts[entry.label] ?? 0) + 1;
    return { entries, counts, problems };
  }

  /**
   * The photos `ids` name: an id as listed, the full SHA-256, or any prefix of at least 6 hex
   * digits that matches one photo. Unknown, ambiguous and damaged ones are reported.
   */
  async resolveIds(ids: readonly string[]): Promise<ResolvedPhotos> {
    const scan = await this.#scan();
    const { matches, problems } = this.#matchAll(ids, scan);
    const entries: PhotoEntry[] = [];
    for (const { sha256 } of matches) {
      const loaded = await this.#load(sha256, scan);
      if ('problem' in loaded) problems.push(loaded.problem);
      else entries.push(loaded.entry);
    }
    return { entries, problems };
  }

  /** Give photo `id` a new label. Throws `not-found` for an unknown id, `photo-corrupt` for a damaged entry. */
  async relabel(id: string, label: number): Promise<PhotoEntry> {
    checkLabel(label);
    const scan = await this.#scan();
    const sha256 = this.#matchOrThrow(id, scan);
    const loaded = await this.#load(sha256, scan);
    if ('problem' in loaded) throw new AtelierError(loaded.problem.error.kind, loaded.problem.error.message);
    if (loaded.record.label === label) return loaded.entry;
    await writeJsonAtomic(this.#entryPath(sha256), { ...loaded.record, label });
    // A remove that ran meanwhile took the bytes: the rewrite would bring back an entry without its photo.
    if (!(await exists(loaded.entry.file))) {
      await rm(this.#entryPath(sha256), { force: true });
      throw new AtelierError('not-found', `Photo ${loaded.entry.id} was removed from ${this.root} while it was being relabelled; list the photos again.`);
    }
    return { ...loaded.entry, label, className: CLASS_NAMES[label] ?? String(label) };
  }

  /**
   * Remove photos: each entry first (the photo leaves the collection at once), then its bytes.
   * Damaged entries can be removed too, by the id their problem names. Unknown ids are reported.
   */
  async remove(ids: readonly string[]): Promise<RemoveResult> {
    const scan = await this.#scan();
    const { matches, problems } = this.#matchAll(ids, scan);
    const removed: string[] = [];
    for (const { id, sha256 } of matches) {
      try {
        await rm(this.#entryPath(sha256));
      } catch (error) {
        const gone = (error as NodeJS.ErrnoException).code === 'ENOENT';
        problems.push({
          name: id,
          error: gone ? { kind: 'not-found', message: `Photo ${id} is no longer in ${this.root} — another window or command removed it; list the photos again.` } : toErrorInfo(error),
        });
        continue;
      }
      const file = scan.files.get(sha256);
      if (file !== undefined) await rm(join(this.#filesDir, file), { force: true });
      removed.push(scan.ids.get(sha256) ?? sha256);
    }
    return { removed, problems };
  }

  /**
   * Photo `id` with its original bytes, checked against its hash (for training and thumbnails).
   * Throws `not-found` for an unknown id and `photo-corrupt` for a damaged entry or changed bytes.
   */
  async read(id: string): Promise<{ entry: PhotoEntry; bytes: Uint8Array }> {
    const scan = await this.#scan();
    const sha256 = this.#matchOrThrow(id, scan);
    const loaded = await this.#load(sha256, scan);
    if ('problem' in loaded) throw new AtelierError(loaded.problem.error.kind, loaded.problem.error.message);
    let bytes: Buffer;
    try {
      bytes = await readFile(loaded.entry.file);
    } catch (error) {
      throw new AtelierError('photo-unreadable', `${loaded.entry.file}: the kept photo cannot be read (${(error as Error).message}) — check the data folder's permissions, or remove photo ${loaded.entry.id} and add it again.`, { cause: error });
    }
    if (sha256Of(bytes) !== sha256) {
      throw new AtelierError('photo-corrupt', `${loaded.entry.file}: the kept photo has changed since it was added (its SHA-256 no longer matches) — remove photo ${loaded.entry.id} and add the original again.`);
    }
    return { entry: loaded.entry, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  }

  #entryPath(sha256: string): string {
    return join(this.#entriesDir, `${sha256}.json`);
  }

  #bytesPath(record: EntryRecord): string {
    return join(this.#filesDir, `${record.sha256}.${extensionFor(record.format)}`);
  }

  /** Decode the photo (the check every kept photo passes) and describe it as an entry record. */
  async #check(name: string, source: PhotoSource, label: number, bytes: Uint8Array, sha256: string): Promise<CheckedPhoto> {
    const decoded = await decodePhoto(bytes, { name });
    const record: EntryRecord = {
      version: 1,
      sha256,
      label,
      source,
      addedAt: this.#now().toISOString(),
      bytes: bytes.byteLength,
      format: decoded.source.format,
      width: decoded.source.width,
      height: decoded.source.height,
    };
    return { sha256, bytes, record };
  }

  /**
   * Keep the photo with hash `sha256`; true when it is new, false when it was already kept.
   * `check` decodes it, only when it is not kept yet: a kept photo passed that check when added,
   * so adding a folder again costs a hash per photo, not a decode.
   */
  async #keep(sha256: string, bytes: Uint8Array, check: () => Promise<CheckedPhoto>): Promise<boolean> {
    const current = await this.#readRecord(sha256);
    if (current !== 'missing' && current !== 'damaged') {
      await this.#ensureBytes(current, bytes);
      return false;
    }
    const photo = await check();
    const entryPath = this.#entryPath(sha256);
    if (current === 'damaged') {
      // The person's label now beats an entry nobody can read: replace it.
      await writeFileAtomic(this.#bytesPath(photo.record), photo.bytes);
      await writeJsonAtomic(entryPath, photo.record);
      return true;
    }
    await writeFileAtomic(this.#bytesPath(photo.record), photo.bytes);
    if (!(await publishExclusive(entryPath, photo.record))) {
      // Another add of the same photo committed first: theirs stands, as if ours came second.
      const winner = await this.#readRecord(photo.sha256);
      if (winner !== 'missing' && winner !== 'damaged') {
        await this.#ensureBytes(winner, photo.bytes);
        return false;
      }
      await writeJsonAtomic(entryPath, photo.record);
    }
    await this.#ensureBytes(photo.record, photo.bytes);
    return true;
  }

  /**
   * Put the bytes back if they went missing: a remove or a sweep racing this add may delete
   * them after they were written, and an entry must never point at nothing.
   */
  async #ensureBytes(record: EntryRecord, bytes: Uint8Array): Promise<void> {
    const path = this.#bytesPath(record);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && info.size === bytes.byteLength) return;
    await writeFileAtomic(path, bytes);
  }

  /** The entry record on disk, 'missing' when there is none, 'damaged' when it cannot be read as one. */
  async #readRecord(sha256: string): Promise<EntryRecord | 'missing' | 'damaged'> {
    let text: string;
    try {
      text = await readFile(this.#entryPath(sha256), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw error;
    }
    const parsed = EntryRecordSchema.safeParse(parseJson(text));
    return parsed.success && parsed.data.sha256 === sha256 ? parsed.data : 'damaged';
  }

  async #scan(): Promise<Scan> {
    const entryNames = await listFolder(this.#entriesDir);
    const fileNames = await listFolder(this.#filesDir);
    const hashes = entryNames.flatMap((name) => ENTRY_FILE.exec(name)?.[1] ?? []);
    const files = new Map<string, string>();
    for (const name of fileNames) {
      const sha256 = BYTES_FILE.exec(name)?.[1];
      if (sha256 !== undefined) files.set(sha256, name);
    }
    // Ids come from file names, not contents, so a damaged entry still has one to remove it by.
    return { hashes, files, ids: shortIds(hashes) };
  }

  /** One entry as a PhotoEntry, or the problem that keeps it out of the list. */
  async #load(sha256: string, scan: Scan): Promise<Loaded> {
    const path = this.#entryPath(sha256);
    const id = scan.ids.get(sha256) ?? sha256.slice(0, 12);
    const damaged = (why: string): Loaded => ({
      problem: { name: path, id, error: { kind: 'photo-corrupt', message: `${path}: this photo entry is damaged (${why}) — add the photo again to replace it, or remove photo ${id}.` } },
    });
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { problem: { name: id, error: { kind: 'not-found', message: `Photo ${id} is no longer in ${this.root} — another window or command removed it; list the photos again.` } } };
      }
      return damaged(`it cannot be read: ${(error as Error).message}`);
    }
    const json = parseJson(text);
    if (json === undefined) return damaged('not valid JSON');
    const parsed = EntryRecordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? '';
      if (field === 'label') return damaged(`its label ${JSON.stringify((json as { label?: unknown }).label)} is not one of the ten classes 0–9`);
      return damaged(field === '' ? (issue?.message ?? 'unexpected content') : `${field}: ${issue?.message ?? 'invalid'}`);
    }
    const record = parsed.data;
    if (record.sha256 !== sha256) return damaged('it describes another photo than its file name says');
    const file = this.#bytesPath(record);
    if (scan.files.get(sha256) !== basename(file)) {
      return {
        problem: { name: path, id, error: { kind: 'photo-corrupt', message: `${path}: the photo file ${file} is missing — add the photo again to restore it, or remove photo ${id}.` } },
      };
    }
    return { record, entry: toEntry(record, id, file) };
  }

  /** Each distinct photo that `ids` name (the first id naming it kept), and a problem for each id that names none. */
  #matchAll(ids: readonly string[], scan: Scan): { matches: { id: string; sha256: string }[]; problems: CollectionProblem[] } {
    const matches: { id: string; sha256: string }[] = [];
    const problems: CollectionProblem[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      const match = this.#match(id, scan);
      if ('problem' in match) problems.push(match.problem);
      else if (!seen.has(match.sha256)) {
        seen.add(match.sha256);
        matches.push({ id, sha256: match.sha256 });
      }
    }
    return { matches, problems };
  }

  #match(id: string, scan: Scan): { sha256: string } | { problem: CollectionProblem } {
    const wanted = id.trim().toLowerCase();
    if (!ID_INPUT_PATTERN.test(wanted)) {
      return { problem: { name: id, error: { kind: 'invalid-payload', message: `"${id.slice(0, 80)}" is not a photo id — ids are the 12 hex digits shown in the list of photos.` } } };
    }
    const matches = scan.hashes.filter((sha256) => sha256.startsWith(wanted));
    if (matches.length === 1) return { sha256: matches[0]! };
    if (matches.length === 0) {
      return { problem: { name: id, error: { kind: 'not-found', message: `No photo with id ${wanted} in ${this.root} — it may have been removed; list the photos again.` } } };
    }
    return { problem: { name: id, error: { kind: 'invalid-payload', message: `${wanted} matches ${matches.length} photos — give the whole id shown in the list of photos.` } } };
  }

  #matchOrThrow(id: string, scan: Scan): string {
    const match = this.#match(id, scan);
    if ('problem' in match) throw new AtelierError(match.problem.error.kind, match.problem.error.message);
    return match.sha256;
  }

  /**
   * Delete what crashes left: bytes without an entry and temporary files, once an hour old (a
   * younger one may be an add in progress in another process). Best effort: housekeeping must
   * never fail the add that triggered it.
   */
  async #sweepLeftovers(scan: Scan): Promise<void> {
    const entries = new Set(scan.hashes);
    const cutoff = Date.now() - LEFTOVER_AGE_MS;
    const sweep = async (folder: string, isLeftover: (name: string) => boolean): Promise<void> => {
      for (const name of await listFolder(folder)) {
        if (!isLeftover(name)) continue;
        const path = join(folder, name);
        const info = await stat(path).catch(() => undefined);
        if (info !== undefined && info.mtimeMs < cutoff) await rm(path, { force: true }).catch(() => undefined);
      }
    };
    try {
      await sweep(this.#entriesDir, (name) => TEMP_FILE.test(name));
      await sweep(this.#filesDir, (name) => {
        if (TEMP_FILE.test(name)) return true;
        const sha256 = BYTES_FILE.exec(name)?.[1];
        return sha256 !== undefined && !entries.has(sha256);
      });
    } catch {
      // Left for the next add.
    }
  }
}

function toEntry(record: EntryRecord, id: string, file: string): PhotoEntry {
  return {
    id,
    sha256: record.sha256,
    label: record.label,
    className: CLASS_NAMES[record.label] ?? String(record.label),
    source: record.source,
    addedAt: record.addedAt,
    bytes: record.bytes,
    format: record.format,
    width: record.width,
    height: record.height,
    file,
  };
}

/**
 * Write `value` to `path` only if nothing is there yet, atomically: a complete temporary file is
 * hard-linked into place, which fails if the name exists. So two processes adding the same photo
 * at once make one entry, and a reader never sees half a file. False when `path` already existed.
 */
async function publishExclusive(path: string, value: unknown): Promise<boolean> {
  const staged = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeJsonAtomic(staged, value);
  try {
    await link(staged, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    // No hard links here (FAT, some network drives): check, then rename. Still atomic and still
    // one entry; two adds of one photo in the same instant may both say "added", the later label kept.
    if (await exists(path)) return false;
    await rename(staged, path);
    return true;
  } finally {
    await rm(staged, { force: true });
  }
}

/**
 * A photo file's bytes, refusing non-files and files over the size limit before reading them, so
 * a huge file never fills memory. Decoding (with its own checks and messages) comes after.
 */
async function readPhotoFile(path: string): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new AtelierError('photo-unreadable', `${path}: this is not a regular file — choose a photo file.`);
    if (info.size > PHOTO_LIMITS.maxBytes) {
      const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
      throw new AtelierError('photo-too-large', `${path}: the file is ${mb(info.size)}, more than the ${mb(PHOTO_LIMITS.maxBytes)} limit — resize or recompress it and try again.`);
    }
    const bytes = await readFile(path);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    if (error instanceof AtelierError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file — it may have been moved or deleted'
      : code === 'EACCES' || code === 'EPERM' ? "permission denied — check the file's permissions or copy it somewhere readable"
      : `cannot be read (${(error as Error).message}) — check the file and try again`;
    throw new AtelierError('photo-unreadable', `${path}: ${why}.`, { cause: error });
  }
}

/** A browser's file name without any folder part (some browsers send "C:\fakepath\…"). */
function uploadName(name: string): string {
  const last = name.split(/[\\/]/).pop()?.trim() ?? '';
  return (last === '' ? 'photo' : last).slice(0, 1000);
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** A folder's names; none when it does not exist yet (an empty collection). */
async function listFolder(folder: string): Promise<string[]> {
  try {
    return await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
