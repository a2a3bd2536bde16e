/**
 * The Classify view's state, owned by App so that a drop anywhere on the window (whatever view
 * is showing) lands here. Selections (a drop, a paste, an Open…) run one after another, the newest
 * on top; a large selection is sent in several calls, and its cards keep the selection's order.
 */
import { getContext, setContext } from 'svelte';
import type { AtelierBridge, PhotoBatch, PhotoProgress, PhotoResult } from '../../../src-main/contract';
import { CLASS_NAMES } from '../../../src-main/core/fashion-mnist';
import { photoResultsCsv } from '../../../src-main/core/photos/csv';
import { ApiError, unwrap } from './api';
import { collectDropped, fileToBase64, pastedName, planUploads, type NamedFile } from './photo-inputs';

/** One card: a result plus a key that stays unique across batches. */
export type PhotoCardItem = PhotoResult & { key: string };

let nextKey = 1;
const keyed = (results: readonly PhotoResult[]): PhotoCardItem[] => results.map((result) => ({ ...result, key: `photo-${nextKey++}` }));

/** Where one selection's next cards go: after the last card it added (none yet: on top). */
interface Selection {
  lastKey: string | null;
}

export class ClassifyState {
  /** Newest selection first; within a selection, in its order. */
  cards = $state.raw<PhotoCardItem[]>([]);
  busy = $state(false);
  progress = $state.raw<PhotoProgress | null>(null);
  /** A failure of the whole batch (no model, engine down), as the core put it. */
  error = $state.raw<{ kind: string; message: string } | null>(null);
  /** The model that classified the last batch. */
  lastRun = $state.raw<PhotoBatch['run'] | null>(null);
  /** Every model that answered in this session, by run id, as each batch described it. */
  answeringRuns = $state.raw<Record<string, PhotoBatch['run']>>({});
  /** Fashion-MNIST's class names, as the core sent them with the last batch. */
  classNames = $state.raw<string[]>([]);

  readonly #bridge: AtelierBridge;
  readonly #shell: 'electron' | 'browser';
  #queue: Promise<void> = Promise.resolve();
  #requestId: string | null = null;
  /** The browser's files behind this session's cards, by card key, so a card can send its photo to My photos. */
  readonly #files = new Map<string, File>();

