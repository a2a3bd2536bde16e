import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { AtelierError } from '../errors';
import { DATASET_FILES } from './files';
import { CLASS_NAMES, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { encodeIdx } from './idx';
import { sourceFromFolder, type DatasetSource } from './sources';
import { DatasetStore, MAX_PAGE_COUNT, loadDataset, pageOf, type FashionMnist, type Split } from './store';
import { HAVE_REAL_DATA, REAL_DIR, makeTempDir, needsRealData } from './test-helpers';

/** A small split whose pixels encode their own index, so any mix-up shows. */
function syntheticSplit(labels: number[]): Split {
  const count = labels.length;
  const images = new Uint8Array(count * PIXELS_PER_IMAGE);
  for (let i = 0; i < count; i++) images.fill(i % 256, i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE);
  const byClass = CLASS_NAMES.map((_, c) => Uint32Array.from(labels.flatMap((label, i) => (label === c ? [i] : []))));
  return { name: 'test', count, images, labels: Uint8Array.from(labels), byClass };
}

async function failure(promise: Promise<unknown>): Promise<AtelierError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AtelierError);
  return error as AtelierError;
}

describe('pageOf on a synthetic split', () => {
  // labels cycle 0..9, 25 images: classes 0-4 have 3 images, 5-9 have 2
  const split = syntheticSplit(Array.from({ length: 25 }, (_, i) => i % 10));

  it('returns a contiguous unfiltered page as a view on the split, without copying', () => {
    const page = pageOf(split, { split: 'test', offset: 5, count: 4 });
    expect(page).toMatchObject({ total: 25, offset: 5, indices: [5, 6, 7, 8], labels: [5, 6, 7, 8] });
    expect(page.pixels.byteLength).toBe(4 * PIXELS_PER_IMAGE);
    expect(page.pixels.buffer).toBe(split.images.buffer);
    expect(page.pixels.byteOffset).toBe(split.images.byteOffset + 5 * PIXELS_PER_IMAGE);
  });

  it('filters by class into one compact copy of only the requested images', () => {
    const page = pageOf(split, { split: 'test', classFilter: 3, offset: 1, count: 10 });
    expect(page).toMatchObject({ total: 3, offset: 1, indices: [13, 23], labels: [3, 3] });
    expect(page.pixels.buffer).not.toBe(split.images.buffer);
    expect(page.pixels.buffer.byteLength).toBe(2 * PIXELS_PER_IMAGE);
    expect(page.pixels[0]).toBe(13);
    expect(page.pixels[PIXELS_PER_IMAGE - 1]).toBe(13);
    expect(page.pixels[PIXELS_PER_IMAGE]).toBe(23);
  });

  it('gives an empty page with the right total past the end, and a short last page', () => {
    expect(pageOf(split, { split: 'test', offset: 25, count: 5 })).toMatchObject({ total: 25, indices: [], labels: [] });
    expect(pageOf(split, { split: 'test', offset: 1_000_000, count: 5 }).pixels.byteLength).toBe(0);
    expect(pageOf(split, { split: 'test', classFilter: 9, offset: 2, count: 5 })).toMatchObject({ total: 2, indices: [] });
    expect(pageOf(split, { split: 'test', offset: 23, count: 5 }).indices).toEqual([23, 24]);
    expect(pageOf(split, { split: 'test', offset: 0, count: 0 }).indices).toEqual([]);
  });

  it('refuses malformed requests with invalid-payload', () => {
    const bad = [
      { split: 'test', offset: -1, count: 1 },
      { split: 'test', offset: 0.5, count: 1 },
      { split: 'test', offset: 0, count: Number.NaN },
      { split: 'test', classFilter: 10, offset: 0, count: 1 },
      { split: 'test', classFilter: -1, offset: 0, count: 1 },
      { split: 'validation', offset: 0, count: 1 },
    ];
    for (const request of bad) {
      let error: unknown;
      try {
        pageOf(split, request as never);
      } catch (e) {
        error = e;
      }
      expect((error as AtelierError).kind).toBe('invalid-payload');
    }
  });
});

