/**
 * Fixtures for the browser-shell specs: a real `atelier serve` process (the built CLI) with a
 * fresh data folder per worker, and its tokened URL.
 */
import { test as base, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface AtelierServer {
  url: string;
  origin: string;
  token: string;
  home: string;
  process: ChildProcess;
}

/** Start `atelier serve` and wait for the URL it prints. */
export async function startServer(env: NodeJS.ProcessEnv = {}): Promise<AtelierServer> {
  const home = mkdtempSync(join(tmpdir(), 'atelier-e2e-'));
  const child = spawn(process.execPath, [join(ROOT, 'bin/atelier.js'), 'serve', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, ATELIER_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`atelier serve printed no URL in 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`atelier serve exited (${code}):\n${output}`));
    });
  });
  const parsed = new URL(url);
  return { url, origin: parsed.origin, token: parsed.searchParams.get('token')!, home, process: child };
}

export async function stopServer(server: AtelierServer): Promise<void> {
  if (server.process.exitCode === null) {
    const exited = new Promise((resolve) => server.process.once('exit', resolve));
    server.process.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (server.process.exitCode === null) server.process.kill('SIGKILL');
  }
  rmSync(server.home, { recursive: true, force: true });
}

/**
 * One server per spec file: tests in a file share it (and its runs, in order), while files never
 * see each other's data even when Playwright runs them in the same worker.
 */
export const test = base.extend<{ server: AtelierServer }, { serversByFile: Map<string, Promise<AtelierServer>> }>({
  serversByFile: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const servers = new Map<string, Promise<AtelierServer>>();
      await use(servers);
      for (const server of servers.values()) await stopServer(await server);
    },
    { scope: 'worker' },
  ],
  server: async ({ serversByFile }, use, testInfo) => {
    let server = serversByFile.get(testInfo.file);
    if (!server) {
      // A new file: the previous file's server is no longer needed.
      for (const [file, previous] of serversByFile) {
        serversByFile.delete(file);
        await stopServer(await previous);
      }
      server = startServer();
      serversByFile.set(testInfo.file, server);
    }
    await use(await server);
  },
});

/**
 * Save a screenshot to test-results/screenshots/<name>.png; with ATELIER_UPDATE_SCREENSHOTS set,
 * also to resources/screenshots/ (the README's pictures). `fitContent` grows the window to the
 * height of <main>'s content for the shot (the app scrolls inside <main>), then puts it back.
 */
export async function screenshot(page: Page, name: string, options: { fitContent?: boolean } = {}): Promise<void> {
  const dir = join(ROOT, 'test-results', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const shot = join(dir, `${name}.png`);
  const size = page.viewportSize();
  if (options.fitContent && size) {
    const height = await page.locator('main').evaluate((main) => main.scrollHeight);
    await page.setViewportSize({ width: size.width, height: Math.max(size.height, Math.min(height, 3000)) });
  }
  await page.screenshot({ path: shot });
  if (options.fitContent && size) await page.setViewportSize(size);
  if (process.env.ATELIER_UPDATE_SCREENSHOTS) copyFileSync(shot, join(ROOT, 'resources', 'screenshots', `${name}.png`));
}

/**
 * The repository's test photos (src-main/core/photos/test-photos: six real phone photos in class
 * folders), so that the specs that drop photos run on a clone without the development set.
 */
export { TEST_PHOTOS_DIR, testPhoto } from '../src-main/core/photos/test-photos';

export { expect } from '@playwright/test';
