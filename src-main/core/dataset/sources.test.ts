import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtelierError } from '../errors';
import { datasetCacheDir } from '../paths';
import { DATASET_FILES } from './files';
import { DatasetService } from './service';
import { describeSources, explainRefusedChoice, findDataset, inspectFolder, sourceFromFolder, type SourceOptions } from './sources';
import { HAVE_REAL_DATA, REAL_DIR, needsRealData, makeTempDir, writeFakeGz, writeFakeRaw } from './test-helpers';

let root: string;
let cleanup: () => Promise<void>;
let chosen: string;
let envDir: string;
let home: string;
let systemDir: string;

beforeEach(async () => {
  ({ dir: root, cleanup } = await makeTempDir());
  chosen = join(root, 'chosen');
  envDir = join(root, 'env');
  home = join(root, 'home');
  systemDir = join(root, 'system');
});
afterEach(() => cleanup());

/** A complete folder: `.gz` files that pass the cheap check but hold no data. */
async function fillFolder(dir: string): Promise<void> {
  for (const file of DATASET_FILES) await writeFakeGz(dir, file);
}

function options(extra: Partial<SourceOptions> = {}): SourceOptions {
  return { chosenDir: chosen, env: { FASHION_MNIST_DIR: envDir }, home, systemDir, mirrors: ['http://127.0.0.1:9/'], ...extra };
}

