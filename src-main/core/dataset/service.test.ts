import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtelierError } from '../errors';
import type { DownloadProgress } from './download';
import { DATASET_FILES, DATASET_MIRRORS, SYSTEM_DATASET_DIR, datasetFile, type DatasetFile } from './files';
import { CLASS_NAMES, PIXELS_PER_IMAGE } from '../fashion-mnist';
import { DatasetService, encodePixels, type DatasetSourcesReport, type DatasetServiceOptions } from './service';
import { inspectFolder, type DatasetSource } from './sources';
import type { FashionMnist, Split } from './store';
import { HAVE_REAL_DATA, REAL_DIR, makeTempDir, needsRealData, snapshotDir, writeFakeGz } from './test-helpers';
import { closedPortUrl, startMirror, type TestMirror } from './test-mirror';

/** The error a promise rejects with; fails the test when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<AtelierError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AtelierError);
    return error as AtelierError;
  }
  throw new Error('expected a rejection');
}

/** Four `.gz` files that pass the cheap folder check without holding the data. */
async function fakeDatasetFolder(dir: string, skip: DatasetFile[] = []): Promise<string> {
  for (const file of DATASET_FILES) if (!skip.includes(file)) await writeFakeGz(dir, file);
  return dir;
}

/** A tiny in-memory "dataset" per source, so tests can see which folder a load used without 55 MB. */
function fakeLoad(calls: DatasetSource[]): NonNullable<DatasetServiceOptions['load']> {
  const split = (name: 'train' | 'test', count: number): Split => {
    const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
    return { name, count, images: new Uint8Array(count * PIXELS_PER_IMAGE), labels, byClass: CLASS_NAMES.map((_, c) => Uint32Array.from(labels.keys()).filter((i) => labels[i] === c)) };
  };
  return async (source): Promise<FashionMnist> => {
    calls.push(source);
    return { source: { kind: source.kind, dir: source.dir }, train: split('train', 20), test: split('test', 10) };
  };
}

