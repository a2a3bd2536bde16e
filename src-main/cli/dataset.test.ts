import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DATASET_FILES } from '../core/dataset/files';
import { CLASS_NAMES } from '../core/fashion-mnist';
import { inspectFolder } from '../core/dataset/sources';
import { HAVE_REAL_DATA, REAL_DIR, needsRealData } from '../core/dataset/test-helpers';
import { startMirror } from '../core/dataset/test-mirror';
import { datasetCacheDir } from '../core/paths';
import { runCli } from './commands';
import type { DatasetInfoJson } from './dataset';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function info(): Promise<{ code: number; json: DatasetInfoJson }> {
  const { code, out } = await run(['dataset', 'info', '--json']);
  return { code, json: JSON.parse(out) as DatasetInfoJson };
}

describe('atelier dataset', () => {
  const touched = ['ATELIER_HOME', 'FASHION_MNIST_DIR', 'ATELIER_SYSTEM_DATASET_DIR', 'ATELIER_DATASET_MIRRORS'];
  const saved: Record<string, string | undefined> = {};
  let temp: string;
  let home: string;
  let emptyDir: string;

  beforeAll(() => {
    for (const name of touched) saved[name] = process.env[name];
  });
  afterAll(() => {
    for (const name of touched) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  beforeEach(() => {
    temp = mkdtempSync(join(tmpdir(), 'atelier-cli-dataset-'));
    home = join(temp, 'home');
    emptyDir = join(temp, 'empty');
    process.env.ATELIER_HOME = home;
    delete process.env.FASHION_MNIST_DIR;
    delete process.env.ATELIER_SYSTEM_DATASET_DIR;
    delete process.env.ATELIER_DATASET_MIRRORS;
  });
  afterEach(() => rmSync(temp, { recursive: true, force: true }));

  it('without a subcommand, or with an unknown one, exits 2 with the dataset usage', async () => {
    expect(await run(['dataset'])).toMatchObject({ code: 2, out: expect.stringContaining('atelier dataset <info|fetch|use>') });
    const unknown = await run(['dataset', 'frob']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('"frob"');
    expect((await run(['--help'])).out).toMatch(/^\s+dataset info \[--json\]/m);
  });

  it('info --json with no data anywhere: exit 1, no images, and the error says the three ways', async () => {
    process.env.ATELIER_SYSTEM_DATASET_DIR = emptyDir;
    const { code, json } = await info();
    expect(code).toBe(1);
    expect(json).toMatchObject({ source: null, verified: false, images: 0, using: null });
    expect(json.error?.kind).toBe('dataset-missing');
    expect(json.error?.message).toContain('apt install dataset-fashion-mnist');
    expect(json.sources.map((source) => source.kind)).toEqual(['cache', 'system-package', 'download']);
    expect(json.sources[1]?.location).toBe(emptyDir);
  });

  it('fetch --from refuses a URL that is not http(s) (exit 2) and a folder without the data (exit 1, named)', async () => {
    const ftp = await run(['dataset', 'fetch', '--from', 'ftp://example.org/fashion/']);
    expect(ftp.code).toBe(2);
    expect(ftp.err).toContain('http(s)');
    const missing = await run(['dataset', 'fetch', '--from', join(temp, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(join(temp, 'nowhere'));
    expect((await inspectFolder(datasetCacheDir(home))).files).toEqual([]);
  });

  it('use needs exactly one folder or --forget', async () => {
    expect((await run(['dataset', 'use'])).code).toBe(2);
    expect((await run(['dataset', 'use', 'a', 'b'])).code).toBe(2);
    expect((await run(['dataset', 'use', 'a', '--forget'])).code).toBe(2);
  });

  describe.skipIf(!HAVE_REAL_DATA)('with the real files', () => {
    it(needsRealData('info --json reports the system package and 70,000 verified images'), async () => {
      process.env.ATELIER_SYSTEM_DATASET_DIR = REAL_DIR;
      const { code, json } = await info();
      expect(code).toBe(0);
      expect(json.error).toBeNull();
      expect(json.source).toEqual({ kind: 'system-package', dir: REAL_DIR });
      expect(json.verified).toBe(true);
      expect(json.images).toBe(70_000);
      expect(json.classNames).toEqual(CLASS_NAMES);
      expect(json.train?.perClass.reduce((a, b) => a + b, 0)).toBe(60_000);
      expect(json.test?.perClass.reduce((a, b) => a + b, 0)).toBe(10_000);

      const text = await run(['dataset', 'info']);
      expect(text.code).toBe(0);
      expect(text.out).toContain('70,000 images, checksums verified');
      expect(text.out).toContain(REAL_DIR);
      expect(text.out).toMatch(/8 Bag\s+6,000 train\s+1,000 test/);
    });

    it(needsRealData('fetch --from DIR fills the cache, which info then uses'), async () => {
      process.env.ATELIER_SYSTEM_DATASET_DIR = emptyDir;
      const fetched = await run(['dataset', 'fetch', '--from', REAL_DIR]);
      expect(fetched.err).toBe('');
      expect(fetched.code).toBe(0);
      expect(fetched.out).toContain(datasetCacheDir(home));
      expect((await inspectFolder(datasetCacheDir(home))).files).toHaveLength(4);
      const { code, json } = await info();
      expect(code).toBe(0);
      expect(json.source).toEqual({ kind: 'cache', dir: datasetCacheDir(home) });
      expect(json.images).toBe(70_000);
    });

    it(needsRealData('fetch --from URL downloads from that mirror and reports each verified file'), async () => {
      process.env.ATELIER_SYSTEM_DATASET_DIR = emptyDir;
      const mirror = await startMirror(REAL_DIR);
      try {
        const fetched = await run(['dataset', 'fetch', '--from', mirror.url]);
        expect(fetched.code).toBe(0);
        for (const file of DATASET_FILES) expect(fetched.err).toContain(`✔ ${file.gzName}`);
        expect(mirror.requests.sort()).toEqual(DATASET_FILES.map((file) => file.gzName).sort());
        expect((await inspectFolder(datasetCacheDir(home))).files).toHaveLength(4);
      } finally {
        await mirror.close();
      }
    });

    it.each(['truncated', 'flipped'] as const)(
      needsRealData('a %s t10k-labels .gz in FASHION_MNIST_DIR: info and train exit 1 naming the folder, the file and what to do, never using the good system package instead'),
      async (how) => {
        process.env.ATELIER_SYSTEM_DATASET_DIR = REAL_DIR;
        const broken = join(temp, `broken-${how}`);
        mkdirSync(broken);
        for (const file of DATASET_FILES.slice(0, 3)) symlinkSync(join(REAL_DIR, file.gzName), join(broken, file.gzName));
        const labels = DATASET_FILES[3]!;
        const gz = readFileSync(join(REAL_DIR, labels.gzName));
        if (how === 'truncated') writeFileSync(join(broken, labels.gzName), gz.subarray(0, Math.floor(gz.length / 2)));
        else {
          const raw = gunzipSync(gz);
          raw[100] = raw[100] === 9 ? 8 : 9;
          writeFileSync(join(broken, labels.gzName), gzipSync(raw));
        }
        process.env.FASHION_MNIST_DIR = broken;
        const why = how === 'truncated' ? /t10k-labels-idx1-ubyte\.gz is truncated \(its compressed data ends early\)/ : /t10k-labels-idx1-ubyte\.gz \(from .*\): SHA-256 of the decompressed data is [0-9a-f]{64}, expected 0402a96d/;
        const remedy = 'point FASHION_MNIST_DIR at another folder, or unset FASHION_MNIST_DIR';

        const { code, json } = await info();
        expect(code).toBe(1);
        expect(json).toMatchObject({ source: null, images: 0, using: how === 'truncated' ? null : 'env', error: { kind: 'dataset-corrupt' } });
        expect(json.error?.message).toContain(broken);
        expect(json.error?.message).toMatch(why);
        expect(json.error?.message).toContain(remedy);

        const text = await run(['dataset', 'info']);
        expect(text.code).toBe(1);
        expect(text.out).toContain('Fashion-MNIST: not usable');
        expect(text.err).toMatch(why);

        // A truncated file is refused before a run starts (stderr); a flipped byte is found when the
        // worker verifies the data, so the run is recorded as failed with the message (stdout).
        const train = await run(['train', '--epochs', '1', '--limit', '100']);
        const said = `${train.out}\n${train.err}`;
        expect(train.code, said).toBe(1);
        expect(said).toContain(broken);
        expect(said).toMatch(why);
        expect(said).toContain(remedy);
      },
      60_000,
    );

    it(needsRealData('use DIR is remembered in settings.json and used by the next command; --forget undoes it'), async () => {
      process.env.ATELIER_SYSTEM_DATASET_DIR = emptyDir;
      const used = await run(['dataset', 'use', REAL_DIR]);
      expect(used.code).toBe(0);
      expect(JSON.parse(readFileSync(join(home, 'settings.json'), 'utf8'))).toEqual({ datasetDir: REAL_DIR });
      const { json } = await info();
      expect(json).toMatchObject({ using: 'user-folder', chosenDir: REAL_DIR, images: 70_000 });

      expect((await run(['dataset', 'use', '--forget'])).code).toBe(0);
      expect((await info()).json).toMatchObject({ using: null, chosenDir: null, images: 0 });
    });
  });
});
