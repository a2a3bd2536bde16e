import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Page } from '@playwright/test';
import { ROOT, expect, test, type AtelierServer, screenshot as saveScreenshot } from './fixtures';

const screenshot = (page: Page, name: string): Promise<void> => saveScreenshot(page, name, { fitContent: true });

const run = promisify(execFile);

async function points(page: Page, testid: string): Promise<number> {
  return Number(await page.getByTestId(testid).getAttribute('data-points'));
}

/** The form with the tutorial's model, 1 epoch, on the first `limit` images ('' = all). */
async function fillForm(page: Page, limit: string, validationSplit = '0'): Promise<void> {
  await page.getByTestId('preset-tutorial-mlp').click();
  await page.getByTestId('field-epochs').fill('1');
  await page.getByTestId('field-validationSplit').fill(validationSplit);
  const advanced = page.getByText('Advanced', { exact: true });
  if (!(await page.getByTestId('field-trainLimit').isVisible())) await advanced.click();
  await page.getByTestId('field-trainLimit').fill(limit);
}

/** A second WebSocket client on the same core (another window), opened ahead so its call goes out at once. */
async function anotherClient(page: Page, server: AtelierServer): Promise<{ start: () => Promise<{ ok: boolean; error?: { kind: string; message: string } }> }> {
  const handle = await page.evaluateHandle(async ({ origin, token }) => {
    const socket = new WebSocket(`${origin.replace('http', 'ws')}/ws?token=${token}`);
    await new Promise((resolve) => (socket.onopen = resolve));
    return socket;
  }, { origin: server.origin, token: server.token });
  const config = { preset: 'tutorial-mlp', epochs: 1, batchSize: 32, learningRate: 0.001, hiddenUnits: 128, validationSplit: 0, seed: 2, trainLimit: null };
  return {
    start: () =>
      handle.evaluate((socket, input) => {
        const reply = new Promise<{ ok: boolean; error?: { kind: string; message: string } }>((resolve) => {
          socket.onmessage = (event) => {
            const message = JSON.parse(String(event.data));
            if (message.type === 'result' && message.id === 1) resolve(message.result);
          };
        });
        socket.send(JSON.stringify({ type: 'call', id: 1, channel: 'training.start', input }));
        return reply;
      }, config),
  };
}