describe('describeSources', () => {
  it('lists chosen folder, FASHION_MNIST_DIR, cache, system package and download, in that order', async () => {
    const report = await describeSources(options());
    expect(report.sources.map((s) => s.kind)).toEqual(['user-folder', 'env', 'cache', 'system-package', 'download']);
    expect(report.sources.map((s) => s.location)).toEqual([chosen, envDir, datasetCacheDir(home), systemDir, 'http://127.0.0.1:9/']);
    expect(report.sources.slice(0, 4).every((s) => s.state === 'missing')).toBe(true);
    expect(report.sources[4]?.state).toBe('available');
    expect(report.using).toBeNull();
    expect(report.selected).toBeNull();
    expect(report.sources[3]?.hint).toContain('apt install dataset-fashion-mnist');
  });

  it('leaves out the chosen folder and FASHION_MNIST_DIR when they are not set', async () => {
    const report = await describeSources({ home, systemDir, env: { FASHION_MNIST_DIR: '  ' } });
    expect(report.sources.map((s) => s.kind)).toEqual(['cache', 'system-package', 'download']);
  });

  it('uses the first complete source and says the later ones are shadowed', async () => {
    await fillFolder(systemDir);
    await fillFolder(datasetCacheDir(home));
    let report = await describeSources(options());
    expect(report.using).toBe('cache');
    expect(report.selected?.dir).toBe(datasetCacheDir(home));
    expect(report.sources.find((s) => s.kind === 'system-package')).toMatchObject({ state: 'found', hint: expect.stringContaining('earlier source') });

    await fillFolder(envDir);
    report = await describeSources(options());
    expect(report.using).toBe('env');

    await fillFolder(chosen);
    report = await describeSources(options());
    expect(report.using).toBe('user-folder');
    expect(report.selected?.files.map((f) => f.path)).toEqual(DATASET_FILES.map((f) => join(chosen, f.gzName)));
    expect(report.sources.filter((s) => s.state === 'found')).toHaveLength(4);
  });

  it('reads ATELIER_HOME from the injected env when no home is given', async () => {
    await fillFolder(datasetCacheDir(home));
    const report = await describeSources({ env: { ATELIER_HOME: home }, systemDir });
    expect(report.using).toBe('cache');
  });

  it('reports an incomplete chosen folder with the files it lacks, and refuses it rather than using a later source', async () => {
    await fillFolder(systemDir);
    const [trainImages, trainLabels] = DATASET_FILES;
    await writeFakeGz(chosen, trainImages!);
    await writeFakeGz(chosen, trainLabels!);
    const report = await describeSources(options({ env: {} }));
    const status = report.sources[0];
    expect(status).toMatchObject({ kind: 'user-folder', state: 'incomplete', missingFiles: ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'] });
    expect(status?.hint).toContain('t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz');
    expect(status?.hint).toContain('no other source is used while it is chosen');
    expect(report).toMatchObject({ using: null, selected: null, refused: { kind: 'user-folder', dir: chosen } });
    expect(report.sources.find((s) => s.kind === 'system-package')).toMatchObject({ state: 'found', hint: 'The system package holds the dataset too, but is not used while the chosen folder cannot be used' });

    const error = await explainRefusedChoice(report.refused!);
    expect(error).toMatchObject({
      kind: 'dataset-missing',
      message: `The folder you chose, ${chosen}, cannot be used: t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz are missing. Atelier does not switch to another copy while this folder is chosen — add the missing files (.gz or decompressed), choose another folder, or forget the chosen folder (atelier dataset use --forget, or the Dataset view).`,
    });
  });

  it('refuses FASHION_MNIST_DIR when it holds a damaged file, even though the cache and the system package hold the data', async () => {
    await fillFolder(systemDir);
    await fillFolder(datasetCacheDir(home));
    await fillFolder(envDir);
    await writeFakeGz(envDir, DATASET_FILES[1]!, 1024); // its trailer records the wrong size: a cut-off copy
    const report = await describeSources(options({ chosenDir: null }));
    expect(report).toMatchObject({ using: null, selected: null, refused: { kind: 'env', dir: envDir } });
    const error = await explainRefusedChoice(report.refused!);
    expect(error.kind).toBe('dataset-corrupt');
    expect(error.message).toBe(
      `The folder FASHION_MNIST_DIR names, ${envDir}, cannot be used: train-labels-idx1-ubyte.gz is damaged (it does not decompress). Atelier does not switch to another copy while this folder is chosen — delete it or replace it with a good copy, point FASHION_MNIST_DIR at another folder, or unset FASHION_MNIST_DIR.`,
    );
  });

  it('skips a chosen folder that does not exist or holds none of the files, saying so in its status', async () => {
    await fillFolder(systemDir);
    await mkdir(envDir, { recursive: true });
    await writeFile(join(envDir, 'notes.txt'), 'unrelated');
    const report = await describeSources(options());
    expect(report).toMatchObject({ using: 'system-package', refused: null });
    expect(report.sources.slice(0, 2).map((s) => s.state)).toEqual(['missing', 'missing']);
    expect(report.sources[0]?.hint).toContain('does not exist');
    expect(report.sources[1]?.hint).toContain('holds none of the four files');
  });

  it('accepts decompressed files and mixes of both forms', async () => {
    const [trainImages, trainLabels, testImages, testLabels] = DATASET_FILES;
    await writeFakeRaw(chosen, trainImages!); // 47 MB, sparse
    await writeFakeRaw(chosen, trainLabels!);
    await writeFakeGz(chosen, testImages!);
    await writeFakeRaw(chosen, testLabels!);
    const found = await findDataset(options());
    expect(found?.kind).toBe('user-folder');
    expect(found?.files.map((f) => f.compressed)).toEqual([false, false, true, false]);
    expect(found?.files.map((f) => f.path)).toEqual([
      join(chosen, 'train-images-idx3-ubyte'),
      join(chosen, 'train-labels-idx1-ubyte'),
      join(chosen, 't10k-images-idx3-ubyte.gz'),
      join(chosen, 't10k-labels-idx1-ubyte'),
    ]);
  });

  it('treats truncated files as missing and says why, without decompressing anything', async () => {
    const [trainImages, trainLabels, testImages, testLabels] = DATASET_FILES;
    await writeFakeGz(chosen, trainImages!, 1024); // trailer records the wrong size: a cut-off download
    await writeFakeRaw(chosen, trainLabels!, 100);
    await writeFakeGz(chosen, testImages!);
    await mkdir(join(chosen, testLabels!.gzName)); // a folder where a file should be
    await writeFile(join(chosen, 'notes.txt'), 'unrelated');
    const inspection = await inspectFolder(chosen);
    expect(inspection.files.map((f) => f.file.name)).toEqual(['t10k-images-idx3-ubyte']);
    expect(inspection.missingFiles).toEqual(['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-labels-idx1-ubyte.gz']);
    expect(inspection.problems).toEqual([
      'train-images-idx3-ubyte.gz is truncated or damaged (its gzip trailer does not match)',
      'train-labels-idx1-ubyte is 100 bytes, expected 60,008',
    ]);
    const report = await describeSources(options());
    expect(report.sources[0]?.state).toBe('incomplete');
    expect(report.sources[0]?.hint).toContain('its gzip trailer does not match');
  });

  it('sees a file that is not gzip at all under a .gz name', async () => {
    await mkdir(chosen, { recursive: true });
    await writeFile(join(chosen, 'train-labels-idx1-ubyte.gz'), new Uint8Array(100));
    const inspection = await inspectFolder(chosen);
    expect(inspection.problems).toEqual(['train-labels-idx1-ubyte.gz is not a gzip file']);
  });

  it.skipIf(!HAVE_REAL_DATA)(needsRealData('finds the real system package'), async () => {
    const report = await describeSources({ home, systemDir: REAL_DIR, env: {} });
    expect(report.using).toBe('system-package');
    expect(report.sources.find((s) => s.kind === 'system-package')?.state).toBe('found');
  });
});

describe('sourceFromFolder', () => {
  it('returns a complete folder and refuses an incomplete one with dataset-missing', async () => {
    await fillFolder(chosen);
    expect((await sourceFromFolder(chosen)).files).toHaveLength(4);
    const error = await sourceFromFolder(envDir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtelierError);
    expect((error as AtelierError).kind).toBe('dataset-missing');
    expect((error as Error).message).toMatch(/does not hold Fashion-MNIST: the folder does not exist/);
  });
});

/**
 * The real files in `dir`, with t10k-labels (the smallest) broken: cut in half (truncated), or
 * one label changed and recompressed (the gzip is sound, so only the checksum can tell).
 */
async function writeBrokenCopy(dir: string, how: 'truncated' | 'flipped'): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const file of DATASET_FILES.slice(0, 3)) await symlink(join(REAL_DIR, file.gzName), join(dir, file.gzName));
  const labels = DATASET_FILES[3]!;
  const gz = await readFile(join(REAL_DIR, labels.gzName));
  if (how === 'truncated') {
    await writeFile(join(dir, labels.gzName), gz.subarray(0, Math.floor(gz.length / 2)));
  } else {
    const raw = gunzipSync(gz);
    raw[100] = raw[100] === 9 ? 8 : 9;
    await writeFile(join(dir, labels.gzName), gzipSync(raw));
  }
}