describe('DatasetStore with an injected loader', () => {
  const dataset: FashionMnist = {
    source: { kind: 'cache', dir: '/fake' },
    train: { ...syntheticSplit([0, 1, 2, 3]), name: 'train' },
    test: syntheticSplit([9, 9, 8]),
  };
  const fakeSource: DatasetSource = { kind: 'cache', dir: '/fake', files: [] };

  it('shares one in-flight load among concurrent callers', async () => {
    let loads = 0;
    const store = new DatasetStore({ locate: async () => fakeSource, load: async () => (loads++, dataset) });
    const results = await Promise.all([store.get(), store.summary(), store.page({ split: 'train', offset: 0, count: 2 }), store.getSplit('test')]);
    expect(loads).toBe(1);
    expect(results[0]).toBe(dataset);
    expect(store.loaded()).toBe(dataset);
  });

  it('loads again after invalidate(), asking where the data is now', async () => {
    let locates = 0;
    const store = new DatasetStore({ locate: async () => (locates++, fakeSource), load: async () => dataset });
    await store.get();
    await store.get();
    expect(locates).toBe(1);
    store.invalidate();
    expect(store.loaded()).toBeNull();
    await store.get();
    expect(locates).toBe(2);
  });

  it('retries after a failed load instead of remembering the failure', async () => {
    let attempt = 0;
    const store = new DatasetStore({
      locate: async () => fakeSource,
      load: async () => {
        if (attempt++ === 0) throw new AtelierError('dataset-corrupt', 'first time broken');
        return dataset;
      },
    });
    expect((await failure(store.get())).message).toBe('first time broken');
    expect(await store.get()).toBe(dataset);
  });

  it('throws dataset-missing, saying what to do, when no source holds the data', async () => {
    const store = new DatasetStore({ locate: async () => null });
    const error = await failure(store.summary());
    expect(error.kind).toBe('dataset-missing');
    expect(error.message).toMatch(/download it.*apt install dataset-fashion-mnist.*choose a folder/);
  });

  it('returns one image as a copy with its class name, and not-found outside the split', async () => {
    const store = new DatasetStore({ locate: async () => fakeSource, load: async () => dataset });
    const image = await store.image('test', 2);
    expect(image).toMatchObject({ split: 'test', index: 2, label: 8, className: 'Bag' });
    expect(image.pixels.byteLength).toBe(PIXELS_PER_IMAGE);
    expect(image.pixels.buffer.byteLength).toBe(PIXELS_PER_IMAGE);
    expect(image.pixels[0]).toBe(2);
    for (const index of [-1, 3, 1.5]) expect((await failure(store.image('test', index))).kind).toBe('not-found');
  });

  it('summarizes counts per class', async () => {
    const store = new DatasetStore({ locate: async () => fakeSource, load: async () => dataset });
    const summary = await store.summary();
    expect(summary).toMatchObject({ source: { kind: 'cache', dir: '/fake' }, verified: true, imageSize: 28 });
    expect(summary.classNames).toEqual([...CLASS_NAMES]);
    expect(summary.test).toEqual({ count: 3, perClass: [0, 0, 0, 0, 0, 0, 0, 0, 1, 2] });
  });
});

