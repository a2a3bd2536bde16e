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
