/**
 * The Dataset view in the browser shell, against the real Fashion-MNIST files: what a person sees
 * first, filtering and inspecting, scrolling all 60,000, and the three ways to get the data when
 * it is missing (a folder, the package, a download with progress and cancel).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Page } from '@playwright/test';
import { DATASET_FILES, datasetFile } from '../src-main/core/dataset/files';
import { CLASS_NAMES } from '../src-main/core/fashion-mnist';
import { closedPortUrl, startMirror } from '../src-main/core/dataset/test-mirror';
import { expect, startServer, stopServer, test, type AtelierServer, screenshot } from './fixtures';

const REAL_DIR = '/usr/share/datasets/fashion-mnist';
const HAVE_REAL_DATA = DATASET_FILES.every((file) => existsSync(join(REAL_DIR, file.gzName)));

/** The decompressed bytes of one file, read here independently of the app. */
function idx(split: 'train' | 'test', kind: 'images' | 'labels'): Uint8Array {
  const bytes = gunzipSync(readFileSync(join(REAL_DIR, datasetFile(split, kind).gzName)));
  return bytes.subarray(kind === 'images' ? 16 : 8);
}

/** The row of the per-class count table for one class ("Shirt" must not find "T-shirt/top"). */
const countRow = (page: Page, name: string) =>
  page.getByTestId('class-counts').getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });

const cell = (page: Page, position: number) => page.locator(`[data-testid="dataset-cell"][data-position="${position}"]`);

test.describe('Dataset view (browser shell, system package)', () => {
  test.skip(!HAVE_REAL_DATA, `${REAL_DIR} is absent (apt install dataset-fashion-mnist)`);

  test('opens on the tutorial’s first 25 training images, each named, with counts per class', async ({ page, server }) => {
    const labels = idx('train', 'labels');
    await page.goto(`${server.url}#/dataset`);
    await expect(page.getByRole('heading', { name: 'Dataset', exact: true })).toBeVisible();
    await expect(page.getByTestId('dataset-source')).toContainText('System package');
    await expect(page.getByTestId('dataset-source')).toContainText(REAL_DIR);
    await expect(page.getByTestId('dataset-showing')).toHaveText('60,000 training images');
    for (let position = 0; position < 25; position++) {
      const name = CLASS_NAMES[labels[position]!]!;
      await expect(cell(page, position).getByTestId('dataset-caption')).toHaveText(name);
      await expect(cell(page, position)).toHaveAttribute('data-index', String(position));
      await expect(cell(page, position)).toBeInViewport();
    }
    for (const name of CLASS_NAMES) await expect(countRow(page, name)).toContainText('6000');
    await expect(page.getByTestId('class-count-chart')).toBeVisible();
    await screenshot(page, 'dataset');

    // The other ways to get the data stay at hand.
    await page.getByRole('button', { name: 'Change source…' }).click();
    const panel = page.getByRole('region', { name: 'Where the dataset comes from' });
    await expect(panel.getByRole('button', { name: 'Download', exact: true })).toBeVisible();
    await expect(panel.getByTestId('apt-command')).toBeVisible();
    await panel.getByRole('button', { name: 'Done' }).click();
    await expect(panel).toBeHidden();
  });

  test('filter to "Bag", open one: its label is Bag and the pixel under the cursor is the file’s; arrows move on', async ({ page, server }) => {
    const labels = idx('train', 'labels');
    const images = idx('train', 'images');
    const bags = [...labels.keys()].filter((index) => labels[index] === 8);
    await page.goto(`${server.url}#/dataset`);
    await page.getByRole('group', { name: 'Class' }).getByRole('button', { name: 'Bag', exact: true }).click();
    await expect(page.getByTestId('dataset-showing')).toHaveText('6,000 training images of Bag');
    for (let position = 0; position < 12; position++) {
      await expect(cell(page, position).getByTestId('dataset-caption')).toHaveText('Bag');
      await expect(cell(page, position)).toHaveAttribute('data-index', String(bags[position]));
    }

    await cell(page, 0).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toBeVisible();
    await expect(dialog.getByTestId('inspector-label')).toHaveText('Bag');
    await expect(dialog.getByTestId('inspector-index')).toHaveText(`training image #${bags[0]!.toLocaleString('en-US')}`);

    // Point at pixel (x 14, y 10): 12 screen pixels per image pixel.
    const canvas = dialog.getByTestId('inspector-canvas');
    await canvas.hover({ position: { x: 14 * 12 + 6, y: 10 * 12 + 6 } });
    const expected = images[bags[0]! * 784 + 10 * 28 + 14]!;
    await expect(dialog.getByTestId('pixel-value')).toHaveText(String(expected));
    await expect(dialog).toContainText('Pixel x 14, y 10');
    await screenshot(page, 'dataset-inspector');

    await page.keyboard.press('ArrowRight');
    await expect(dialog.getByTestId('inspector-index')).toHaveText(`training image #${bags[1]!.toLocaleString('en-US')}`);
    await expect(dialog.getByTestId('inspector-label')).toHaveText('Bag');
    await page.keyboard.press('ArrowLeft');
    await expect(dialog.getByTestId('inspector-index')).toHaveText(`training image #${bags[0]!.toLocaleString('en-US')}`);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    // Back in the grid, on the image last shown; the keyboard carries on from there.
    await expect(cell(page, 1)).toHaveAttribute('aria-selected', 'true');
    await page.keyboard.press('ArrowRight');
    await expect(cell(page, 2)).toHaveAttribute('aria-selected', 'true');
    await page.keyboard.press('Enter');
    await expect(dialog.getByTestId('inspector-index')).toHaveText(`training image #${bags[2]!.toLocaleString('en-US')}`);
  });

  test('scrolls to the 60,000th image drawing only what is visible; the test split has 10,000', async ({ page, server }) => {
    const trainLabels = idx('train', 'labels');
    const testLabels = idx('test', 'labels');
    await page.goto(`${server.url}#/dataset`);
    const grid = page.getByTestId('dataset-grid');
    await expect(cell(page, 0)).toHaveAttribute('data-index', '0');

    await grid.evaluate((element) => element.scrollTo({ top: element.scrollHeight }));
    await expect(cell(page, 59_999)).toHaveAttribute('data-index', '59999');
    await expect(cell(page, 59_999).getByTestId('dataset-caption')).toHaveText(CLASS_NAMES[trainLabels[59_999]!]!);
    await expect(cell(page, 59_999)).toBeInViewport();
    expect(await page.getByTestId('dataset-cell').count()).toBeLessThan(200);

    await grid.evaluate((element) => element.scrollTo({ top: element.scrollHeight / 2 }));
    const firstDrawn = async (): Promise<number> => Number(await page.getByTestId('dataset-cell').first().getAttribute('data-position'));
    await expect.poll(firstDrawn).toBeGreaterThan(25_000);
    await expect.poll(firstDrawn).toBeLessThan(35_000);
    const middle = (await firstDrawn()) + 30; // a few rows down: on screen whatever the overscan
    await expect(cell(page, middle).getByTestId('dataset-caption')).toHaveText(CLASS_NAMES[trainLabels[middle]!]!);
    await expect(cell(page, middle)).toHaveAttribute('data-index', String(middle));

    // Keyboard: Home and End jump to the ends of the list.
    await grid.focus();
    await page.keyboard.press('Home');
    await expect(cell(page, 0)).toBeInViewport();
    await page.keyboard.press('End');
    await expect(cell(page, 59_999)).toHaveAttribute('aria-selected', 'true');

    await page.getByRole('group', { name: 'Split' }).getByRole('button', { name: /Test/ }).click();
    await expect(page.getByTestId('dataset-showing')).toHaveText('10,000 test images');
    await expect(cell(page, 0).getByTestId('dataset-caption')).toHaveText(CLASS_NAMES[testLabels[0]!]!);
    await expect(cell(page, 0)).toBeInViewport();
    await expect(countRow(page, 'Bag')).toContainText('1000');
  });
});

