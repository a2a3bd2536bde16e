/**
 * What the Dataset view is looking at: the summary, the split and class filter, and the images
 * of that list, fetched lazily in pages as the grid scrolls. Only pages near what is on screen
 * are asked for (older wishes are dropped when the person scrolls on) and a bounded number is
 * kept, so scrolling through 60,000 images costs a few hundred kilobytes at a time.
 */
import type { AtelierBridge, DatasetSummary, SplitName } from '../../../src-main/contract';
import { ApiError, errorMessage, unwrap } from './api';
import { pagesCovering } from './dataset-grid';
import { PIXELS_PER_IMAGE } from '../../../src-main/core/fashion-mnist';
import { decodePixels } from './dataset-images';

/** Images per `dataset.page` request: a few screens' worth, about 200 KB of pixels. */
export const PAGE_SIZE = 256;
/** Pages kept in memory (about 10 MB); the least recently shown go first. */
const MAX_PAGES = 48;
/** Requests at once: enough to fill a screen quickly, few enough that a fast scroll does not pile up. */
const MAX_IN_FLIGHT = 3;

interface LoadedPage {
  indices: number[];
  labels: number[];
  pixels: Uint8Array;
  usedAt: number;
}

/** One image of the list: its place in the list, its index in the split, its label and 784 pixels. */
export interface GridItem {
  position: number;
  index: number;
  label: number;
  pixels: Uint8Array;
}

export class DatasetBrowser {
  summary = $state.raw<DatasetSummary | null>(null);
  /** Why the summary could not be loaded (kind tells missing from damaged). */
  error = $state.raw<ApiError | null>(null);
  loading = $state(false);
  split = $state<SplitName>('train');
  /** A class label 0–9, or null for every class. */
  classFilter = $state<number | null>(null);
  /** Why a page could not be fetched, shown over the grid. */
  pageError = $state<string | null>(null);

  /** Images in the current list. */
  readonly total = $derived.by(() => {
    const split = this.summary?.[this.split];
    if (!split) return 0;
    return this.classFilter === null ? split.count : (split.perClass[this.classFilter] ?? 0);
  });

  readonly classNames = $derived(this.summary?.classNames ?? []);

  /** Bumped when a page arrives, so cells re-read `item()`. */
  #version = $state(0);
  #pages = new Map<number, LoadedPage>();
  #inFlight = new Set<number>();
  #wanted: number[] = [];
  /** Changes with the list; answers for an older list are dropped. */
  #generation = 0;
  #clock = 0;
  readonly #bridge: AtelierBridge;

  constructor(bridge: AtelierBridge) {
    this.#bridge = bridge;
  }

  /** Load (or reload) the summary: the core reads and verifies the files on first use. */
  async load(): Promise<void> {
    this.loading = true;
    try {
      this.summary = await unwrap(this.#bridge.dataset.summary({}));
      this.error = null;
    } catch (caught) {
      this.summary = null;
      this.error = caught instanceof ApiError ? caught : new ApiError('internal', errorMessage(caught));
    } finally {
      this.#reset();
      this.loading = false;
    }
  }

  setSplit(split: SplitName): void {
    if (split === this.split) return;
    this.split = split;
    this.#reset();
  }

  setClassFilter(classFilter: number | null): void {
    if (classFilter === this.classFilter) return;
    this.classFilter = classFilter;
    this.#reset();
  }

  /** The image at a position if its page is here; reading it makes the caller update when pages arrive. */
  item(position: number): GridItem | null {
    void this.#version;
    const page = this.#pages.get(Math.floor(position / PAGE_SIZE));
    if (!page) return null;
    return this.#itemOf(page, position);
  }

  /** The image at a position, fetching its page when needed (the inspector can move past what the grid shows). */
  async itemAt(position: number): Promise<GridItem | null> {
    if (position < 0 || position >= this.total) return null;
    const pageIndex = Math.floor(position / PAGE_SIZE);
    const page = this.#pages.get(pageIndex) ?? (await this.#fetch(pageIndex));
    return page ? this.#itemOf(page, position) : null;
  }

  /** Ask for the pages that hold positions `first` to `last - 1`, and only those. */
  want(first: number, last: number): void {
    const pages = pagesCovering(first, last, PAGE_SIZE);
    for (const pageIndex of pages) {
      const page = this.#pages.get(pageIndex);
      if (page) page.usedAt = ++this.#clock;
    }
    this.#wanted = pages.filter((pageIndex) => !this.#pages.has(pageIndex) && !this.#inFlight.has(pageIndex));
    this.#pump();
  }

  #itemOf(page: LoadedPage, position: number): GridItem | null {
    const offset = position % PAGE_SIZE;
    const index = page.indices[offset];
    const label = page.labels[offset];
    if (index === undefined || label === undefined) return null;
    return { position, index, label, pixels: page.pixels.subarray(offset * PIXELS_PER_IMAGE, (offset + 1) * PIXELS_PER_IMAGE) };
  }

  #reset(): void {
    this.#generation += 1;
    this.#pages.clear();
    this.#inFlight.clear();
    this.#wanted = [];
    this.pageError = null;
    this.#version += 1;
  }

  #pump(): void {
    while (this.#inFlight.size < MAX_IN_FLIGHT && this.#wanted.length > 0) {
      const pageIndex = this.#wanted.shift() as number;
      if (!this.#pages.has(pageIndex) && !this.#inFlight.has(pageIndex)) void this.#fetch(pageIndex);
    }
  }

  async #fetch(pageIndex: number): Promise<LoadedPage | null> {
    const generation = this.#generation;
    this.#inFlight.add(pageIndex);
    try {
      const answer = await unwrap(
        this.#bridge.dataset.page({ split: this.split, classFilter: this.classFilter, offset: pageIndex * PAGE_SIZE, count: PAGE_SIZE }),
      );
      if (generation !== this.#generation) return null;
      const pixels = decodePixels(answer.pixels);
      if (pixels.length !== answer.indices.length * PIXELS_PER_IMAGE) throw new Error(`The core sent ${pixels.length} pixel bytes for ${answer.indices.length} images. Reload the view.`);
      const page: LoadedPage = { indices: answer.indices, labels: answer.labels, pixels, usedAt: ++this.#clock };
      this.#pages.set(pageIndex, page);
      this.#evict();
      this.pageError = null;
      this.#version += 1;
      return page;
    } catch (caught) {
      if (generation === this.#generation) this.pageError = errorMessage(caught);
      return null;
    } finally {
      if (generation === this.#generation) {
        this.#inFlight.delete(pageIndex);
        this.#pump();
      }
    }
  }

  #evict(): void {
    if (this.#pages.size <= MAX_PAGES) return;
    const oldest = [...this.#pages.entries()].sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [pageIndex] of oldest.slice(0, this.#pages.size - MAX_PAGES)) this.#pages.delete(pageIndex);
  }
}
