import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

async function points(page: Page, testid: string): Promise<number> {
  return Number(await page.getByTestId(testid).getAttribute('data-points'));
}

test.describe.serial('Resume, Train more and the learning-rate finder (browser shell)', () => {
  test('a run stopped after one epoch resumes in the same run: epoch 2 is appended to the same curves; Train more adds epoch 3', async ({ page, server }) => {
    await page.goto(`${server.url}#/train`);
    await page.getByTestId('preset-cnn').click();
    await page.getByTestId('field-epochs').fill('2');
    await page.getByTestId('field-validationSplit').fill('0.1');
    await page.getByTestId('field-schedule').selectOption('cosine');
    if (!(await page.getByTestId('field-trainLimit').isVisible())) await page.getByText('Advanced', { exact: true }).click();
    await page.getByTestId('field-trainLimit').fill('4000');
    await page.getByTestId('start').click();

    const live = page.getByTestId('live-panel');
    await expect(live).toHaveAttribute('data-epochs', '1', { timeout: 120_000 });
    await page.getByTestId('stop').click();
    await expect(page.getByTestId('train-result')).toHaveAttribute('data-status', 'stopped', { timeout: 60_000 });
    await expect(live).toHaveAttribute('data-epochs', '1');
    const runId = await page.getByTestId('live-run').getAttribute('data-run-id');
    const before = await points(page, 'chart-loss');

    await page.getByTestId('resume').click();
    await expect(page.getByTestId('train-result')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
    await expect(page.getByTestId('live-run')).toHaveAttribute('data-run-id', runId!);
    await expect(live).toHaveAttribute('data-epochs', '1,2');
    expect(await points(page, 'chart-loss')).toBeGreaterThan(before);
    // The rate of each epoch: cosine from 0.001 down.
    await expect.poll(() => points(page, 'chart-rate')).toBe(2);

    // Train more from Models, with the keyboard.
    await page.getByRole('button', { name: /Models/ }).click();
    const row = page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
    await expect(row.getByTestId('run-epochs')).toContainText('2');
    await row.getByTestId('train-more').focus();
    await page.keyboard.press('Enter');
    await row.getByTestId('more-epochs').fill('1');
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(/#\/train/);
    await expect(page.getByTestId('train-result')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
    await expect(live).toHaveAttribute('data-epochs', '1,2,3');
    await expect(page.getByTestId('live-run')).toHaveAttribute('data-run-id', runId!);
  });

  test('early stopping asks for a validation split; the finder suggests a rate and puts it in the form', async ({ page, server }) => {
    await page.goto(`${server.url}#/train`);
    await page.getByTestId('preset-tutorial-mlp').click();
    await page.getByTestId('field-validationSplit').fill('0');
    await page.getByTestId('field-earlyStopping').check();
    await expect(page.getByTestId('error-earlyStopping')).toContainText('set a validation split above 0');
    await expect(page.getByTestId('start')).toBeDisabled();
    await page.getByTestId('field-validationSplit').fill('0.1');
    await expect(page.getByTestId('error-earlyStopping')).toHaveCount(0);
    await page.getByTestId('field-earlyStopping').uncheck();

    await page.getByTestId('lr-find').click();
    const suggestion = page.getByTestId('lr-suggestion');
    await expect(suggestion).toBeVisible({ timeout: 120_000 });
    expect(await points(page, 'chart-lr-finder')).toBeGreaterThan(20);
    const rate = Number(await suggestion.getAttribute('data-rate'));
    expect(rate).toBeGreaterThan(0);
    await page.getByTestId('lr-use').click();
    await expect(page.getByTestId('field-learningRate')).toHaveValue(String(Number(rate.toPrecision(2))));
  });
});
