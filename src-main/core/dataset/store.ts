/**
 * The dataset in memory: read, decompressed, verified and parsed once (about 55 MB), then
 * paged through by the Dataset view and handed whole to the training engine. The composition
 * root owns one `DatasetStore`; there is no module-level instance.
 */
import { AtelierError } from '../errors';
import { DATASET_FILES, formatCount, type DatasetFile, type SplitName } from './files';
import { CLASS_COUNT, CLASS_NAMES, IMAGE_SIDE, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { parseIdx } from './idx';
import { damagedFileRemedy, type DatasetSource, type LocalSourceKind } from './sources';
import { readVerifiedFile } from './verify';

/** One split in memory. Buffers are shared, never copy them per request. */
export interface Split {
  name: SplitName;
  count: number;
  /** `count × 784` pixels, 0–255, row-major 28×28 per image, one contiguous buffer. */
  images: Uint8Array;
  /** `count` labels, 0–9. */
  labels: Uint8Array;
  /** For each class, the ascending indices of its images. */
  byClass: readonly Uint32Array[];
}

/** The whole dataset, verified. */
export interface FashionMnist {
  source: { kind: LocalSourceKind; dir: string };
  train: Split;
  test: Split;
}

/** Reported after each of the four files is read, verified and parsed. */
export interface LoadProgress {
  file: string;
  filesDone: number;
  fileCount: number;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
}

/**
 * Read the four files of a source, decompress (capped at each file's size), verify and parse
 * them. Throws `dataset-corrupt` / `idx-malformed` / `dataset-missing` naming the bad file.
 * Takes about a second for the 70,000 images; the four files are decompressed in parallel.
 */
export async function loadDataset(source: DatasetSource, options: LoadOptions = {}): Promise<FashionMnist> {
  let filesDone = 0;
  // Keyed by name, not object identity: a source that crossed a thread boundary holds copies of the table's entries.
  const parsed = new Map<string, Uint8Array>();
  await Promise.all(
    source.files.map(async (located) => {
      const bytes = await readVerifiedFile(located, damagedFileRemedy(source.kind));
      parsed.set(located.file.name, bytes);
      filesDone += 1;
      options.onProgress?.({ file: located.file.name, filesDone, fileCount: source.files.length });
    }),
  );
  const bytesOf = (split: SplitName, kind: 'images' | 'labels'): { file: DatasetFile; bytes: Uint8Array } => {
    const file = DATASET_FILES.find((f) => f.split === split && f.kind === kind) as DatasetFile;
    const bytes = parsed.get(file.name);
    if (!bytes) throw new AtelierError('dataset-missing', `${source.dir} has no ${file.name}; choose another folder or download the dataset`);
    return { file, bytes };
  };
  return {
    source: { kind: source.kind, dir: source.dir },
    train: buildSplit('train', bytesOf('train', 'images'), bytesOf('train', 'labels')),
    test: buildSplit('test', bytesOf('test', 'images'), bytesOf('test', 'labels')),
  };
}

function buildSplit(name: SplitName, images: { file: DatasetFile; bytes: Uint8Array }, labels: { file: DatasetFile; bytes: Uint8Array }): Split {
  const imageArray = parseIdx(images.bytes, { name: images.file.name });
  const labelArray = parseIdx(labels.bytes, { name: labels.file.name });
  const [count, rows, cols] = imageArray.shape;
  // The checksum already guarantees these; they stay because a wrong table entry would otherwise corrupt memory silently.
  if (imageArray.dtype !== 'uint8' || imageArray.shape.length !== 3 || rows !== IMAGE_SIDE || cols !== IMAGE_SIDE || count === undefined) {
    throw new AtelierError('dataset-corrupt', `${images.file.name}: expected uint8 images of 28×28, got ${imageArray.dtype} [${imageArray.shape.join(', ')}]`);
  }
  if (labelArray.dtype !== 'uint8' || labelArray.shape.length !== 1 || labelArray.shape[0] !== count) {
    throw new AtelierError('dataset-corrupt', `${labels.file.name}: expected ${formatCount(count)} uint8 labels, got ${labelArray.dtype} [${labelArray.shape.join(', ')}]`);
  }
  const labelData = labelArray.data as Uint8Array;
  const perClass = new Array<number>(CLASS_COUNT).fill(0);
  for (let i = 0; i < count; i++) {
    const label = labelData[i] as number;
    if (label >= CLASS_COUNT) throw new AtelierError('dataset-corrupt', `${labels.file.name}: label ${label} at index ${i} is not one of the 10 classes`);
    perClass[label] = (perClass[label] as number) + 1;
  }
  const byClass = perClass.map((n) => new Uint32Array(n));
  const fill = new Array<number>(CLASS_COUNT).fill(0);
  for (let i = 0; i < count; i++) {
    const label = labelData[i] as number;
    (byClass[label] as Uint32Array)[fill[label] as number] = i;
    fill[label] = (fill[label] as number) + 1;
  }
  return { name, count, images: imageArray.data as Uint8Array, labels: labelData, byClass };
}

/** Largest page the store hands out; the Dataset view shows far fewer at once. */
export const MAX_PAGE_COUNT = 500;

export interface PageRequest {
  split: SplitName;
  /** Only images of this class (0–9); null or absent for all. */
  classFilter?: number | null;
  /** Position within the (filtered) list. */
  offset: number;
  /** How many images; capped at `MAX_PAGE_COUNT`. */
  count: number;
}

export interface ImagePage {
  split: SplitName;
  /** Images matching the filter: the length of the list being paged. */
  total: number;
  offset: number;
  /** Dataset indices of the returned images, in order. */
  indices: number[];
  labels: number[];
  /**
   * `indices.length × 784` pixels. An unfiltered page is a view on the split's buffer (no copy);
   * a filtered one is one compact copy of only the requested images. Structured clone (IPC,
   * `postMessage`) copies a view's WHOLE underlying buffer, so a shell must `.slice()` it first.
   */
  pixels: Uint8Array;
}

export interface ImageRecord {
  split: SplitName;
  index: number;
  label: number;
  className: string;
  /** 784 pixels, a copy (safe to post). */
  pixels: Uint8Array;
}

export interface SplitSummary {
  count: number;
  /** Images per class, indexed by label. */
  perClass: number[];
}

export interface DatasetSummary {
  source: { kind: LocalSourceKind; dir: string };
  /** Always true: the store only holds data whose checksums matched. */
  verified: boolean;
  classNames: string[];
  imageSize: number;
  train: SplitSummary;
  test: SplitSummary;
}

export interface DatasetStoreOptions {
  /**
   * Where the data is now, asked on every (re)load so a newly chosen folder takes effect after
   * `invalidate()`. Usually `() => findDataset({ chosenDir })`. Null means nothing local: the
   * store throws `dataset-missing` (it never downloads by itself; downloading is the user's call).
   */
  locate: () => Promise<DatasetSource | null>;
  onLoadProgress?: (progress: LoadProgress) => void;
  /** Replaceable for tests. */
  load?: (source: DatasetSource, options: LoadOptions) => Promise<FashionMnist>;
}

/** Loads the dataset on first use and serves pages, images and whole splits from memory. */
export class DatasetStore {
  private current: Promise<FashionMnist> | null = null;
  private value: FashionMnist | null = null;

  constructor(private readonly options: DatasetStoreOptions) {}

  /** The dataset, loading it on first call; concurrent callers share one load; a failed load is retried next call. */
  get(): Promise<FashionMnist> {
    if (this.current) return this.current;
    const loading = this.loadFresh();
    this.current = loading;
    loading.then(
      (dataset) => {
        if (this.current === loading) this.value = dataset;
      },
      () => {
        if (this.current === loading) this.current = null;
      },
    );
    return loading;
  }

  /** The dataset if it is already in memory, without loading. */
  loaded(): FashionMnist | null {
    return this.value;
  }

  /** Forget the loaded dataset (after a new source is chosen); the next call loads again. A load in flight finishes for its own callers only. */
  invalidate(): void {
    this.current = null;
    this.value = null;
  }

  /** One split's buffers, for the training engine. */
  async getSplit(split: SplitName): Promise<Split> {
    return (await this.get())[checkSplit(split)];
  }

  async summary(): Promise<DatasetSummary> {
    const dataset = await this.get();
    const summarize = (split: Split): SplitSummary => ({ count: split.count, perClass: split.byClass.map((list) => list.length) });
    return {
      source: { ...dataset.source },
      verified: true,
      classNames: [...CLASS_NAMES],
      imageSize: IMAGE_SIDE,
      train: summarize(dataset.train),
      test: summarize(dataset.test),
    };
  }

  /** A page of images, optionally of one class. An offset past the end gives an empty page with the right total. */
  async page(request: PageRequest): Promise<ImagePage> {
    const split = await this.getSplit(request.split);
    return pageOf(split, request);
  }

  /** One image by its dataset index. Throws `not-found` for an index outside the split. */
  async image(splitName: SplitName, index: number): Promise<ImageRecord> {
    const split = await this.getSplit(splitName);
    if (!Number.isSafeInteger(index) || index < 0 || index >= split.count) {
      throw new AtelierError('not-found', `${splitName} image ${index} does not exist: the ${splitName} split has images 0 to ${formatCount(split.count - 1)}`);
    }
    const label = split.labels[index] as number;
    return {
      split: splitName,
      index,
      label,
      className: CLASS_NAMES[label] ?? String(label),
      pixels: split.images.slice(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE),
    };
  }

  private async loadFresh(): Promise<FashionMnist> {
    const source = await this.options.locate();
    if (!source) {
      throw new AtelierError(
        'dataset-missing',
        'Fashion-MNIST is not on this computer — download it (System view, or ‘atelier dataset fetch’), ' +
          'install it with ‘apt install dataset-fashion-mnist’, or choose a folder that holds it',
      );
    }
    const load = this.options.load ?? loadDataset;
    return load(source, this.options.onLoadProgress ? { onProgress: this.options.onLoadProgress } : {});
  }
}

/** The page logic on its own, for callers that already hold a split. */
export function pageOf(split: Split, request: PageRequest): ImagePage {
  const splitName = checkSplit(request.split);
  const { classFilter = null, offset, count } = request;
  if (classFilter !== null && (!Number.isInteger(classFilter) || classFilter < 0 || classFilter >= CLASS_COUNT)) {
    throw new AtelierError('invalid-payload', `class filter ${classFilter} is not a class: use 0 to ${CLASS_COUNT - 1}, or none for all`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw new AtelierError('invalid-payload', `page offset ${offset} must be a whole number ≥ 0`);
  if (!Number.isSafeInteger(count) || count < 0) throw new AtelierError('invalid-payload', `page count ${count} must be a whole number ≥ 0`);

  const list = classFilter === null ? null : (split.byClass[classFilter] as Uint32Array);
  const total = list ? list.length : split.count;
  const n = Math.max(0, Math.min(count, MAX_PAGE_COUNT, total - offset));
  const indices = new Array<number>(n);
  const labels = new Array<number>(n);
  let pixels: Uint8Array;
  if (!list) {
    for (let i = 0; i < n; i++) {
      indices[i] = offset + i;
      labels[i] = split.labels[offset + i] as number;
    }
    pixels = split.images.subarray(offset * PIXELS_PER_IMAGE, (offset + n) * PIXELS_PER_IMAGE);
  } else {
    pixels = new Uint8Array(n * PIXELS_PER_IMAGE);
    for (let i = 0; i < n; i++) {
      const index = list[offset + i] as number;
      indices[i] = index;
      labels[i] = split.labels[index] as number;
      pixels.set(split.images.subarray(index * PIXELS_PER_IMAGE, (index + 1) * PIXELS_PER_IMAGE), i * PIXELS_PER_IMAGE);
    }
  }
  return { split: splitName, total, offset, indices, labels, pixels };
}

function checkSplit(split: SplitName): SplitName {
  if (split !== 'train' && split !== 'test') throw new AtelierError('invalid-payload', `unknown split ${JSON.stringify(split)}: use "train" or "test"`);
  return split;
}
