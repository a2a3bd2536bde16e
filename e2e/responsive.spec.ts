import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, expect, test } from './fixtures';

/**
 * While the best preset trains on every core, the window keeps answering: keyboard navigation
 * between views is timed with the browser's Event Timing API (input to the next paint, the
 * measure behind "interaction to next paint"). The figures go to test-results/responsiveness.json
 * and the README; the assertion only catches a window that stops answering (a second), since
 * timings belong to measurements, not to pass/fail on a shared machine.
 */
test('the window answers the keyboard while the best preset trains on every core', async ({ page, server }) => {
  await page.goto(`${server.url}#/train`);
  await page.getByTestId('preset-best').click();
  await page.getByTestId('field-epochs').fill('1');
  if (!(await page.getByTestId('field-trainLimit').isVisible())) await page.getByText('Advanced', { exact: true }).click();
  await page.getByTestId('field-trainLimit').fill('12000');
  // Picking the preset took its recipe: batches of 128 at a one-cycle rate.
  await expect(page.getByTestId('field-batchSize')).toHaveValue('128');
  await page.getByTestId('start').click();
  // Training has started once the first batch is on the chart.
  await expect.poll(async () => Number(await page.getByTestId('chart-loss').getAttribute('data-points')), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);

  await page.evaluate(() => {
    const store: number[] = [];
    (globalThis as unknown as { __inputDelays: number[] }).__inputDelays = store;
    // Entries under 16 ms are not reported (the API's floor): those inputs were answered within a frame.
    // Node's types know the observer but not the browser's 'event' entries: observe as the browser takes it.
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (entry.name === 'keydown') store.push(entry.duration);
    }) as unknown as { observe(options: { type: string; durationThreshold: number }): void };
    observer.observe({ type: 'event', durationThreshold: 16 });
  });

  const presses = 30;
  const views = ['Dataset', 'Train', 'Evaluate', 'Models'];
  for (let i = 0; i < presses; i++) {
    const digit = (i % views.length) + 1;
    await page.keyboard.press(`Control+${digit}`);
    await expect(page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name: views[i % views.length]!, exact: true })).toHaveAttribute('aria-current', 'page');
    await page.waitForTimeout(150);
  }
  const slow = await page.evaluate(() => (globalThis as unknown as { __inputDelays: number[] }).__inputDelays);
  // Still training: the measurement was taken while every core trained.
  await page.keyboard.press('Control+2');
  await expect(page.getByTestId('train-result')).toHaveCount(0);

  const sorted = [...slow].sort((a, b) => a - b);
  const within = (ms: number) => presses - slow.filter((d) => d > ms).length;
  const figures = { presses, slowerThan16ms: slow.length, answeredWithin100ms: within(100), slowestMs: sorted.at(-1) ?? null, delaysOver16Ms: sorted };
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(join(ROOT, 'test-results', 'responsiveness.json'), `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`keyboard navigation while training: ${figures.answeredWithin100ms}/${presses} within 100 ms, slowest ${figures.slowestMs ?? '< 16'} ms`);
  expect(sorted.at(-1) ?? 0).toBeLessThan(1000);

  await page.keyboard.press('Escape');
  await expect(page.getByTestId('train-result')).toHaveAttribute('data-status', 'stopped', { timeout: 60_000 });
});
