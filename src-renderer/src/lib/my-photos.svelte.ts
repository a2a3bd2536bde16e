/**
 * My photos in the renderer: the collection as listed by the core, kept fresh by `myPhotos.changed`
 * (any window or the CLI's server process), the thumbnails fetched so far, and the answers marked
 * Right or Wrong on Classify cards. Owned by App so the My photos view, the Classify cards and the
 * Train view share one list.
 */
import { getContext, setContext } from 'svelte';
import { MY_PHOTOS_THUMBNAIL_PAGE, type AtelierBridge, type MyPhoto, type MyPhotoProblem, type MyPhotosAdded, type PhotoResult } from '../../../src-main/contract';
import { errorInfo, errorMessage, unwrap } from './api';
import { fileToBase64, planUploads, type NamedFile } from './photo-inputs';

/** What one add did, for the report under the drop zone. */
export interface AddReport {
  label: number;
  added: number;
  existing: MyPhoto[];
  problems: MyPhotoProblem[];
}

/** A Classify card's answer being kept: in flight, kept (as the photo with this hash), or failed. */
export type CardMark = { state: 'saving' } | { state: 'kept'; sha256: string } | { state: 'failed'; message: string };

/** "3 T-shirt/top · 1 Sneaker": the classes that have photos, in class order ('' for none). */
export function describeCounts(counts: readonly number[], classNames: readonly string[]): string {
  return counts
    .map((count, label) => ({ count, name: classNames[label] ?? String(label) }))
    .filter(({ count }) => count > 0)
    .map(({ count, name }) => `${count} ${name}`)
    .join(' · ');
}

export class MyPhotosState {
  /** Newest first. */
  photos = $state.raw<MyPhoto[]>([]);
  /** Photos per class, indexed like `classNames`. */
  counts = $state.raw<number[]>([]);
  classNames = $state.raw<string[]>([]);
  /** Damaged entries, as the core reported them. */
  problems = $state.raw<MyPhotoProblem[]>([]);
  /** True once the list has been fetched at least once. */
  loaded = $state(false);
  /** Why the list could not be fetched (the last attempt). */
  error = $state<string | null>(null);
  /** Thumbnail data URLs by content hash (a photo's picture never changes). */
  thumbnails = $state.raw<Record<string, string>>({});
  /** Adding photos from the view. */
  adding = $state(false);
  lastAdd = $state.raw<AddReport | null>(null);
  /** Classify cards marked Right or Wrong, by card key. */
  marks = $state.raw<Record<string, CardMark>>({});

  readonly #bridge: AtelierBridge;
  #loading: Promise<void> | null = null;
  #reloadAgain = false;
  #fetchingThumbnails = false;

  constructor(bridge: AtelierBridge) {
    this.#bridge = bridge;
    bridge.on('myPhotos.changed', () => {
      if (this.loaded) void this.reload();
    });
  }

  /** Photos per class for any view ("N photos per class"), e.g. the Train view's My photos option. */
  readonly perClass = $derived(this.counts.map((count, label) => ({ label, className: this.classNames[label] ?? String(label), count })));
  readonly total = $derived(this.photos.length);
  readonly countsText = $derived(describeCounts(this.counts, this.classNames));
  /** The classes that have photos, in class order, each with its photos (newest first). */
  readonly groups = $derived.by(() => {
    const byLabel = new Map<number, MyPhoto[]>();
    for (const photo of this.photos) byLabel.set(photo.label, [...(byLabel.get(photo.label) ?? []), photo]);
    return [...byLabel.entries()].sort(([a], [b]) => a - b).map(([label, photos]) => ({ label, className: this.classNames[label] ?? String(label), photos }));
  });
  readonly bySha = $derived(new Map(this.photos.map((photo) => [photo.sha256, photo])));

  /** Fetch the list unless it was fetched already (views call this when they open). */
  ensureLoaded(): Promise<void> {
    return this.loaded ? Promise.resolve() : this.reload();
  }

  /** Fetch the list; calls during a fetch are folded into one more fetch after it. */
  reload(): Promise<void> {
    if (this.#loading) {
      this.#reloadAgain = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      do {
        this.#reloadAgain = false;
        try {
          const listing = await unwrap(this.#bridge.myPhotos.list({}));
          this.photos = listing.photos;
          this.counts = listing.counts;
          this.classNames = listing.classNames;
          this.problems = listing.problems;
          this.error = null;
          this.loaded = true;
        } catch (caught) {
          this.error = errorMessage(caught);
        }
      } while (this.#reloadAgain);
      this.#loading = null;
    })();
    return this.#loading;
  }

  /** Fetch the thumbnails not fetched yet, a page at a time (a failed one is left as a placeholder). */
  loadThumbnails(): Promise<void> {
    return this.loadThumbnailsOf(this.photos);
  }

