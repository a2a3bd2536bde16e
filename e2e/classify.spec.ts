/**
 * Classify in the browser shell: photos dropped anywhere on the window (built in the page as a
 * DataTransfer of Files, the way a drag from the file manager arrives), a corrupt file among
 * them, the Open… button, a selection big enough to be sent in several calls, and the no-model
 * path before anything is trained. The photos are the repository's (src-main/core/photos/test-photos).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from '@playwright/test';
import sharp from 'sharp';
import { readCsv } from '../src-main/core/photos/csv-test-reader';
import { ROOT, expect, test, testPhoto, type AtelierServer, screenshot } from './fixtures';

const run = promisify(execFile);

function atelier(server: AtelierServer, args: string[]) {
  return run(process.execPath, [join(ROOT, 'bin/atelier.js'), ...args], { cwd: ROOT, env: { ...process.env, ATELIER_HOME: server.home }, maxBuffer: 1 << 22 });
}

interface DroppedFile {
  name: string;
  type: string;
  base64: string;
}

/** One of the repository's test photos (the same files on every machine). */
function photo(folder: string, index = 0): DroppedFile {
  const path = testPhoto(folder, index);
  return { name: `${folder}-${basename(path)}`, type: 'image/jpeg', base64: readFileSync(path).toString('base64') };
}

/** Half a JPEG: a real header, then nothing — the classic interrupted download. */
function truncated(): DroppedFile {
  const bytes = readFileSync(testPhoto('dress'));
  return { name: 'half-downloaded.jpg', type: 'image/jpeg', base64: bytes.subarray(0, 4000).toString('base64') };
}

/** Drag files over the window and drop them on the body, as a file manager would. */
async function dropFiles(page: Page, files: DroppedFile[]): Promise<void> {
  // Runs in the page (this file is type-checked without the DOM library, hence the loose types).
  const transfer = await page.evaluateHandle((list) => {
    const page = globalThis as unknown as { DataTransfer: new () => { items: { add(file: unknown): void } } };
    const data = new page.DataTransfer();
    for (const file of list) {
      const bytes = Uint8Array.from(atob(file.base64), (char) => char.charCodeAt(0));
      data.items.add(new File([bytes], file.name, { type: file.type }));
    }
    return data;
  }, files);
  await page.dispatchEvent('body', 'dragenter', { dataTransfer: transfer });
  await page.dispatchEvent('body', 'dragover', { dataTransfer: transfer });
  await expect(page.getByTestId('drop-overlay')).toBeVisible();
  await expect(page.getByTestId('drop-overlay')).toContainText('Drop photos to classify');
  await page.dispatchEvent('body', 'drop', { dataTransfer: transfer });
  await expect(page.getByTestId('drop-overlay')).toHaveCount(0);
}