// The steps share one server (and so its runs): they run in order.
test.describe.serial('Train, Evaluate and Models (browser shell)', () => {
  test('invalid settings are explained next to the field before anything starts', async ({ page, server }) => {
    await page.goto(`${server.url}#/train`);
    await expect(page.getByTestId('train-backend')).toHaveText('wasm');
    await expect(page.getByTestId('preset-tutorial-mlp')).toContainText('101,770 parameters');
    await page.getByTestId('field-epochs').fill('0');
    await expect(page.getByTestId('error-epochs')).toHaveText('Epochs must be at least 1.');
    await expect(page.getByTestId('field-epochs')).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByTestId('start')).toBeDisabled();
    await page.getByText('Advanced', { exact: true }).click();
    await page.getByTestId('field-trainLimit').fill('50');
    await expect(page.getByTestId('error-trainLimit')).toHaveText('Use at least 100 training images.');
    await page.getByTestId('field-epochs').fill('1');
    await page.getByTestId('field-trainLimit').fill('2000');
    await expect(page.getByTestId('start')).toBeEnabled();
    // Nothing was started.
    await page.getByRole('button', { name: /Models/ }).click();
    await expect(page.getByTestId('models-empty')).toContainText('No runs yet');
  });

  test('trains 1 epoch on 2,000 images with live charts, then shows the tutorial figure in Evaluate', async ({ page, server }) => {
    await page.goto(`${server.url}#/train`);
    await fillForm(page, '2000', '0.1');
    await page.getByTestId('start').click();

    const result = page.getByTestId('train-result');
    await expect(result).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
    await expect(page.getByTestId('result-accuracy')).toHaveText(/^\d+\.\d%$/);
    // Running points within the epoch plus the epoch's own point, and a validation point for 0.1.
    expect(await points(page, 'chart-loss')).toBeGreaterThanOrEqual(3);
    expect(await points(page, 'chart-accuracy')).toBeGreaterThanOrEqual(3);
    const runId = (await page.getByTestId('live-run').getAttribute('data-run-id'))!;
    // Runs are named after the model and numbered in the data folder, so two of the same minute differ.
    await expect(page.getByTestId('live-run')).toHaveText('Tutorial MLP #1');
    await screenshot(page, 'train');

    // The finished run stays when you look elsewhere and come back, and after a reload (read from disk).
    const lossPoints = await points(page, 'chart-loss');
    await page.getByRole('button', { name: /Dataset/ }).click();
    await expect(page.getByTestId('train-result')).toHaveCount(0);
    await page.getByRole('button', { name: /Train/ }).click();
    await expect(result).toHaveAttribute('data-status', 'completed');
    await expect(page.getByTestId('live-run')).toHaveAttribute('data-run-id', runId);
    expect(await points(page, 'chart-loss')).toBe(lossPoints);
    await page.reload();
    await expect(result).toHaveAttribute('data-status', 'completed');
    await expect(page.getByTestId('live-run')).toHaveText('Tutorial MLP #1');
    // Per-epoch points (loss, validation loss) are on disk; the within-epoch curve was only live.
    await expect.poll(() => points(page, 'chart-loss')).toBeGreaterThanOrEqual(2);

    // Evaluate: scores, heatmap, per-class table, the tutorial's grid.
    await page.getByTestId('open-evaluate').click();
    await expect(page).toHaveURL(new RegExp(`#/evaluate/${runId}$`));
    await expect(page.getByTestId('test-accuracy')).toHaveText(/^\d+\.\d\d%$/);
    await expect(page.getByTestId('heatmap').locator('button')).toHaveCount(100);
    await expect(page.getByTestId('per-class').locator('tbody tr')).toHaveCount(10);
    const cells = page.getByTestId('prediction-grid').getByTestId('sample-cell');
    await expect(cells).toHaveCount(15);
    await expect(page.getByTestId('grid-range')).toHaveText('1–15 of 10,000');

    const blue = 'rgb(79, 143, 247)';
    const red = 'rgb(239, 68, 68)';
    const right = page.locator('[data-testid="sample-cell"][data-correct="true"] [data-testid="sample-caption"]');
    await expect(right.first()).toHaveCSS('color', blue);
    await expect(right.first()).toHaveText(/^.+ \d+% \(.+\)/);
    // About 75% right after so little training: the first 15 have mistakes; the filter guarantees red.
    if ((await page.locator('[data-correct="false"]').count()) === 0) await page.getByTestId('filter-mistakes').click();
    const wrong = page.locator('[data-testid="sample-cell"][data-correct="false"] [data-testid="sample-caption"]');
    await expect(wrong.first()).toHaveCSS('color', red);
    await screenshot(page, 'evaluate');

    await page.getByTestId('filter-mistakes').click();
    await expect(page.locator('[data-testid="prediction-grid"] [data-correct="true"]')).toHaveCount(0);
    await expect(page.locator('[data-testid="prediction-grid"] [data-correct="false"]')).toHaveCount(15);

    // A confusion cell lists exactly its images: choose the biggest mistake cell with the keyboard.
    const mistakes = await page.getByTestId('heatmap').locator('button').evaluateAll((buttons) =>
      buttons
        .map((button) => ({ row: Number(button.dataset.row), column: Number(button.dataset.column), count: Number(button.dataset.count) }))
        .filter((cell) => cell.row !== cell.column)
        .sort((a, b) => b.count - a.count),
    );
    const biggest = mistakes[0]!;
    await page.getByTestId('cell-0-0').focus();
    for (let step = 0; step < biggest.row; step++) await page.keyboard.press('ArrowDown');
    for (let step = 0; step < biggest.column; step++) await page.keyboard.press('ArrowRight');
    await expect(page.getByTestId(`cell-${biggest.row}-${biggest.column}`)).toBeFocused();
    await page.keyboard.press('Enter');
    const cellImages = page.getByTestId('cell-images').getByTestId('sample-cell');
    await expect(cellImages).toHaveCount(Math.min(24, biggest.count));
    await expect(page.getByTestId('cell-images').locator('[data-correct="true"]')).toHaveCount(0);

    // Models lists the run, active because it is the first with a model.
    await page.getByRole('button', { name: /Models/ }).click();
    const row = page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
    await expect(row.getByTestId('run-status')).toHaveText('completed');
    await expect(row.getByTestId('run-accuracy')).toHaveText(/^\d+\.\d%$/);
    await expect(row.getByTestId('run-active')).toBeChecked();
    await expect(row.getByTestId('run-name')).toHaveText('Tutorial MLP #1');
    await expect(row.getByTestId('run-epochs')).toHaveText('1/1');
    // One date format, with seconds, in Models and in Evaluate's run picker.
    const started = (await row.getByTestId('run-date').textContent())!;
    expect(started).toMatch(/\d{1,2}:\d{2}:\d{2}/);
    await row.getByRole('button', { name: 'Evaluate' }).click();
    await expect(page.getByTestId('evaluate-run').locator('option:checked')).toContainText(`Tutorial MLP #1, ${started}`);
  });

  test('one training at a time: a second start gets a clear answer; another window follows live; Esc stops within a batch', async ({ page, context, server }) => {
    const watcher = await context.newPage();
    await watcher.goto(`${server.url}#/train`);
    await expect(watcher.getByTestId('start')).toBeEnabled();

    await page.goto(`${server.url}#/train`);
    await fillForm(page, '');
    await page.getByTestId('start').click();
    await expect(page.getByTestId('progress')).toBeVisible();

    // A second start from another client of the same core is refused, saying why and what to do.
    const answer = await (await anotherClient(page, server)).start();
    expect(answer).toMatchObject({ ok: false, error: { kind: 'busy', message: expect.stringContaining('A training is already running') } });

    // The other window follows the run live: progress, a chart that keeps getting points, and why it cannot start another.
    await expect(watcher.getByTestId('busy-note')).toContainText('One training at a time');
    await expect(watcher.getByTestId('start')).toBeDisabled();
    await expect(watcher.getByTestId('progress')).toContainText('samples/s');
    await expect.poll(() => points(watcher, 'chart-loss'), { timeout: 30_000 }).toBeGreaterThan(0);
    const before = await points(watcher, 'chart-loss');
    await expect.poll(() => points(watcher, 'chart-loss'), { timeout: 30_000 }).toBeGreaterThan(before);
    await expect(watcher.getByRole('progressbar')).toHaveAttribute('aria-valuenow', /\d+/);
    await screenshot(watcher, 'train-live');

    await watcher.keyboard.press('Escape');
    for (const tab of [watcher, page]) {
      await expect(tab.getByTestId('train-result')).toHaveAttribute('data-status', 'stopped', { timeout: 30_000 });
      await expect(tab.getByTestId('train-result')).toContainText('before the first epoch ended');
      await expect(tab.getByTestId('start')).toBeEnabled();
    }

    // The stopped run is kept, without a model.
    await page.getByRole('button', { name: /Models/ }).click();
    const stopped = page.locator('[data-testid="run-row"]').filter({ has: page.locator('[data-testid="run-status"]', { hasText: 'stopped' }) });
    await expect(stopped).toHaveCount(1);
    await expect(stopped.getByTestId('run-active')).toBeDisabled();
  });

  test('a run trained by the CLI in the same data folder appears in Models; runs compare and delete', async ({ page, server }) => {
    await page.goto(`${server.url}#/models`);
    await expect(page.getByTestId('run-row')).toHaveCount(2);

    const { stdout } = await run(process.execPath, [join(ROOT, 'bin/atelier.js'), 'train', '--epochs', '1', '--limit', '1000', '--json'], {
      cwd: ROOT,
      env: { ...process.env, ATELIER_HOME: server.home },
    });
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; runId?: string; status?: string });
    const result = lines.find((line) => line.type === 'result')!;
    expect(result.status).toBe('completed');

    await page.getByTestId('models-refresh').click();
    const cliRow = page.locator(`[data-testid="run-row"][data-run-id="${result.runId}"]`);
    await expect(cliRow.getByTestId('run-status')).toHaveText('completed');
    await expect(page.getByTestId('run-row')).toHaveCount(3);

    // Overlay the two completed runs' curves.
    const completed = page.locator('[data-testid="run-row"]').filter({ has: page.locator('[data-testid="run-status"]', { hasText: 'completed' }) });
    await completed.nth(0).getByTestId('run-compare').check();
    await completed.nth(1).getByTestId('run-compare').check();
    await page.getByTestId('compare-open').click();
    await expect.poll(() => points(page, 'compare-loss')).toBeGreaterThanOrEqual(2);
    await screenshot(page, 'models');

    // The CLI's run can become the active model, and can be deleted after a confirmation.
    await cliRow.getByTestId('run-active').check();
    await expect(cliRow.getByTestId('run-active')).toBeChecked();
    await cliRow.getByTestId('run-delete').click();
    await cliRow.getByTestId('run-delete-confirm').click();
    await expect(page.getByTestId('run-row')).toHaveCount(2);
    await expect(cliRow).toHaveCount(0);
  });

  test('a long failure message wraps in its cell and leaves every Delete button inside a 1280 px window', async ({ page, server }) => {
    // A run.json as an older Atelier wrote it (no number), failed with a long message holding a long path.
    const id = '2026-01-01_09-00-00-000-abcdef';
    const longPath = `/home/someone/${'very-long-folder-name-without-spaces-'.repeat(6)}model/weights.bin`;
    mkdirSync(join(server.home, 'runs', id), { recursive: true });
    writeFileSync(
      join(server.home, 'runs', id, 'run.json'),
      JSON.stringify({
        id, name: 'cnn · 2026-01-01 09:00', createdAt: '2026-01-01T09:00:00.000Z', origin: 'trained', preset: 'cnn', backend: 'wasm',
        status: 'failed', epochsPlanned: 5, epochsCompleted: 2, durationSeconds: 90, testAccuracy: null, testLoss: null, config: null, trainer: null,
        error: `The engine could not write ${longPath}: ENOSPC, no space left on device. Free some space on the disk that holds the data folder and train again; ${'the finished epochs are kept. '.repeat(4)}`,
      }),
    );
    await page.setViewportSize({ width: 1280, height: 820 });
    await page.goto(`${server.url}#/models`);
    const row = page.locator(`[data-testid="run-row"][data-run-id="${id}"]`);
    await expect(row.getByTestId('run-status')).toHaveText('failed');
    // Named from its model and its place among the older runs, not the identical-looking old name.
    await expect(row.getByTestId('run-name')).toHaveText(/^Small CNN #\d+$/);
    await expect(row.getByTestId('run-reason')).toHaveAttribute('title', /ENOSPC/);
    for (const button of await page.getByTestId('run-delete').all()) {
      const box = (await button.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(1280);
    }
    const scroll = await page.getByTestId('runs-table').evaluate((table) => ({ table: table.scrollWidth, box: table.parentElement!.clientWidth }));
    expect(scroll.table).toBeLessThanOrEqual(scroll.box);
  });
});
