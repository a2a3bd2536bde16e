import type { Page } from '@playwright/test';
import { expect, test, screenshot } from './fixtures';

async function points(page: Page, testid: string): Promise<number> {
  return Number(await page.getByTestId(testid).getAttribute('data-points'));
}

/** Train the tutorial's model for 1 epoch on 1,000 images with a 0.1 validation split, at this seed and learning rate; returns the run id. */
async function trainTiny(page: Page, seed: string, learningRate: string, schedule = 'constant'): Promise<string> {
  await page.getByTestId('preset-tutorial-mlp').click();
  await page.getByTestId('field-epochs').fill('1');
  await page.getByTestId('field-validationSplit').fill('0.1');
  await page.getByTestId('field-seed').fill(seed);
  await page.getByTestId('field-learningRate').fill(learningRate);
  await page.getByTestId('field-schedule').selectOption(schedule);
  if (!(await page.getByTestId('field-trainLimit').isVisible())) await page.getByText('Advanced', { exact: true }).click();
  await page.getByTestId('field-trainLimit').fill('1000');
  const live = page.getByTestId('live-run');
  const before = (await live.count()) > 0 ? await live.getAttribute('data-run-id') : null;
  await page.getByTestId('start').click();
  if (before) await expect(live).not.toHaveAttribute('data-run-id', before, { timeout: 30_000 });
  await expect(page.getByTestId('train-result')).toHaveAttribute('data-status', 'completed', { timeout: 60_000 });
  return (await live.getAttribute('data-run-id'))!;
}

test.describe.serial('Compare runs and worst mistakes (browser shell)', () => {
  let first = '';
  let second = '';

  test('two tiny runs compare: both curves, the differing settings marked, deltas and the confusion difference', async ({ page, server }) => {
    await page.goto(`${server.url}#/train`);
    first = await trainTiny(page, '1', '0.001');
    second = await trainTiny(page, '7', '0.002', 'cosine');
    expect(second).not.toBe(first);

    await page.getByRole('button', { name: /Models/ }).click();
    await expect(page.getByTestId('compare-hint')).toBeVisible();
    // Picked with the keyboard, first the older run: deltas are against it.
    for (const id of [first, second]) {
      await page.locator(`[data-testid="run-row"][data-run-id="${id}"]`).getByTestId('run-compare').focus();
      await page.keyboard.press('Space');
    }
    await page.getByTestId('compare-open').focus();
    await page.keyboard.press('Enter');

    // One train and one validation point per run, in each chart.
    await expect.poll(() => points(page, 'compare-loss')).toBe(4);
    await expect.poll(() => points(page, 'compare-accuracy')).toBe(4);
    const legend = page.getByTestId('compare-legend');
    await expect(legend).toContainText('Tutorial MLP #1');
    await expect(legend).toContainText('Tutorial MLP #2');

    const setting = (name: string) => page.locator(`[data-testid="setting-row"][data-setting="${name}"]`);
    await expect(setting('Seed')).toHaveAttribute('data-differs', 'true');
    await expect(setting('Seed').locator('td')).toHaveText(['1', '7']);
    await expect(setting('Learning rate')).toHaveAttribute('data-differs', 'true');
    await expect(setting('Rate schedule').locator('td')).toHaveText(['constant', 'cosine']);
    await expect(setting('Early stopping')).toHaveAttribute('data-differs', 'false');
    await expect(setting('Preset')).toHaveAttribute('data-differs', 'false');
    await expect(setting('Training images')).toHaveAttribute('data-differs', 'false');
    await expect(page.locator('[data-testid="setting-row"][data-differs="true"]')).toHaveCount(3);

    // Test accuracy and the 10 F1 scores, each with a delta for the second run.
    await expect(page.getByTestId('score-row')).toHaveCount(11);
    await expect(page.getByTestId('score-delta')).toHaveCount(11);
    await expect(page.getByTestId('score-delta').first()).toHaveText(/^([+−]\d+\.\d|±0\.0) pts$/);

    // B − A of the same 10,000 test images: every true class still has its 1,000 images, so each row sums to 0.
    const diff = page.getByTestId('confusion-diff');
    await expect(diff.locator('td')).toHaveCount(100);
    const rows = await diff.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.dataset.value))));
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row.reduce((sum, value) => sum + value, 0)).toBe(0);
    expect(rows.flat().some((value) => value !== 0)).toBe(true);
    const changed = diff.locator('td:not([data-value="0"])').first();
    const value = Number(await changed.getAttribute('data-value'));
    await expect(changed).toContainText(`${value > 0 ? '+' : '−'}${Math.abs(value)}`);
    await screenshot(page, 'compare', { fitContent: true });

    await page.getByTestId('compare-close').click();
    await expect(page.getByTestId('compare-open')).toBeVisible();
  });

  test('Evaluate lists the worst mistakes, highest loss first, paged and keyboard navigable', async ({ page, server }) => {
    await page.goto(`${server.url}#/evaluate/${second}`);
    await expect(page.getByTestId('mistake-count')).toHaveText(/^[\d,]+$/);
    const mistakes = Number((await page.getByTestId('mistake-count').textContent())!.replace(/,/g, ''));
    expect(mistakes).toBeGreaterThan(15);
    const items = page.getByTestId('worst-item');
    await expect(items).toHaveCount(15);
    await expect(page.getByTestId('worst-range')).toHaveText(`1–15 of ${mistakes.toLocaleString('en-US')}`);
    await expect(items.first()).toHaveAttribute('data-correct', 'false');
    const firstTrue = await items.first().getByTestId('worst-true').textContent();
    await expect(items.first().getByTestId('worst-predicted')).not.toHaveText(firstTrue!);
    const losses = await items.evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-loss'))));
    for (let index = 1; index < losses.length; index++) expect(losses[index]).toBeLessThanOrEqual(losses[index - 1]!);
    // Confidently wrong: the first gave the true class well under a tenth.
    expect(losses[0]).toBeGreaterThan(Math.log(10));

    await items.first().focus();
    await page.keyboard.press('ArrowRight');
    await expect(items.nth(1)).toBeFocused();
    await page.keyboard.press('End');
    await expect(items.nth(14)).toBeFocused();

    await page.getByTestId('worst-mistakes').scrollIntoViewIfNeeded();
    await screenshot(page, 'worst-mistakes');

    await page.getByTestId('worst-next').focus();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('worst-range')).toHaveText(`16–30 of ${mistakes.toLocaleString('en-US')}`);
    await expect.poll(async () => Number(await items.first().getAttribute('data-loss'))).toBeLessThanOrEqual(losses[14]!);
  });
});
