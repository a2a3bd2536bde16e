/**
 * Classify's live camera and "Why?" in the browser shell, with Chromium's fake camera
 * (--use-fake-device-for-media-stream: two cameras showing an animated test pattern;
 * --use-fake-ui-for-media-stream: the permission prompt answered yes). Before a model: the preview runs and says why no answer
 * comes, and the picker switches between two cameras. After a model: answers arrive, Why? draws the
 * heatmap live, Capture makes a normal card that can go to My photos. A refused camera gets a message and nothing else breaks. Evaluate's grid
 * explains a test image too.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import config from '../playwright.config';
import { ROOT, expect, screenshot, test, type AtelierServer } from './fixtures';

const run = promisify(execFile);

function atelier(server: AtelierServer, args: string[]) {
  return run(process.execPath, [join(ROOT, 'bin/atelier.js'), ...args], { cwd: ROOT, env: { ...process.env, ATELIER_HOME: server.home }, maxBuffer: 1 << 22 });
}

// This file's browser only: the project's launch options plus the fake camera.
const launchOptions = config.use?.launchOptions ?? {};
test.use({ launchOptions: { ...launchOptions, args: [...(launchOptions.args ?? []), '--use-fake-device-for-media-stream=device-count=2', '--use-fake-ui-for-media-stream'] } });

test.describe.serial('The live camera and Why? (browser shell, fake camera)', () => {
  test('before any model: the preview runs, and the panel says why no answer comes', async ({ page, server }) => {
    await page.goto(`${server.url}#/classify`);
    await page.getByTestId('camera-open').click();
    const panel = page.getByTestId('camera-panel');
    await expect(panel).toHaveAttribute('data-status', 'live');
    const preview = page.getByTestId('camera-preview');
    await expect.poll(() => preview.evaluate((video) => (video as unknown as { videoWidth: number; readyState: number }).readyState)).toBeGreaterThanOrEqual(2);
    expect(await preview.evaluate((video) => (video as unknown as { videoWidth: number }).videoWidth)).toBeGreaterThan(0);
    await expect(page.getByTestId('camera-answer-error')).toContainText('No model is chosen');
    await expect(page.getByTestId('camera-capture')).toBeDisabled();
    // Two fake cameras: the picker offers both, and switching keeps the preview running.
    const picker = page.getByTestId('camera-picker');
    await expect(picker.locator('option')).toHaveCount(2);
    const second = await picker.locator('option').nth(1).getAttribute('value');
    await picker.selectOption(second!);
    await expect(panel).toHaveAttribute('data-status', 'live');
    await expect(picker).toHaveValue(second!);
    await expect.poll(() => preview.evaluate((video) => (video as unknown as { readyState: number }).readyState)).toBeGreaterThanOrEqual(2);
    await panel.focus();
    // Escape closes the camera and gives the focus back to its button.
    await expect(panel).toBeFocused();
    await page.keyboard.press('Escape');
    await expect(panel).toHaveCount(0);
    await expect(page.getByTestId('camera-open')).toBeFocused();
  });

  test('answers arrive live, Why? draws the heatmap, Capture makes a card that can go to My photos', async ({ page, server }) => {
    test.setTimeout(240_000);
    await atelier(server, ['train', '--preset', 'tutorial-mlp', '--epochs', '1', '--limit', '3000']);
    await page.goto(`${server.url}#/classify`);
    await page.getByTestId('camera-open').click();
    const panel = page.getByTestId('camera-panel');
    const live = page.getByTestId('camera-answer');
    await expect(live).toBeVisible({ timeout: 30_000 });
    await expect(live.locator('img')).toHaveCount(3);
    await expect(live.getByRole('img', { name: /^Probabilities:/ })).toBeVisible();
    await expect(live.getByTestId('photo-class')).toHaveText(/^(T-shirt\/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot)$/);

    // Answers keep coming (the fake camera's pattern moves), one frame at a time.
    const answers = async () => Number(await panel.getAttribute('data-answers'));
    const first = await answers();
    await expect.poll(answers, { timeout: 30_000 }).toBeGreaterThanOrEqual(first + 5);
    await expect(page.getByTestId('camera-rate')).toHaveText(/^\d+\.\d answers a second$/);
    console.log(`camera: ${await page.getByTestId('camera-rate').textContent()} (fake camera, wasm)`);

    // Why? on the live answer: frames now come with their heatmap, over the photo and the input.
    await live.getByTestId('why-toggle').click();
    await expect(live.getByTestId('why-toggle')).toHaveAttribute('aria-pressed', 'true');
    await expect(live.getByTestId('why-overlay')).toHaveCount(2, { timeout: 30_000 });
    await expect(live.getByTestId('why-note')).toContainText('4×4 black patch');
    const withWhy = await answers();
    await expect.poll(answers, { timeout: 30_000 }).toBeGreaterThanOrEqual(withWhy + 3);
    console.log(`camera with Why?: ${await page.getByTestId('camera-rate').textContent()}`);
    await screenshot(page, 'camera');

    await page.getByTestId('camera-capture').click();
    await expect(page.getByTestId('camera-captured')).toContainText('Captured as camera-');
    const card = page.getByTestId('photo-card');
    await expect(card).toHaveCount(1);
    await expect(card).toHaveAttribute('aria-label', /^camera-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.jpg: /);
    await expect(card.locator('img')).toHaveCount(3);
    // The captured frame came with its heatmap: Why? shows it at once.
    await card.getByTestId('why-toggle').click();
    await expect(card.getByTestId('why-overlay')).toHaveCount(2);
    await card.getByTestId('why-toggle').click();
    await expect(card.getByTestId('why-overlay')).toHaveCount(0);

    // Into My photos like any other card.
    await card.getByTestId('answer-right').click();
    await expect(card.getByTestId('kept-answer')).toContainText('In My photos as');
    const { stdout } = await atelier(server, ['photos', 'list', '--json']);
    const listing = JSON.parse(stdout) as { photos: { name: string }[] };
    expect(listing.photos.map((photo) => photo.name)).toEqual([expect.stringMatching(/^camera-.*\.jpg$/)]);

    await page.getByTestId('camera-close').click();
    await expect(panel).toHaveCount(0);
    await expect(card).toHaveCount(1);
  });

  test('a card that came without a heatmap asks for one: Why? calls the model and draws over photo and input', async ({ page, server }) => {
    await page.goto(`${server.url}#/classify`);
    await page.getByTestId('camera-open').click();
    await expect(page.getByTestId('camera-answer')).toBeVisible({ timeout: 30_000 });
    await page.getByTestId('camera-capture').click();
    await page.getByTestId('camera-close').click();
    const card = page.getByTestId('photo-card').first();
    // The live Why? was off: this card's heatmap is computed when asked.
    await card.getByTestId('why-toggle').click();
    await expect(card.getByTestId('why-overlay')).toHaveCount(2, { timeout: 30_000 });
    await expect(card.getByTestId('why-note')).toContainText('what raised');
  });

  test('Evaluate’s prediction grid: Why? lays the heatmap over a test image', async ({ page, server }) => {
    await page.goto(`${server.url}#/evaluate`);
    const cell = page.getByTestId('prediction-grid').getByTestId('sample-cell').first();
    await expect(cell).toBeVisible({ timeout: 60_000 });
    await expect(cell.getByTestId('why-overlay')).toHaveCount(0);
    await cell.getByTestId('why-toggle').focus();
    await page.keyboard.press('Enter');
    await expect(cell.getByTestId('why-toggle')).toHaveAttribute('aria-pressed', 'true');
    await expect(cell.getByTestId('why-overlay')).toHaveCount(1, { timeout: 30_000 });
    // Some of the image raised the answer: the overlay is not blank.
    const painted = await cell.getByTestId('why-overlay').evaluate((canvas) => {
      const element = canvas as unknown as { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
      const data = element.getContext('2d').getImageData(0, 0, element.width, element.height).data;
      let opaque = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) opaque += 1;
      return opaque;
    });
    expect(painted).toBeGreaterThan(0);
  });

  test('a camera the browser refuses: a clear message, and the rest of Classify still works', async ({ page, server }) => {
    await page.addInitScript(() => {
      const devices = (globalThis as unknown as { navigator: { mediaDevices: { getUserMedia: () => Promise<never> } } }).navigator.mediaDevices;
      devices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    });
    await page.goto(`${server.url}#/classify`);
    await page.getByTestId('camera-open').click();
    await expect(page.getByTestId('camera-failure')).toContainText('Camera access was refused');
    await expect(page.getByTestId('camera-preview')).toBeHidden();
    await expect(page.getByTestId('camera-capture')).toBeDisabled();
    await page.getByTestId('camera-close').click();
    await expect(page.getByTestId('camera-panel')).toHaveCount(0);
    await expect(page.getByTestId('photo-open')).toBeEnabled();
    await expect(page.getByTestId('classify-model')).toContainText('Classifying with');
  });
});
