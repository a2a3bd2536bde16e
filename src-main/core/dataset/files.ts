/**
 * What Fashion-MNIST is on disk: four IDX files, their fixed sizes and checksums, the class
 * names and where to download them. Everything else in this folder is driven by this table.
 */

/** Which half of the dataset a file or a request belongs to. */
export type SplitName = 'train' | 'test';

/** The four file names without the `.gz` suffix; they are also the files' identities. */
export type DatasetFileName =
  | 'train-images-idx3-ubyte'
  | 'train-labels-idx1-ubyte'
  | 't10k-images-idx3-ubyte'
  | 't10k-labels-idx1-ubyte';

/** One of the four files, with what its bytes must be once decompressed. */
export interface DatasetFile {
  /** The IDX file's name as published, without `.gz`. */
  readonly name: DatasetFileName;
  /** The compressed file's name as published (`name` + `.gz`). */
  readonly gzName: string;
  readonly split: SplitName;
  readonly kind: 'images' | 'labels';
  /** Byte size of the decompressed IDX file (header included). */
  readonly size: number;
  /** SHA-256 of the decompressed IDX file, lowercase hex. */
  readonly sha256: string;
  /** Byte size of the official `.gz` (Debian's recompressed ones are 23–24 bytes smaller): an estimate for progress only. */
  readonly officialGzSize: number;
  /** Number of items (images or labels) the file holds. */
  readonly count: number;
}

/** The four files, train first, images before labels. Sizes and checksums from DESIGN.md. */
export const DATASET_FILES: readonly DatasetFile[] = Object.freeze([
  {
    name: 'train-images-idx3-ubyte',
    gzName: 'train-images-idx3-ubyte.gz',
    split: 'train',
    kind: 'images',
    size: 47_040_016,
    sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    officialGzSize: 26_421_880,
    count: 60_000,
  },
  {
    name: 'train-labels-idx1-ubyte',
    gzName: 'train-labels-idx1-ubyte.gz',
    split: 'train',
    kind: 'labels',
    size: 60_008,
    sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    officialGzSize: 29_515,
    count: 60_000,
  },
  {
    name: 't10k-images-idx3-ubyte',
    gzName: 't10k-images-idx3-ubyte.gz',
    split: 'test',
    kind: 'images',
    size: 7_840_016,
    sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    officialGzSize: 4_422_102,
    count: 10_000,
  },
  {
    name: 't10k-labels-idx1-ubyte',
    gzName: 't10k-labels-idx1-ubyte.gz',
    split: 'test',
    kind: 'labels',
    size: 10_008,
    sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    officialGzSize: 5_148,
    count: 10_000,
  },
] satisfies DatasetFile[]);

/** The file of one split and kind. */
export function datasetFile(split: SplitName, kind: 'images' | 'labels'): DatasetFile {
  const file = DATASET_FILES.find((f) => f.split === split && f.kind === kind);
  if (!file) throw new Error(`no dataset file for ${split} ${kind}`);
  return file;
}


/**
 * Official download locations, tried in order; each ends with `/` and holds the four `.gz` files.
 * The S3 website endpoint is HTTP only (it is what Zalando's README links to); the checksums,
 * not the transport, are what make the bytes trustworthy.
 */
export const DATASET_MIRRORS: readonly string[] = Object.freeze([
  'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
]);

/** Where Debian/Ubuntu's `dataset-fashion-mnist` package installs the files. */
export const SYSTEM_DATASET_DIR = '/usr/share/datasets/fashion-mnist';

/** The shell command that installs the system copy, for messages. */
export const APT_INSTALL_HINT = 'apt install dataset-fashion-mnist';

/** `1234567` → `1,234,567`, for messages. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