test.describe('Dataset view without the system package', () => {
  test.skip(!HAVE_REAL_DATA, `${REAL_DIR} is absent (apt install dataset-fashion-mnist); these tests copy it`);

  let temp: string;
  let copy: string;
  let empty: string;
  const servers: AtelierServer[] = [];

  /** A server that finds nothing unless told: no system package, no FASHION_MNIST_DIR. */
  const serve = async (env: NodeJS.ProcessEnv = {}): Promise<AtelierServer> => {
    const server = await startServer({ FASHION_MNIST_DIR: '', ATELIER_SYSTEM_DATASET_DIR: empty, ATELIER_DATASET_MIRRORS: '', ...env });
    servers.push(server);
    return server;
  };

  test.beforeAll(() => {
    temp = mkdtempSync(join(tmpdir(), 'atelier-e2e-dataset-'));
    copy = join(temp, 'copy');
    empty = join(temp, 'empty');
    mkdirSync(copy);
    mkdirSync(empty);
    for (const file of DATASET_FILES) copyFileSync(join(REAL_DIR, file.gzName), join(copy, file.gzName));
  });

  test.afterAll(async () => {
    for (const server of servers) await stopServer(server);
    rmSync(temp, { recursive: true, force: true });
  });

  test('shows the three ways to get the data; a folder typed in is checked, then used', async ({ page }) => {
    const server = await serve();
    await page.goto(`${server.url}#/system`);
    await page.getByTestId('get-dataset').click();
    await expect(page).toHaveURL(/#\/dataset$/);

    const missing = page.getByTestId('dataset-missing');
    await expect(missing.getByRole('heading', { name: 'Fashion-MNIST is not on this computer yet' })).toBeVisible();
    await expect(missing.getByLabel('Folder on the machine running Atelier')).toBeVisible();
    await expect(missing.getByTestId('apt-command')).toHaveText('sudo apt install dataset-fashion-mnist');
    await expect(missing.getByRole('button', { name: 'Download', exact: true })).toBeVisible();
    await expect(missing).toContainText(empty);
    await screenshot(page, 'dataset-missing');

    const path = missing.getByLabel('Folder on the machine running Atelier');
    await path.fill(empty);
    await missing.getByRole('button', { name: 'Use folder' }).click();
    await expect(missing.getByTestId('choose-error')).toContainText(empty);
    await expect(missing.getByTestId('choose-error')).toContainText('train-images-idx3-ubyte.gz');

    await path.fill(copy);
    await missing.getByRole('button', { name: 'Use folder' }).click();
    await expect(page.getByTestId('dataset-source')).toContainText('Folder you chose');
    await expect(page.getByTestId('dataset-source')).toContainText(copy);
    await expect(page.getByTestId('dataset-showing')).toHaveText('60,000 training images');
    await expect(cell(page, 24).getByTestId('dataset-caption')).not.toBeEmpty();

    // Remembered: a reload (or the CLI, or a restart) uses the same folder.
    await page.reload();
    await expect(page.getByTestId('dataset-source')).toContainText(copy);
    expect(JSON.parse(readFileSync(join(server.home, 'settings.json'), 'utf8'))).toEqual({ datasetDir: copy });
  });

  test('download: a live progress bar with bytes, percent and speed, cancel, then the cache fills the view', async ({ page }) => {
    const mirror = await startMirror(REAL_DIR, { bytesPerSecond: 6_000_000 });
    try {
      const server = await serve({ ATELIER_DATASET_MIRRORS: mirror.url });
      await page.goto(`${server.url}#/dataset`);
      const missing = page.getByTestId('dataset-missing');
      await missing.getByRole('button', { name: 'Download', exact: true }).click();
      const progress = missing.getByTestId('download-progress');
      await expect(progress).toContainText(/\d+%/);
      await expect(progress).toContainText(/train-images-idx3-ubyte\.gz \(1 of 4\) · [\d.]+ [KM]B of 25\.2 MB · [\d.]+ [KM]B\/s/);
      await screenshot(page, 'dataset-download');
      await progress.getByRole('button', { name: 'Cancel' }).click();
      await expect(missing.getByRole('status')).toHaveText('Download cancelled; nothing was changed.');

      await missing.getByRole('button', { name: 'Download', exact: true }).click();
      await expect(page.getByTestId('dataset-source')).toContainText('Atelier cache', { timeout: 60_000 });
      await expect(page.getByTestId('dataset-source')).toContainText(join(server.home, 'datasets', 'fashion-mnist'));
      await expect(cell(page, 0).getByTestId('dataset-caption')).toHaveText(CLASS_NAMES[idx('train', 'labels')[0]!]!);
    } finally {
      await mirror.close();
    }
  });

  test('offline: the download says no mirror could be reached and what else to do', async ({ page }) => {
    const server = await serve({ ATELIER_DATASET_MIRRORS: await closedPortUrl() });
    await page.goto(`${server.url}#/dataset`);
    const missing = page.getByTestId('dataset-missing');
    await missing.getByRole('button', { name: 'Download', exact: true }).click();
    const error = missing.getByTestId('download-error');
    await expect(error).toContainText('no mirror could be reached');
    await expect(error).toContainText('apt install dataset-fashion-mnist');
    await expect(missing.getByRole('button', { name: 'Download', exact: true })).toBeEnabled();
  });

  test('FASHION_MNIST_DIR pointing at a copy fills the view at once; a damaged copy is named', async ({ page }) => {
    const good = await serve({ FASHION_MNIST_DIR: copy });
    await page.goto(`${good.url}#/dataset`);
    await expect(page.getByTestId('dataset-source')).toContainText('FASHION_MNIST_DIR');
    await expect(cell(page, 0)).toHaveAttribute('data-index', '0');

    const damaged = join(temp, 'damaged');
    mkdirSync(damaged);
    const bad = datasetFile('test', 'labels');
    for (const file of DATASET_FILES) if (file !== bad) symlinkSync(join(copy, file.gzName), join(damaged, file.gzName));
    const labels = gunzipSync(readFileSync(join(copy, bad.gzName)));
    labels[8 + 3] = (labels[8 + 3]! + 1) % 10;
    writeFileSync(join(damaged, bad.gzName), gzipSync(labels));

    const broken = await serve({ FASHION_MNIST_DIR: damaged });
    await page.goto(`${broken.url}#/dataset`);
    await expect(page.getByRole('heading', { name: 'The Fashion-MNIST files cannot be used' })).toBeVisible();
    await expect(page.getByTestId('dataset-error')).toContainText(bad.gzName);
    await expect(page.getByTestId('dataset-error')).toContainText('SHA-256');
    await screenshot(page, 'dataset-corrupt');
  });
});
