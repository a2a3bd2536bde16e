import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, expect, test } from './fixtures';

test.describe('System view (browser shell)', () => {
  test('names the wasm backend and why the native backends were skipped', async ({ page, server }) => {
    await page.goto(`${server.url}#/system`);
    await expect(page.getByRole('heading', { name: 'System' })).toBeVisible();
    await expect(page.getByTestId('backend')).toHaveText('wasm');
    await expect(page.getByTestId('rung-tensorflow-gpu')).toContainText('Skipped');
    await expect(page.getByTestId('rung-tensorflow-gpu')).toContainText('@tensorflow/tfjs-node-gpu');
    await expect(page.getByTestId('rung-tensorflow')).toContainText('Skipped');
    await expect(page.getByTestId('shell')).toHaveText('browser');
    await expect(page.getByTestId('data-home')).toHaveText(server.home);
    await expect(page.getByTestId('shell-kind')).toContainText('connected');

    const shot = join(ROOT, 'test-results', 'screenshots', 'system.png');
    mkdirSync(join(ROOT, 'test-results', 'screenshots'), { recursive: true });
    await page.screenshot({ path: shot });
    if (process.env.ATELIER_UPDATE_SCREENSHOTS) copyFileSync(shot, join(ROOT, 'resources', 'screenshots', 'system.png'));
  });

  test('sections are reachable by keyboard', async ({ page, server }) => {
    await page.goto(server.url);
    // Whatever position System has in the nav, its shortcut is in its tooltip.
    const title = await page.getByRole('navigation').getByRole('button', { name: 'System' }).getAttribute('title');
    const key = /Ctrl\+(\d)/.exec(title ?? '')?.[1];
    expect(key, `System's nav button should name its shortcut, got title "${title}"`).toBeDefined();
    await page.keyboard.press(`Control+${key}`);
    await expect(page).toHaveURL(/#\/system$/);
    await page.getByRole('button', { name: 'Refresh' }).focus();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('backend')).toHaveText('wasm');
  });

  test('view shortcuts leave a focused form field alone', async ({ page, server }) => {
    await page.goto(`${server.url}#/train`);
    const title = await page.getByRole('navigation').getByRole('button', { name: 'System' }).getAttribute('title');
    const key = /Ctrl\+(\d)/.exec(title ?? '')?.[1];
    const field = page.locator('main input[type="number"]').first();
    await field.focus();
    await page.keyboard.press(`Control+${key}`);
    await expect(field).toBeFocused();
    await expect(page).toHaveURL(/#\/train$/);
    // Outside a field the same keys switch views.
    await field.blur();
    await page.keyboard.press(`Control+${key}`);
    await expect(page).toHaveURL(/#\/system$/);
  });
});

test.describe('browser shell: a link without a valid token', () => {
  for (const [label, query] of [['a wrong token', '?token=not-the-token'], ['no token', '']] as const) {
    test(`${label}: the page says so once, and nothing else fails`, async ({ page, server }) => {
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
      page.on('response', (response) => {
        if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
      });

      await page.goto(`${server.origin}/${query}#/dataset`);
      const message = page.getByTestId('unauthorized');
      await expect(message).toHaveText("This link's token is missing or no longer valid. Open the full URL printed by atelier serve (or npm start), including its ?token= part.");
      await expect(page.getByRole('alert')).toHaveCount(1);
      await expect(page.getByTestId('shell-kind')).toContainText('unauthorized');
      // No view is shown, so nothing is left waiting or reporting a lost connection.
      await expect(page.getByRole('main')).not.toContainText('Reading');
      await expect(page.getByRole('main')).not.toContainText('Lost the connection');
      // Switching views does not bring them back.
      await page.getByRole('navigation').getByRole('button', { name: 'System' }).click();
      await expect(page.getByRole('alert')).toHaveCount(1);
      await expect(page.getByRole('heading', { name: 'System' })).toHaveCount(0);
      expect(problems).toEqual([]);
    });
  }

  test("the page's CSP comes as a header with frame-ancestors, and the page logs no CSP error", async ({ page, server }) => {
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    const response = await page.goto(`${server.url}#/system`);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    await expect(page.getByTestId('backend')).toHaveText('wasm');
    expect(problems.filter((text) => /Content Security Policy|frame-ancestors/i.test(text))).toEqual([]);
  });
});

test.describe('browser shell security', () => {
  test('the WebSocket refuses a connection without the token, and with a wrong one', async ({ page, server }) => {
    await page.goto(`${server.origin}/`);
    const outcome = await page.evaluate(async (origin) => {
      const attempt = (url: string) =>
        new Promise<string>((resolve) => {
          const socket = new WebSocket(url);
          socket.onopen = () => {
            socket.close();
            resolve('open');
          };
          socket.onerror = () => resolve('refused');
        });
      const ws = origin.replace('http', 'ws');
      return { none: await attempt(`${ws}/ws`), wrong: await attempt(`${ws}/ws?token=not-the-token`) };
    }, server.origin);
    expect(outcome).toEqual({ none: 'refused', wrong: 'refused' });

    // Without the token the UI says how to get in instead of showing data.
    await expect(page.getByRole('alert')).toContainText('token', { timeout: 30_000 });

    // The same page with the token connects and answers calls.
    const answered = await page.evaluate(async ({ origin, token }) => {
      const socket = new WebSocket(`${origin.replace('http', 'ws')}/ws?token=${token}`);
      await new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = reject;
      });
      const reply = new Promise<string>((resolve) => (socket.onmessage = (event) => resolve(String(event.data))));
      socket.send(JSON.stringify({ type: 'call', id: 7, channel: 'system.info', input: {} }));
      return JSON.parse(await reply);
    }, { origin: server.origin, token: server.token });
    expect(answered).toMatchObject({ type: 'result', id: 7, result: { ok: true } });
  });

  test('malformed messages get typed errors and the server keeps answering', async ({ page, server }) => {
    await page.goto(server.url);
    const replies = await page.evaluate(async ({ origin, token }) => {
      const socket = new WebSocket(`${origin.replace('http', 'ws')}/ws?token=${token}`);
      await new Promise((resolve) => (socket.onopen = resolve));
      const received: unknown[] = [];
      const done = new Promise<void>((resolve) => {
        socket.onmessage = (event) => {
          const message = JSON.parse(String(event.data));
          if (message.type === 'result') received.push(message);
          if (received.length === 4) resolve();
        };
      });
      socket.send('{not json');
      socket.send(JSON.stringify({ type: 'call', id: 1, channel: 'no.such', input: {} }));
      socket.send(JSON.stringify({ type: 'call', id: 2, channel: 'system.info', input: { extra: true } }));
      socket.send(JSON.stringify({ type: 'call', id: 3, channel: 'system.info', input: {} }));
      await done;
      return received;
    }, { origin: server.origin, token: server.token });
    expect(replies).toContainEqual(expect.objectContaining({ id: null, result: expect.objectContaining({ ok: false, error: expect.objectContaining({ kind: 'invalid-payload' }) }) }));
    expect(replies).toContainEqual(expect.objectContaining({ id: 1, result: expect.objectContaining({ error: expect.objectContaining({ kind: 'unknown-call' }) }) }));
    expect(replies).toContainEqual(expect.objectContaining({ id: 2, result: expect.objectContaining({ error: expect.objectContaining({ kind: 'invalid-payload' }) }) }));
    expect(replies).toContainEqual(expect.objectContaining({ id: 3, result: expect.objectContaining({ ok: true }) }));
  });

  test('the server answers only for loopback host names', async ({ request, server }) => {
    const response = await request.get(`${server.origin}/`, { headers: { host: 'evil.example:80' } });
    expect(response.status()).toBe(421);
  });
});