  /** The same for some photos only (those a run trained on, say); photos no longer kept are skipped. */
  async loadThumbnailsOf(photos: readonly Pick<MyPhoto, 'id' | 'sha256'>[]): Promise<void> {
    if (this.#fetchingThumbnails) return;
    this.#fetchingThumbnails = true;
    try {
      for (;;) {
        const missing = photos.filter((photo) => this.bySha.has(photo.sha256) && !(photo.sha256 in this.thumbnails)).slice(0, MY_PHOTOS_THUMBNAIL_PAGE);
        if (missing.length === 0) return;
        const { thumbnails } = await unwrap(this.#bridge.myPhotos.thumbnails({ ids: missing.map((photo) => photo.id) }));
        const next = { ...this.thumbnails };
        // '' marks a photo that has no thumbnail, so it is not asked for again and again.
        for (const photo of missing) next[photo.sha256] = '';
        for (const thumbnail of thumbnails) next[thumbnail.sha256] = thumbnail.dataUrl;
        this.thumbnails = next;
      }
    } catch {
      // The tiles show their names without pictures; the next list change tries again.
    } finally {
      this.#fetchingThumbnails = false;
    }
  }

  async relabel(id: string, label: number): Promise<MyPhoto> {
    const photo = await unwrap(this.#bridge.myPhotos.relabel({ id, label }));
    await this.reload();
    return photo;
  }

  async remove(ids: string[]): Promise<{ removed: string[]; problems: MyPhotoProblem[] }> {
    const result = await unwrap(this.#bridge.myPhotos.remove({ ids }));
    await this.reload();
    return result;
  }

  /** Photos on disk (the desktop app: a drop or the open dialog), all with `label`. */
  addPaths(paths: string[], label: number): Promise<void> {
    return this.#adding(label, async (report) => {
      for (let start = 0; start < paths.length; start += 500) {
        report(await unwrap(this.#bridge.myPhotos.add({ paths: paths.slice(start, start + 500), label })));
      }
    });
  }

  /** Photos as bytes (the browser), all with `label`, in calls the WebSocket takes. */
  addFiles(files: readonly NamedFile[], label: number, known: MyPhotoProblem[] = []): Promise<void> {
    return this.#adding(label, async (report) => {
      const plan = planUploads(files);
      report({ added: [], existing: [], problems: [...known, ...plan.problems.map((problem) => ({ name: problem.name, id: null, error: problem.error }))] });
      for (const group of plan.groups) {
        const payload = await Promise.all(group.map(async ({ name, file }) => ({ name, base64: await fileToBase64(file) })));
        report(await unwrap(this.#bridge.myPhotos.addFiles({ files: payload, label })));
      }
    });
  }

  /**
   * Keep a Classify card's photo with `label` (its predicted class for Right, the class picked for
   * Wrong). The desktop app sends the photo's path; a browser sends the bytes it kept for the card.
   * A photo kept already takes this label: the answer is the person's latest word on it.
   */
  async markAnswer(card: PhotoResult & { key: string }, label: number, file: File | undefined): Promise<void> {
    this.#mark(card.key, { state: 'saving' });
    try {
      let result: MyPhotosAdded;
      if (card.path !== null) {
        result = await unwrap(this.#bridge.myPhotos.add({ paths: [card.path], label, note: 'classify', relabelExisting: true }));
      } else if (file) {
        result = await unwrap(this.#bridge.myPhotos.addFiles({ files: [{ name: card.name, base64: await fileToBase64(file) }], label, note: 'classify', relabelExisting: true }));
      } else {
        throw new Error(`${card.name}: this window no longer has the photo's bytes (it was classified before a reload) — drop the photo again, then mark it.`);
      }
      const [kept] = [...result.added, ...result.existing];
      if (!kept) throw new Error(result.problems[0]?.error.message ?? `${card.name} could not be added to My photos.`);
      await this.reload();
      this.#mark(card.key, { state: 'kept', sha256: kept.sha256 });
    } catch (caught) {
      this.#mark(card.key, { state: 'failed', message: errorMessage(caught) });
    }
  }

  /** The photo a card's answer was kept as, while it is still in My photos (removed: null, and the card asks again). */
  keptFor(key: string): MyPhoto | null {
    const mark = this.marks[key];
    return mark?.state === 'kept' ? (this.bySha.get(mark.sha256) ?? null) : null;
  }

  forgetMark(key: string): void {
    const { [key]: _dropped, ...rest } = this.marks;
    this.marks = rest;
  }

  #mark(key: string, mark: CardMark): void {
    this.marks = { ...this.marks, [key]: mark };
  }

  async #adding(label: number, work: (report: (part: MyPhotosAdded) => void) => Promise<void>): Promise<void> {
    this.adding = true;
    const total: AddReport = { label, added: 0, existing: [], problems: [] };
    this.lastAdd = { ...total };
    const report = (part: MyPhotosAdded): void => {
      total.added += part.added.length;
      total.existing.push(...part.existing);
      total.problems.push(...part.problems);
      this.lastAdd = { ...total, existing: [...total.existing], problems: [...total.problems] };
    };
    try {
      await work(report);
    } catch (caught) {
      report({ added: [], existing: [], problems: [{ name: 'My photos', id: null, error: errorInfo(caught) }] });
    } finally {
      await this.reload();
      this.adding = false;
    }
  }
}

const KEY = Symbol('atelier-my-photos');

export function provideMyPhotos(state: MyPhotosState): void {
  setContext(KEY, state);
}

/** The My photos state App provides. */
export function useMyPhotos(): MyPhotosState {
  const state = getContext<MyPhotosState | undefined>(KEY);
  if (!state) throw new Error('useMyPhotos() outside <App>');
  return state;
}