  constructor(bridge: AtelierBridge, shell: 'electron' | 'browser') {
    this.#bridge = bridge;
    this.#shell = shell;
    bridge.on('photos.progress', (progress) => {
      if (progress.requestId !== null && progress.requestId === this.#requestId) this.progress = progress;
    });
  }

  readonly ok = $derived(this.cards.filter((card) => card.ok).length);
  /** The models behind the cards shown, newest card's first (two when the active run changed between selections). */
  readonly answeredBy = $derived.by(() => {
    const ids = [...new Set(this.cards.flatMap((card) => (card.ok ? [card.runId] : [])))];
    return ids.map((id) => this.answeringRuns[id]).filter((run): run is PhotoBatch['run'] => run !== undefined);
  });
  readonly failed = $derived(this.cards.filter((card) => !card.ok).length);

  /**
   * The cards as CSV, in the order shown, errors included. A card's file is its path when it came
   * from disk (the desktop app), else the name as dropped (the browser never learns paths).
   */
  toCsv(): string {
    return photoResultsCsv(this.cards, this.classNames.length > 0 ? this.classNames : CLASS_NAMES);
  }

  clear(): void {
    this.cards = [];
    this.error = null;
    this.#files.clear();
  }

  /** The file a card's photo came from, in the browser (the desktop app has `result.path` instead). */
  fileFor(key: string): File | undefined {
    return this.#files.get(key);
  }

  /** A drop on the window: paths in the desktop app (folders included), bytes in the browser. */
  drop(transfer: DataTransfer): void {
    const pathFor = window.atelierFiles?.pathFor;
    if (this.#shell === 'electron' && pathFor) {
      const paths = [...transfer.files].map((file) => pathFor(file));
      // Files dragged from another app's web page have no path: send those as bytes.
      if (paths.length > 0 && paths.every((path) => path !== '')) {
        this.classifyPaths(paths);
        return;
      }
    }
    // Entries must be read now: the DataTransfer empties once the event handler returns.
    const collecting = collectDropped(transfer);
    this.#enqueue(async () => {
      const { files, problems } = await collecting;
      await this.#sendFiles(files, problems);
    });
  }

  /** Images from the clipboard. */
  paste(files: readonly File[]): void {
    const named = files.map((file, index) => ({ name: file.name && file.name !== 'image.png' ? file.name : pastedName(file, index), file }));
    this.#enqueue(() => this.#sendFiles(named, []));
  }

  /** Files from the browser's file input. */
  open(files: readonly File[]): void {
    const named = files.map((file) => ({ name: file.webkitRelativePath || file.name, file }));
    this.#enqueue(() => this.#sendFiles(named, []));
  }

  classifyPaths(paths: string[]): void {
    this.#enqueue(async () => {
      const selection: Selection = { lastKey: null };
      for (let start = 0; start < paths.length; start += 500) {
        const results = await this.#call((requestId) => this.#bridge.photos.classifyPaths({ paths: paths.slice(start, start + 500), requestId }));
        if (results) this.#add(selection, results);
      }
    });
  }

  /** The desktop app's open dialog. */
  async pick(): Promise<void> {
    try {
      const { paths } = await unwrap(this.#bridge.photos.pickFiles({}));
      if (paths.length > 0) this.classifyPaths(paths);
    } catch (caught) {
      this.error = describe(caught);
    }
  }

  async #sendFiles(files: readonly NamedFile[], problems: (PhotoResult & { ok: false })[]): Promise<void> {
    const selection: Selection = { lastKey: null };
    const plan = planUploads(files);
    // Problems known before anything is sent (an empty folder, a file too big to send) lead the
    // selection's cards: they show at once instead of after every upload.
    this.#add(selection, [...problems, ...plan.problems]);
    for (const group of plan.groups) {
      const read: ({ name: string; base64: string } | (PhotoResult & { ok: false }))[] = [];
      for (const { name, file } of group) {
        try {
          read.push({ name, base64: await fileToBase64(file) });
        } catch (caught) {
          read.push({
            ok: false,
            name,
            path: null,
            error: { kind: 'photo-unreadable', message: `${name}: the browser could not read this file (${caught instanceof Error ? caught.message : String(caught)}) — check it still exists and is readable, then drop it again.` },
          });
        }
      }
      const payload = read.filter((item): item is { name: string; base64: string } => !('ok' in item));
      const answered = payload.length > 0 ? await this.#call((requestId) => this.#bridge.photos.classifyFiles({ files: payload, requestId })) : [];
      // One result per sent file, in order: a file the browser could not read keeps its place.
      let next = 0;
      const inOrder = read.flatMap((item) => ('ok' in item ? [item] : answered ? [answered[next++]!] : []));
      this.#add(selection, [...inOrder, ...(answered?.slice(next) ?? [])], group.map(({ file }) => file));
    }
  }

  /** A camera frame frozen by Capture: a card of its own on top, its JPEG kept so it can go to My photos. */
  addCaptured(result: PhotoResult, file: File, run: PhotoBatch['run'], classNames: string[]): void {
    this.lastRun = run;
    this.answeringRuns = { ...this.answeringRuns, [run.id]: run };
    this.classNames = classNames;
    this.#add({ lastKey: null }, [result], [file]);
  }

  /** Put a selection's next cards after its earlier ones (on top if the list was cleared meanwhile). */
  #add(selection: Selection, results: readonly PhotoResult[], files: readonly File[] = []): void {
    if (results.length === 0) return;
    const cards = keyed(results);
    cards.forEach((card, index) => {
      const file = files[index];
      if (card.ok && file) this.#files.set(card.key, file);
    });
    const after = selection.lastKey === null ? -1 : this.cards.findIndex((card) => card.key === selection.lastKey);
    this.cards = [...this.cards.slice(0, after + 1), ...cards, ...this.cards.slice(after + 1)];
    selection.lastKey = cards.at(-1)!.key;
  }

  /** One call to the core; its results, or null when the whole call failed (then `error` says why). */
  async #call(send: (requestId: string) => ReturnType<AtelierBridge['photos']['classifyPaths']>): Promise<PhotoResult[] | null> {
    const requestId = `classify-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.#requestId = requestId;
    this.progress = null;
    try {
      const batch = await unwrap(send(requestId));
      this.lastRun = batch.run;
      this.answeringRuns = { ...this.answeringRuns, [batch.run.id]: batch.run };
      this.classNames = batch.classNames;
      this.error = null;
      return batch.results;
    } catch (caught) {
      this.error = describe(caught);
      return null;
    } finally {
      this.#requestId = null;
      this.progress = null;
    }
  }

  #enqueue(work: () => Promise<void>): void {
    this.busy = true;
    const run = this.#queue.then(work).catch((caught: unknown) => {
      this.error = describe(caught);
    });
    this.#queue = run;
    void run.then(() => {
      if (this.#queue === run) this.busy = false;
    });
  }
}

function describe(caught: unknown): { kind: string; message: string } {
  if (caught instanceof ApiError) return { kind: caught.kind, message: caught.message };
  return { kind: 'internal', message: caught instanceof Error ? caught.message : String(caught) };
}

const KEY = Symbol('atelier-classify');

export function provideClassify(state: ClassifyState): void {
  setContext(KEY, state);
}

/** The Classify state App provides. */
export function useClassify(): ClassifyState {
  const state = getContext<ClassifyState | undefined>(KEY);
  if (!state) throw new Error('useClassify() outside <App>');
  return state;
}