describe.skipIf(!HAVE_REAL_DATA)(needsRealData('a damaged file in a folder the person chose, through the dataset service'), () => {
  const WHY = {
    truncated: 't10k-labels-idx1-ubyte.gz is truncated (its compressed data ends early)',
    flipped: /t10k-labels-idx1-ubyte\.gz \(from .*\): SHA-256 of the decompressed data is [0-9a-f]{64}, expected 0402a96d.* the file is damaged or is not Fashion-MNIST's t10k-labels-idx1-ubyte/,
  } as const;
  const REMEDY = {
    'user-folder': 'delete it or replace it with a good copy, choose another folder, or forget the chosen folder (atelier dataset use --forget, or the Dataset view)',
    env: 'delete it or replace it with a good copy, point FASHION_MNIST_DIR at another folder, or unset FASHION_MNIST_DIR',
  } as const;

  for (const how of ['truncated', 'flipped'] as const) {
    for (const kind of ['user-folder', 'env'] as const) {
      it(`${how}, chosen as ${kind}: refused with the folder, the file, why and what to do; the good system package is not used instead`, async () => {
        const broken = join(root, `broken-${how}`);
        await writeBrokenCopy(broken, how);
        const env = kind === 'env' ? { FASHION_MNIST_DIR: broken } : {};
        const datasets = new DatasetService({ home, env, systemDir: REAL_DIR, mirrors: ['http://127.0.0.1:9/'] });
        if (kind === 'user-folder') {
          // Chosen while whole, damaged later (a chooser refuses a folder that is already truncated).
          await rm(join(broken, DATASET_FILES[3]!.gzName));
          await symlink(join(REAL_DIR, DATASET_FILES[3]!.gzName), join(broken, DATASET_FILES[3]!.gzName));
          await datasets.chooseFolder(broken);
          await rm(join(broken, DATASET_FILES[3]!.gzName));
          await writeBrokenCopy(join(root, 'scratch'), how);
          await rename(join(root, 'scratch', DATASET_FILES[3]!.gzName), join(broken, DATASET_FILES[3]!.gzName));
        }
        const error = await datasets.summary().then(
          () => null,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(AtelierError);
        const { kind: errorKind, message } = error as AtelierError;
        expect(errorKind).toBe('dataset-corrupt');
        expect(message).toContain(broken);
        if (how === 'truncated') expect(message).toContain(WHY.truncated);
        else expect(message).toMatch(WHY.flipped);
        expect(message).toContain(REMEDY[kind]);
        expect((await datasets.sources()).sources.find((s) => s.kind === 'system-package')?.state).toBe('found');
      });
    }
  }
});