describe.skipIf(!HAVE_REAL_DATA)(needsRealData('the real Fashion-MNIST'), () => {
  let dataset: FashionMnist;
  let store: DatasetStore;
  let progress: number[];

  // Parsed once for the whole file: it is the slow part (about a second).
  beforeAll(async () => {
    progress = [];
    store = new DatasetStore({ locate: () => sourceFromFolder(REAL_DIR, 'system-package'), onLoadProgress: (p) => progress.push(p.filesDone) });
    dataset = await store.get();
  });

  it('parses to 60,000 + 10,000 images of 784 pixels, 6,000 / 1,000 per class', () => {
    expect(progress.sort()).toEqual([1, 2, 3, 4]);
    expect(dataset.source).toEqual({ kind: 'system-package', dir: REAL_DIR });
    for (const [split, count, perClass] of [
      [dataset.train, 60_000, 6_000],
      [dataset.test, 10_000, 1_000],
    ] as const) {
      expect(split.count).toBe(count);
      expect(split.images.byteLength).toBe(count * 784);
      expect(split.labels.length).toBe(count);
      expect(split.byClass.map((list) => list.length)).toEqual(new Array(10).fill(perClass));
      split.byClass.forEach((list, c) => {
        list.forEach((index, k) => {
          expect(split.labels[index]).toBe(c);
          if (k > 0) expect(index).toBeGreaterThan(list[k - 1] as number);
        });
      });
    }
  });

  it('knows a few images by their published labels', () => {
    // Labels as the TensorFlow tutorial prints them: the first training image is an ankle boot (9).
    expect(Array.from(dataset.train.labels.subarray(0, 4))).toEqual([9, 0, 0, 3]);
    expect(Array.from(dataset.test.labels.subarray(0, 4))).toEqual([9, 2, 1, 1]);
    // Images have dark borders and bright cloth: the first training image is not blank.
    const first = dataset.train.images.subarray(0, 784);
    expect(first[0]).toBe(0);
    expect(Math.max(...first)).toBeGreaterThan(200);
  });

  it('pages the real data without copying the dataset', async () => {
    const page = await store.page({ split: 'train', offset: 59_990, count: 50 });
    expect(page.indices).toEqual(Array.from({ length: 10 }, (_, i) => 59_990 + i));
    expect(page.pixels.buffer).toBe(dataset.train.images.buffer);

    const capped = await store.page({ split: 'test', offset: 0, count: 100_000 });
    expect(capped.indices).toHaveLength(MAX_PAGE_COUNT);
    expect(capped.pixels.byteLength).toBe(MAX_PAGE_COUNT * 784);

    const sandals = await store.page({ split: 'test', classFilter: 5, offset: 990, count: 20 });
    expect(sandals.total).toBe(1_000);
    expect(sandals.labels).toEqual(new Array(10).fill(5));
    expect(sandals.pixels.buffer.byteLength).toBe(10 * 784);
    const lastSandal = sandals.indices.at(-1) as number;
    expect(sandals.pixels.subarray(9 * 784)).toEqual(dataset.test.images.subarray(lastSandal * 784, (lastSandal + 1) * 784));
  });

  it('hands the engine the whole split buffers', async () => {
    const train = await store.getSplit('train');
    expect(train.images).toBe(dataset.train.images);
    expect(train.labels).toBe(dataset.train.labels);
  });
});

describe('loadDataset on damaged folders', () => {
  it.skipIf(!HAVE_REAL_DATA)(needsRealData('names the file whose checksum fails'), async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      for (const file of DATASET_FILES.slice(0, 3)) await symlink(join(REAL_DIR, file.gzName), join(dir, file.gzName));
      // Right size, right IDX header, wrong labels: only the checksum can tell.
      const labels = encodeIdx({ dtype: 'uint8', shape: [10_000], data: new Uint8Array(10_000) });
      await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels));
      const error = await failure(loadDataset(await sourceFromFolder(dir)));
      expect(error.kind).toBe('dataset-corrupt');
      expect(error.message).toMatch(/^t10k-labels-idx1-ubyte\.gz \(from .*\): SHA-256 of the decompressed data is [0-9a-f]{64}, expected 0402a96d/);
    } finally {
      await cleanup();
    }
  });

  it('names a .gz that inflates past its size', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      await mkdir(dir, { recursive: true });
      const file = DATASET_FILES[3]!;
      // Passes the cheap trailer check, then holds a little more than it should.
      const gz = gzipSync(new Uint8Array(file.size + 100_000));
      new DataView(gz.buffer, gz.byteOffset).setUint32(gz.length - 4, file.size, true);
      await writeFile(join(dir, file.gzName), gz);
      const source: DatasetSource = { kind: 'user-folder', dir, files: [{ file, path: join(dir, file.gzName), compressed: true }] };
      const error = await failure(loadDataset(source));
      expect(error.kind).toBe('dataset-corrupt');
      expect(error.message).toMatch(/^t10k-labels-idx1-ubyte\.gz: decompresses to more than 10,008 bytes/);
    } finally {
      await cleanup();
    }
  });
});