describe('DatasetService', () => {
  let home: string;
  let emptySystemDir: string;
  let cleanups: (() => Promise<void>)[];
  let changes: DatasetSourcesReport[];
  let progress: DownloadProgress[];

  const service = (options: Partial<DatasetServiceOptions> = {}): DatasetService =>
    new DatasetService({
      home,
      env: {},
      systemDir: emptySystemDir,
      onChanged: (report) => changes.push(report),
      onProgress: (report) => progress.push(report),
      ...options,
    });

  const tempDir = async (prefix: string): Promise<string> => {
    const temp = await makeTempDir(prefix);
    cleanups.push(temp.cleanup);
    return temp.dir;
  };

  beforeEach(async () => {
    cleanups = [];
    changes = [];
    progress = [];
    home = await tempDir('atelier-home-');
    emptySystemDir = await tempDir('atelier-no-system-');
  });

  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  describe('with no data anywhere', () => {
    it('reports no source, download available, and summary says the three ways to get it', async () => {
      const datasets = service();
      const report = await datasets.sources();
      expect(report.using).toBeNull();
      expect(report.chosenDir).toBeNull();
      expect(report.download).toEqual({ state: 'idle', progress: null, error: null });
      expect(report.sources.map((s) => [s.kind, s.state])).toEqual([
        ['cache', 'missing'],
        ['system-package', 'missing'],
        ['download', 'available'],
      ]);
      const error = await rejection(datasets.summary());
      expect(error.kind).toBe('dataset-missing');
      expect(error.message).toContain('apt install dataset-fashion-mnist');
      expect(error.message).toMatch(/choose a folder/);
      expect(error.message).toMatch(/download/);
    });

    it('reads ATELIER_SYSTEM_DATASET_DIR and ATELIER_DATASET_MIRRORS from its environment', async () => {
      const systemDir = await fakeDatasetFolder(await tempDir('atelier-system-'));
      const datasets = new DatasetService({ home, env: { ATELIER_SYSTEM_DATASET_DIR: systemDir, ATELIER_DATASET_MIRRORS: ' http://a.test/x/ , http://b.test/ ' } });
      expect(datasets.systemDir).toBe(systemDir);
      expect(datasets.mirrors).toEqual(['http://a.test/x/', 'http://b.test/']);
      const report = await datasets.sources();
      expect(report.using).toBe('system-package');
      expect(report.sources.find((s) => s.kind === 'download')?.location).toBe('http://a.test/x/');

      const defaults = new DatasetService({ home, env: {} });
      expect(defaults.systemDir).toBe(SYSTEM_DATASET_DIR);
      expect(defaults.mirrors).toEqual(DATASET_MIRRORS);
    });
  });

  describe('the chosen folder', () => {
    it('is remembered in settings.json (other keys kept, no temp files) and seen by a second service, as the CLI would', async () => {
      await writeFile(join(home, 'settings.json'), JSON.stringify({ theme: 'dark' }));
      const chosen = await fakeDatasetFolder(await tempDir('atelier-chosen-'));
      const report = await service().chooseFolder(chosen);
      expect(report.using).toBe('user-folder');
      expect(report.chosenDir).toBe(chosen);
      expect(changes.at(-1)).toEqual(report);

      expect(JSON.parse(await readFile(join(home, 'settings.json'), 'utf8'))).toEqual({ theme: 'dark', datasetDir: chosen });
      expect((await readdir(home)).filter((name) => name.includes('.tmp'))).toEqual([]);

      const later = service();
      expect(await later.chosenDir()).toBe(chosen);
      expect((await later.locate())?.dir).toBe(chosen);
    });

    it('null forgets the choice and keeps the other settings', async () => {
      const chosen = await fakeDatasetFolder(await tempDir('atelier-chosen-'));
      const datasets = service();
      await writeFile(join(home, 'settings.json'), JSON.stringify({ theme: 'dark', datasetDir: chosen }));
      expect(await datasets.chosenDir()).toBe(chosen);
      const report = await datasets.chooseFolder(null);
      expect(report.chosenDir).toBeNull();
      expect(report.using).toBeNull();
      expect(JSON.parse(await readFile(join(home, 'settings.json'), 'utf8'))).toEqual({ theme: 'dark' });
    });

    it('is refused, naming what it lacks, when it does not hold all four files; nothing is remembered', async () => {
      const missing = datasetFile('test', 'labels');
      const incomplete = await fakeDatasetFolder(await tempDir('atelier-incomplete-'), [missing]);
      const datasets = service();
      const error = await rejection(datasets.chooseFolder(incomplete));
      expect(error.kind).toBe('dataset-missing');
      expect(error.message).toContain(missing.gzName);
      expect(error.message).toContain(incomplete);
      await expect(readFile(join(home, 'settings.json'), 'utf8')).rejects.toThrow();
      expect(changes).toEqual([]);

      const nowhere = await rejection(datasets.chooseFolder(join(incomplete, 'no-such-folder')));
      expect(nowhere.message).toContain('does not exist');
    });

    it('a damaged settings.json only loses the remembered folder', async () => {
      await writeFile(join(home, 'settings.json'), '{ not json');
      const datasets = service();
      expect(await datasets.chosenDir()).toBeNull();
      const chosen = await fakeDatasetFolder(await tempDir('atelier-chosen-'));
      await datasets.chooseFolder(chosen);
      expect(JSON.parse(await readFile(join(home, 'settings.json'), 'utf8'))).toEqual({ datasetDir: chosen });
    });

    it('takes effect at once: the store reloads from it, and training locates it too', async () => {
      const systemDir = await fakeDatasetFolder(await tempDir('atelier-system-'));
      const chosen = await fakeDatasetFolder(await tempDir('atelier-chosen-'));
      const loads: DatasetSource[] = [];
      const datasets = service({ systemDir, load: fakeLoad(loads) });

      expect((await datasets.summary()).source).toEqual({ kind: 'system-package', dir: systemDir });
      await datasets.summary();
      expect(loads).toHaveLength(1); // loaded once, then shared

      await datasets.chooseFolder(chosen);
      expect((await datasets.summary()).source).toEqual({ kind: 'user-folder', dir: chosen });
      expect(loads.map((source) => source.kind)).toEqual(['system-package', 'user-folder']);
      expect((await datasets.locateOrExplain()).dir).toBe(chosen);
    });
  });

  describe('a damaged copy', () => {
    it('a truncated .gz, with nothing else to fall back on, is named in a dataset-corrupt error', async () => {
      const bad = datasetFile('train', 'images');
      const dir = await tempDir('atelier-truncated-');
      await fakeDatasetFolder(dir, [bad]);
      await writeFakeGz(dir, bad, 1024); // its trailer says 1,024 bytes: a cut-off download
      const datasets = service({ env: { FASHION_MNIST_DIR: dir } });
      expect((await datasets.sources()).sources[0]).toMatchObject({ kind: 'env', state: 'incomplete', missingFiles: [bad.gzName] });
      const error = await rejection(datasets.summary());
      expect(error.kind).toBe('dataset-corrupt');
      expect(error.message).toContain(bad.gzName);
      expect(error.message).toContain(dir);
      expect(error.message).toMatch(/is damaged \(it does not decompress\)/); // a fake .gz: not gzip data at all, so not merely cut off
    });

    it.skipIf(!HAVE_REAL_DATA)(needsRealData('a copy whose bytes were changed fails verification with dataset-corrupt naming the file'), async () => {
      const bad = datasetFile('test', 'labels');
      const dir = await tempDir('atelier-corrupt-');
      for (const file of DATASET_FILES) {
        if (file !== bad) await symlink(join(REAL_DIR, file.gzName), join(dir, file.gzName));
      }
      const labels = gunzipSync(await readFile(join(REAL_DIR, bad.gzName)));
      labels[8 + 100] = ((labels[8 + 100] as number) + 1) % 10; // still a valid label: only the checksum can tell
      await writeFile(join(dir, bad.gzName), gzipSync(labels));

      const datasets = service({ env: { FASHION_MNIST_DIR: dir } });
      expect((await datasets.sources()).using).toBe('env'); // the cheap check cannot see it…
      const error = await rejection(datasets.summary()); // …verification does
      expect(error.kind).toBe('dataset-corrupt');
      expect(error.message).toContain(bad.gzName);
      expect(error.message).toContain('SHA-256');
    });
  });

  describe.skipIf(!HAVE_REAL_DATA)('with the real files', () => {
    it(needsRealData('FASHION_MNIST_DIR: 70,000 verified images; pages and images cross the contract as base64 of exactly their pixels'), async () => {
      const datasets = service({ env: { FASHION_MNIST_DIR: REAL_DIR } });
      const summary = await datasets.summary();
      expect(summary.source).toEqual({ kind: 'env', dir: REAL_DIR });
      expect(summary.verified).toBe(true);
      expect(summary.train.count + summary.test.count).toBe(70_000);
      expect(summary.train.perClass.reduce((a, b) => a + b, 0)).toBe(60_000);

      const train = await datasets.store.getSplit('train');
      const page = await datasets.page({ split: 'train', offset: 59_900, count: 500 });
      expect(page.total).toBe(60_000);
      expect(page.indices).toHaveLength(100);
      const pixels = Buffer.from(page.pixels, 'base64');
      expect(pixels.byteLength).toBe(100 * PIXELS_PER_IMAGE);
      expect(pixels.equals(Buffer.from(train.images.subarray(59_900 * PIXELS_PER_IMAGE)))).toBe(true);
      expect(page.labels).toEqual(Array.from(train.labels.subarray(59_900)));

      const bags = await datasets.page({ split: 'test', classFilter: 8, offset: 10, count: 20 });
      expect(bags.total).toBe(1000);
      expect(new Set(bags.labels)).toEqual(new Set([8]));
      expect(Buffer.from(bags.pixels, 'base64').byteLength).toBe(20 * PIXELS_PER_IMAGE);

      const image = await datasets.image('test', bags.indices[0] as number);
      expect(image).toMatchObject({ split: 'test', label: 8, className: 'Bag' });
      expect(Buffer.from(image.pixels, 'base64').equals(Buffer.from(bags.pixels, 'base64').subarray(0, PIXELS_PER_IMAGE))).toBe(true);
    });
  });

  describe('download', () => {
    let mirror: TestMirror | null;

    beforeEach(() => {
      mirror = null;
    });
    afterEach(async () => {
      await mirror?.close();
    });

    it.skipIf(!HAVE_REAL_DATA)(needsRealData('from a local mirror: progress reports, the cache filled and used, joined by a second call'), async () => {
      mirror = await startMirror(REAL_DIR);
      const datasets = service({ mirrors: [mirror.url], progressIntervalMs: 0 });
      expect((await datasets.sources()).using).toBeNull();

      const first = datasets.download();
      const second = datasets.download(); // a second window pressing Download joins the first
      expect(datasets.downloadStatus().state).toBe('running');
      const [report, joined] = await Promise.all([first, second]);
      expect(joined).toEqual(report);

      expect(report.using).toBe('cache');
      expect(report.download.state).toBe('done');
      expect(report.download.progress?.overallFraction).toBe(1);
      expect(mirror.requests.sort()).toEqual(DATASET_FILES.map((f) => f.gzName).sort());
      expect((await inspectFolder(datasets.cacheDir)).files).toHaveLength(4);
      expect(changes.at(-1)?.using).toBe('cache');

      // Every file reports its start, bytes while downloading, verification and its end, in order.
      expect(new Set(progress.map((p) => p.file))).toEqual(new Set(DATASET_FILES.map((f) => f.gzName)));
      for (const file of DATASET_FILES) {
        const mine = progress.filter((p) => p.file === file.gzName);
        expect(mine.map((p) => p.phase).filter((phase, i, all) => phase !== all[i - 1])).toEqual(['downloading', 'verifying', 'done']);
        expect(mine.at(-1)?.receivedBytes).toBeGreaterThan(0);
        expect(mine.every((p) => p.url.startsWith(mirror!.url))).toBe(true);
      }
      const fractions = progress.map((p) => p.overallFraction);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));

      const summary = await datasets.summary();
      expect(summary.source.kind).toBe('cache');
      expect(summary.train.count + summary.test.count).toBe(70_000);
    });

    it('cancel stops it: the call rejects with cancelled and the cache holds no dataset file', async () => {
      const served = await tempDir('atelier-served-');
      await fakeDatasetFolder(served);
      await writeFile(join(served, DATASET_FILES[0]!.gzName), new Uint8Array(200_000));
      mirror = await startMirror(served, { stallAfterBytes: 100_000 });
      const datasets = service({ mirrors: [mirror.url], progressIntervalMs: 0 });
      const running = datasets.download();
      await expect.poll(() => progress.some((p) => p.receivedBytes > 0), { timeout: 30_000 }).toBe(true); // a loaded machine may take over the default 1 s
      expect(datasets.cancelDownload()).toBe(true);
      const error = await rejection(running);
      expect(error.kind).toBe('cancelled');
      expect(datasets.downloadStatus()).toMatchObject({ state: 'cancelled', error: null });
      expect(changes.at(-1)?.download.state).toBe('cancelled');
      expect(Object.keys(await snapshotDir(datasets.cacheDir))).toEqual([]);
      expect(datasets.cancelDownload()).toBe(false);
    });

    it('with no mirror reachable it fails with offline, says so, and remembers why', async () => {
      const datasets = service({ mirrors: [await closedPortUrl()] });
      const error = await rejection(datasets.download());
      expect(error.kind).toBe('offline');
      expect(error.message).toMatch(/no mirror could be reached/);
      expect(error.message).toContain(DATASET_FILES[0]!.gzName);
      const status = datasets.downloadStatus();
      expect(status.state).toBe('failed');
      expect(status.error).toBe(error.message);
      expect(changes.at(-1)?.download.state).toBe('failed');
    });

    it('a mirror given for one download is used instead of the configured ones', async () => {
      const datasets = service({ mirrors: ['http://configured.invalid/'] });
      const error = await rejection(datasets.download({ mirror: await closedPortUrl() }));
      expect(error.message).toContain('127.0.0.1');
      expect(error.message).not.toContain('configured.invalid');
    });
  });

  describe('pickFolder', () => {
    it('answers unsupported when the shell has no folder dialog', async () => {
      const error = await rejection(service().pickFolder());
      expect(error.kind).toBe('unsupported');
      expect(error.message).toMatch(/type the path/);
    });

    it('returns what the dialog returns', async () => {
      expect(await service({ pickFolder: async () => '/some/where' }).pickFolder()).toBe('/some/where');
      expect(await service({ pickFolder: async () => null }).pickFolder()).toBeNull();
    });
  });

  it('encodePixels reads only the view it is given', () => {
    const buffer = Uint8Array.from({ length: 10 }, (_, i) => i);
    expect(Buffer.from(encodePixels(buffer.subarray(3, 6)), 'base64')).toEqual(Buffer.from([3, 4, 5]));
  });

  it('keeps working when the home folder does not exist yet', async () => {
    const fresh = join(home, 'not-yet');
    const chosen = await fakeDatasetFolder(await tempDir('atelier-chosen-'));
    await mkdir(chosen, { recursive: true });
    const report = await new DatasetService({ home: fresh, env: {}, systemDir: emptySystemDir }).chooseFolder(chosen);
    expect(report.chosenDir).toBe(chosen);
  });
});
