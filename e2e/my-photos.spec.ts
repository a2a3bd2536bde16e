/**
 * My photos in the browser shell: a Classify answer marked "Wrong, it is a Sneaker" lands in My
 * photos under Sneaker; photos added in the view with one class, and by the CLI into the same data
 * folder; relabel, remove (confirmed) and a damaged entry shown with its message and removed.
 * The photos are the repository's (src-main/core/photos/test-photos) and one generated with sharp.
 */
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { ROOT, expect, screenshot, test, testPhoto, type AtelierServer } from './fixtures';

const run = promisify(execFile);

function atelier(server: AtelierServer, args: string[]) {
  return run(process.execPath, [join(ROOT, 'bin/atelier.js'), ...args], { cwd: ROOT, env: { ...process.env, ATELIER_HOME: server.home }, maxBuffer: 1 << 22 });
}

function repoPhoto(folder: string, index = 0): { name: string; mimeType: string; buffer: Buffer } {
  const path = testPhoto(folder, index);
  return { name: `${folder}-${basename(path)}`, mimeType: 'image/jpeg', buffer: readFileSync(path) };
}

test.describe.serial('My photos (browser shell)', () => {
  test('before any photo: the view says what My photos is for', async ({ page, server }) => {
    await page.goto(`${server.url}#/my-photos`);
    await expect(page.getByRole('heading', { name: 'My photos' })).toBeVisible();
    await expect(page.getByTestId('my-photos-empty')).toContainText('Mark answers Right or Wrong in Classify, or add photos here');
    await expect(page.getByTestId('my-photos-empty')).toContainText('then train with them');
    // Adding without a class first says to choose one, and nothing is sent.
    await page.getByTestId('my-photos-open').click();
    await expect(page.getByTestId('my-photos-notice')).toContainText('Choose what the photos show first');
    await expect(page.getByTestId('add-label')).toBeFocused();
  });

  test('a Classify answer marked "Wrong, it is a Sneaker" is in My photos under Sneaker', async ({ page, server }) => {
    test.setTimeout(180_000);
    await atelier(server, ['train', '--preset', 'tutorial-mlp', '--epochs', '1', '--limit', '3000']);
    await page.goto(`${server.url}#/classify`);
    await page.getByTestId('photo-file-input').setInputFiles([repoPhoto('shoes')]);
    const card = page.getByTestId('photo-card');
    await expect(card).toHaveCount(1);
    const predicted = (await card.getByTestId('photo-class').textContent())?.trim();

    // Keyboard only: the Wrong button opens the classes, the first one takes focus, Escape closes them.
    await card.getByTestId('answer-wrong').focus();
    await page.keyboard.press('Enter');
    const choices = card.getByRole('list', { name: 'What it is' });
    await expect(choices.getByRole('button')).toHaveCount(9);
    await expect(choices.getByRole('button').first()).toBeFocused();
    await expect(choices.getByRole('button', { name: predicted, exact: true })).toHaveCount(0);
    await page.keyboard.press('Escape');
    await expect(choices).toHaveCount(0);
    await expect(card.getByTestId('answer-wrong')).toBeFocused();

    await card.getByTestId('answer-wrong').click();
    // A sneaker photo may well be called Sneaker by the model: then pick another class to mark it wrong with.
    const wrongClass = predicted === 'Sneaker' ? 'Sandal' : 'Sneaker';
    await choices.getByRole('button', { name: wrongClass, exact: true }).click();
    await expect(card.getByTestId('kept-answer')).toHaveText(`In My photos as ${wrongClass} · My photos`);

    await page.getByRole('navigation').getByRole('button', { name: 'My photos' }).click();
    await expect(page).toHaveURL(/#\/my-photos$/);
    const group = page.locator(`[data-testid="my-photos-group"][data-class="${wrongClass}"]`);
    await expect(group.getByTestId('group-count')).toHaveText('1');
    await expect(group.getByTestId('my-photo')).toHaveCount(1);
    await expect(group.getByTestId('my-photo')).toContainText('shoes-');
    await expect(group.getByTestId('my-photo')).toContainText('from Classify');
    await expect(page.getByTestId('my-photos-summary')).toHaveText(`1 photo: 1 ${wrongClass}`);
    const thumbnail = group.getByTestId('my-photo').locator('img');
    await expect(thumbnail).toHaveJSProperty('complete', true);
    expect(await thumbnail.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    // The browser is never told where the server keeps the photo.
    expect(await page.content()).not.toContain(server.home);
  });

  test('photos added in the view and by the CLI, then relabelled and removed', async ({ page, server }) => {
    await page.goto(`${server.url}#/my-photos`);
    await page.getByTestId('add-label').selectOption({ label: 'Trouser' });
    await expect(page.getByTestId('my-photos-drop')).toContainText('as Trouser');
    const generated = await sharp({ create: { width: 60, height: 80, channels: 3, background: { r: 30, g: 40, b: 90 } } }).jpeg().toBuffer();
    await page.getByTestId('my-photos-file-input').setInputFiles([
      repoPhoto('pants'),
      { name: 'generated.jpg', mimeType: 'image/jpeg', buffer: generated },
      { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a photo') },
    ]);
    await expect(page.getByTestId('add-report')).toContainText('Added 2 photos as Trouser · 1 could not be added');
    await expect(page.getByTestId('add-report')).toContainText('notes.jpg');
    const trousers = page.locator('[data-testid="my-photos-group"][data-class="Trouser"]');
    await expect(trousers.getByTestId('group-count')).toHaveText('2');

    // The CLI writes to the same data folder; the page shows it after a reload.
    const bag = join(server.home, 'bag.png');
    writeFileSync(bag, await sharp({ create: { width: 50, height: 40, channels: 3, background: { r: 120, g: 60, b: 20 } } }).png().toBuffer());
    await atelier(server, ['photos', 'add', '--label', 'bags', bag]);
    await page.reload();
    await expect(page.locator('[data-testid="my-photos-group"][data-class="Bag"]').getByTestId('group-count')).toHaveText('1');

    // Relabel: the picker holds the choice until Move.
    const generatedTile = trousers.getByTestId('my-photo').filter({ hasText: 'generated.jpg' });
    await generatedTile.getByTestId('my-photo-class').selectOption({ label: 'Coat' });
    await expect(trousers.getByTestId('group-count')).toHaveText('2');
    await generatedTile.getByTestId('my-photo-move').click();
    await expect(trousers.getByTestId('group-count')).toHaveText('1');
    const coats = page.locator('[data-testid="my-photos-group"][data-class="Coat"]');
    await expect(coats.getByTestId('my-photo')).toContainText('generated.jpg');
    await screenshot(page, 'my-photos', { fitContent: true });

    // Remove asks first; Keep leaves it, Remove takes it out.
    const coat = coats.getByTestId('my-photo');
    await coat.getByTestId('my-photo-remove').click();
    await coat.getByRole('button', { name: 'Keep' }).click();
    await expect(coat).toHaveCount(1);
    await coat.getByTestId('my-photo-remove').click();
    await coat.getByTestId('confirm-remove').click();
    await expect(coats).toHaveCount(0);
    const { stdout } = await atelier(server, ['photos', 'list', '--json']);
    // Left: the photo marked on Classify, one Trouser and the CLI's Bag; no Coat.
    const { counts } = JSON.parse(stdout) as { counts: number[] };
    expect([counts[1], counts[4], counts[8], counts.reduce((sum, count) => sum + count, 0)]).toEqual([1, 0, 1, 3]);
  });

  test('a damaged entry is shown with its message, and can be removed', async ({ page, server }) => {
    const entries = join(server.home, 'photos', 'entries');
    const [first] = readdirSync(entries).filter((name) => name.endsWith('.json')).sort();
    writeFileSync(join(entries, first!), '{"version": 1, "sha');
    await page.goto(`${server.url}#/my-photos`);
    const damaged = page.getByTestId('my-photos-damaged');
    await expect(damaged).toContainText('this photo entry is damaged (not valid JSON)');
    await damaged.getByRole('button', { name: /^Remove damaged photo / }).click();
    await expect(damaged).toHaveCount(0);
  });
});
