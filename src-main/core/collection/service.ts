/**
 * My photos as the shells see it: the collection's answers in the contract's shapes (labels as
 * indices, paths only where they can be opened), small thumbnails for the lists, and a change
 * report after every write so that every window reloads.
 */
import sharp from 'sharp';
import type { MyPhoto, MyPhotoProblem, MyPhotosAdded, MyPhotosChanged, MyPhotosListing, MyPhotoThumbnail } from '../../contract';
import { toErrorInfo } from '../errors';
import { CLASS_NAMES } from '../fashion-mnist';
import { decodePhoto } from '../photos/decode';
import type { PhotoEntry } from './entry';
import { PhotoCollection, type AddResult, type CollectionProblem, type PhotoInput } from './store';

/** Thumbnails made without a size: small enough that a page of 60 stays light, big enough to tell a garment. */
export const THUMBNAIL_SIZE = 96;

/** Thumbnails kept in memory, by content (a photo's bytes never change, so neither does its thumbnail). */
const THUMBNAIL_CACHE_SIZE = 600;

export interface MyPhotosServiceOptions {
  readonly collection: PhotoCollection;
  /** Called after every add, relabel and remove that changed something. */
  readonly onChanged?: (change: MyPhotosChanged) => void;
}

/** Whether the caller can open paths on the core's machine (the desktop app and the CLI can; a browser cannot). */
export interface Viewer {
  readonly showPaths: boolean;
}

export interface AddOptions {
  readonly note?: 'classify' | 'added';
  readonly relabelExisting?: boolean;
}

export class MyPhotosService {
  readonly collection: PhotoCollection;
  readonly #onChanged: (change: MyPhotosChanged) => void;
  readonly #thumbnails = new Map<string, string>();

  constructor(options: MyPhotosServiceOptions) {
    this.collection = options.collection;
    this.#onChanged = options.onChanged ?? (() => undefined);
  }

  async list(viewer: Viewer): Promise<MyPhotosListing> {
    const listing = await this.collection.list();
    return {
      photos: listing.entries.map((entry) => toMyPhoto(entry, viewer)),
      counts: listing.counts,
      classNames: [...CLASS_NAMES],
      problems: listing.problems.map(toProblem),
    };
  }

  /** Keep `inputs` with `label`; see the contract's `myPhotos.add`. */
  async add(inputs: readonly PhotoInput[], label: number, options: AddOptions, viewer: Viewer): Promise<MyPhotosAdded> {
    const result: AddResult = await this.collection.add(inputs, label, { note: options.note ?? 'added' });
    const existing: PhotoEntry[] = [];
    const problems: MyPhotoProblem[] = result.problems.map(toProblem);
    const relabelled: string[] = [];
    for (const entry of result.existing) {
      if (!options.relabelExisting || entry.label === label) {
        existing.push(entry);
        continue;
      }
      try {
        existing.push(await this.collection.relabel(entry.id, label));
        relabelled.push(entry.id);
      } catch (error) {
        problems.push({ name: entry.source.name, id: entry.id, error: toErrorInfo(error) });
      }
    }
    if (result.added.length > 0) this.#onChanged({ change: 'added', ids: result.added.map((entry) => entry.id) });
    if (relabelled.length > 0) this.#onChanged({ change: 'relabelled', ids: relabelled });
    return { added: result.added.map((entry) => toMyPhoto(entry, viewer)), existing: existing.map((entry) => toMyPhoto(entry, viewer)), problems };
  }

  async relabel(id: string, label: number, viewer: Viewer): Promise<MyPhoto> {
    const entry = await this.collection.relabel(id, label);
    this.#onChanged({ change: 'relabelled', ids: [entry.id] });
    return toMyPhoto(entry, viewer);
  }

  async remove(ids: readonly string[]): Promise<{ removed: string[]; problems: MyPhotoProblem[] }> {
    const result = await this.collection.remove(ids);
    if (result.removed.length > 0) this.#onChanged({ change: 'removed', ids: result.removed });
    return { removed: result.removed, problems: result.problems.map(toProblem) };
  }

  /**
   * A JPEG of each photo at most `size` pixels on its longest side, upright, transparency on
   * white. Decoded with the same reader as Classify (so BMP works and the size limits hold).
   */
  async thumbnails(ids: readonly string[], size = THUMBNAIL_SIZE): Promise<{ thumbnails: MyPhotoThumbnail[]; problems: MyPhotoProblem[] }> {
    const resolved = await this.collection.resolveIds(ids);
    const thumbnails: MyPhotoThumbnail[] = [];
    const problems: MyPhotoProblem[] = resolved.problems.map(toProblem);
    for (const entry of resolved.entries) {
      const key = `${entry.sha256}@${size}`;
      try {
        let dataUrl = this.#thumbnails.get(key);
        if (dataUrl === undefined) {
          const { bytes } = await this.collection.read(entry.id);
          dataUrl = await thumbnailOf(bytes, entry.source.name, size);
          this.#remember(key, dataUrl);
        }
        thumbnails.push({ id: entry.id, sha256: entry.sha256, dataUrl });
      } catch (error) {
        problems.push({ name: entry.source.name, id: entry.id, error: toErrorInfo(error) });
      }
    }
    return { thumbnails, problems };
  }

  #remember(key: string, dataUrl: string): void {
    this.#thumbnails.set(key, dataUrl);
    if (this.#thumbnails.size > THUMBNAIL_CACHE_SIZE) {
      const oldest = this.#thumbnails.keys().next().value;
      if (oldest !== undefined) this.#thumbnails.delete(oldest);
    }
  }
}

async function thumbnailOf(bytes: Uint8Array, name: string, size: number): Promise<string> {
  const decoded = await decodePhoto(bytes, { name, workingSize: size });
  const { width, height, data } = decoded.image;
  const jpeg = await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 4 } })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: 80 })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}

function toMyPhoto(entry: PhotoEntry, viewer: Viewer): MyPhoto {
  return {
    id: entry.id,
    sha256: entry.sha256,
    label: entry.label,
    className: entry.className,
    name: entry.source.name,
    origin: entry.source.kind,
    note: entry.source.note ?? null,
    sourcePath: viewer.showPaths && entry.source.kind === 'file' ? entry.source.path : null,
    file: viewer.showPaths ? entry.file : null,
    addedAt: entry.addedAt,
    bytes: entry.bytes,
    format: entry.format,
    width: entry.width,
    height: entry.height,
  };
}

function toProblem(problem: CollectionProblem): MyPhotoProblem {
  return { name: problem.name, id: problem.id ?? null, error: problem.error };
}
