/**
 * The Electron shell, driven by Playwright's `_electron`. Runs where Electron's binary exists and a
 * display is available; skipped with the reason elsewhere (Electron fetches its binary on first run,
 * which needs network access this machine may not have).
 */
import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './fixtures';

function electronBinary(): { path: string | null; reason: string } {
  try {
    const packageDir = join(createRequire(import.meta.url).resolve('electron/package.json'), '..');
    const pathFile = join(packageDir, 'path.txt');
    const binary = existsSync(pathFile) ? join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim()) : null;
    if (!binary || !existsSync(binary)) {
      return { path: null, reason: "Electron's binary is not installed (it is fetched on first run, which needs network access)" };
    }
    if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
      return { path: null, reason: 'no display for Electron (run under xvfb-run)' };
    }
    return { path: binary, reason: '' };
  } catch {
    return { path: null, reason: 'the electron package is not installed' };
  }
}

const binary = electronBinary();
if (!binary.path) console.log(`Electron specs skipped: ${binary.reason}.`);

test.describe('Electron shell', () => {
  test.skip(!binary.path, binary.reason);

  test('opens a secure window whose System view names the backend', async () => {
    const home = mkdtempSync(join(tmpdir(), 'atelier-electron-'));
    const app = await electron.launch({
      executablePath: binary.path!,
      args: [ROOT, '--no-sandbox'],
      env: { ...process.env, ATELIER_HOME: home },
    });
    try {
      const page = await app.firstWindow();
      await expect(page.getByRole('heading', { name: 'System' })).toBeVisible();
      await expect(page.getByTestId('shell')).toContainText('electron');
      await expect(page.getByTestId('backend')).not.toHaveText('');

      // The page has no Node and no raw ipcRenderer; only the contract's verbs.
      const exposed = await page.evaluate(() => ({
        require: typeof (globalThis as { require?: unknown }).require,
        process: typeof (globalThis as { process?: unknown }).process,
        ipc: 'ipcRenderer' in ((globalThis as { atelier?: object }).atelier ?? {}),
        verbs: Object.keys((globalThis as { atelier?: object }).atelier ?? {}),
      }));
      expect(exposed).toMatchObject({ require: 'undefined', process: 'undefined', ipc: false });
      expect(exposed.verbs).toContain('system');

      const prefs = await app.evaluate(({ BrowserWindow }) => {
        const contents = BrowserWindow.getAllWindows()[0]!.webContents;
        const preferences = (contents as unknown as { getLastWebPreferences(): Record<string, unknown> }).getLastWebPreferences();
        return { contextIsolation: preferences.contextIsolation, sandbox: preferences.sandbox, nodeIntegration: preferences.nodeIntegration };
      });
      expect(prefs).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    } finally {
      await app.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