test.describe.serial('Classify your own photos (browser shell)', () => {
  test('before any model: the view says to train one, and a drop says why nothing was classified', async ({ page, server }) => {
    await page.goto(`${server.url}#/classify`);
    await expect(page.getByTestId('no-model')).toContainText('Train one');
    await expect(page.getByTestId('classify-empty')).toContainText('Drop clothing photos anywhere on this window');
    await dropFiles(page, [photo('shoes')]);
    await expect(page.getByTestId('classify-error')).toContainText('No model is chosen');
    await expect(page.getByTestId('photo-card')).toHaveCount(0);
  });

  test('two real photos and a corrupt file dropped on another view: two predictions and one error card', async ({ page, server }) => {
    test.setTimeout(180_000);
    await atelier(server, ['train', '--preset', 'tutorial-mlp', '--epochs', '1', '--limit', '3000']);
    await page.setViewportSize({ width: 1280, height: 820 });
    await page.goto(`${server.url}#/models`);
    await expect(page.getByTestId('run-row')).toHaveCount(1);

    await dropFiles(page, [photo('pants'), truncated(), photo('shoes')]);
    // The drop switches to Classify wherever it happened.
    await expect(page).toHaveURL(/#\/classify$/);
    await expect(page.getByTestId('photo-card')).toHaveCount(2);
    await expect(page.getByTestId('photo-error')).toHaveCount(1);
    const error = page.getByTestId('photo-error');
    await expect(error).toHaveAttribute('data-kind', 'photo-corrupt');
    await expect(error).toContainText('half-downloaded.jpg');
    await expect(error.getByTestId('photo-error-message')).toContainText('damaged or cut short');
    await expect(page.getByTestId('classify-summary')).toHaveText('3 photos · 2 classified · 1 could not be used');
    await expect(page.getByTestId('classify-model')).toContainText('Classifying with');

    // Each card: the three pictures, a class from the ten, a percentage, the bar chart.
    for (const card of await page.getByTestId('photo-card').all()) {
      await expect(card.locator('img')).toHaveCount(3);
      for (const img of await card.locator('img').all()) {
        await expect(img).toHaveJSProperty('complete', true);
        expect(await img.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
      }
      const className = await card.getByTestId('photo-class').textContent();
      expect(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']).toContain(className?.trim());
      await expect(card.getByTestId('photo-confidence')).toHaveText(/^\d{1,3}%$/);
      await expect(card.getByRole('img', { name: /^Probabilities:/ })).toBeVisible();
    }
    await screenshot(page, 'classify');

    // Open… (the browser's file input) adds cards on top, and the app still answers.
    const shoe = photo('shoes', 1);
    await page.getByTestId('photo-file-input').setInputFiles([{ name: shoe.name, mimeType: shoe.type, buffer: Buffer.from(shoe.base64, 'base64') }]);
    await expect(page.getByTestId('photo-card')).toHaveCount(3);
    await expect(page.getByTestId('photo-grid').locator('article').first()).toHaveAttribute('aria-label', new RegExp(`^${shoe.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`));
  });

  test('Save as CSV downloads the header and one row per card, in the order shown, the unusable file with its error', async ({ page, server }) => {
    test.setTimeout(120_000);
    await page.goto(`${server.url}#/classify`);
    const save = page.getByTestId('classify-save-csv');
    await expect(save).toBeDisabled();

    // The model trained in the previous test answers. A comma and quotes in one name, a formula in another.
    const pants = { ...photo('pants'), name: 'pants, "front".jpg' };
    const formula = { ...photo('shoes'), name: '=1+1.jpg' };
    await dropFiles(page, [pants, truncated(), formula]);
    await expect(page.getByTestId('photo-card')).toHaveCount(2);
    await expect(page.getByTestId('photo-error')).toHaveCount(1);
    const shown = await page.getByTestId('photo-grid').locator('article').evaluateAll((cards) => cards.map((card) => (card.getAttribute('aria-label') ?? '').split(':')[0]));
    expect(shown).toEqual(['pants, "front".jpg', 'half-downloaded.jpg', '=1+1.jpg']);

    // From the keyboard: the button is focusable and Enter saves.
    await save.focus();
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    expect(download.suggestedFilename()).toMatch(/^atelier-classify-\d{4}-\d{2}-\d{2}-\d{4}\.csv$/);
    const rows = readCsv(readFileSync(await download.path(), 'utf8'));
    const classNames = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
    expect(rows[0]).toEqual(['file', 'class', 'confidence', 'not sure', ...classNames, 'error']);
    expect(rows).toHaveLength(1 + 3);
    // The browser never learns paths: the file is the name as dropped; a formula gets an apostrophe.
    expect(rows.slice(1).map((row) => row[0])).toEqual(['pants, "front".jpg', 'half-downloaded.jpg', "'=1+1.jpg"]);
    const cardClasses = (await page.getByTestId('photo-class').allTextContents()).map((text) => text.trim());
    expect([rows[1]![1], rows[3]![1]]).toEqual(cardClasses);
    for (const row of [rows[1]!, rows[3]!]) {
      expect(row[2]).toMatch(/^[01]\.\d{6}$/);
      expect(['true', 'false']).toContain(row[3]);
      expect(row[14]).toBe('');
    }
    expect(rows[2]!.slice(1, 14).every((field) => field === '')).toBe(true);
    expect(rows[2]![14]).toMatch(/^photo-corrupt: .*half-downloaded\.jpg.*damaged or cut short/);

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect(save).toBeDisabled();
  });

  test('250 photos opened at once (sent as three calls) appear in the order they were chosen', async ({ page, server }) => {
    test.setTimeout(180_000);
    // Small generated photos, a dark garment on a light floor, each a little different; the
    // model from the previous test classifies them.
    const files = await Promise.all(Array.from({ length: 250 }, async (_, i) => {
      const width = 48 + (i % 7);
      const garment = await sharp({ create: { width: 20, height: 28 + (i % 5), channels: 3, background: { r: 40 + (i % 50), g: 40, b: 90 } } }).png().toBuffer();
      const buffer = await sharp({ create: { width, height: 64, channels: 3, background: { r: 215, g: 205, b: 190 } } })
        .composite([{ input: garment, left: 14, top: 16 }])
        .png()
        .toBuffer();
      return { name: `photo-${String(i + 1).padStart(3, '0')}.png`, mimeType: 'image/png', buffer };
    }));
    await page.goto(`${server.url}#/classify`);
    await page.getByTestId('photo-file-input').setInputFiles(files);
    await expect(page.getByTestId('photo-card')).toHaveCount(250, { timeout: 150_000 });
    const labels = await page.getByTestId('photo-grid').locator('article').evaluateAll((cards) => cards.map((card) => card.getAttribute('aria-label') ?? ''));
    expect(labels.map((label) => label.split(':')[0])).toEqual(files.map((file) => file.name));
  });

  test('the Train view offers the photo-robust preset next to the others', async ({ page, server }) => {
    await page.goto(`${server.url}#/train`);
    const option = page.getByTestId('preset-photo-robust');
    await expect(option).toContainText('Photo-robust CNN');
    await expect(option).toContainText(/photos/);
    await expect(option).toContainText(/\d[\d,]* parameters/);
    await option.click();
    await expect(option.locator('input')).toBeChecked();
    await screenshot(page, 'train-photo-robust');
  });
});
