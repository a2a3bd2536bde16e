// Runs the Playwright end-to-end specs against the built app (npm test builds first).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(chromium)) {
  console.error(`Chromium is needed for the end-to-end tests and was not found at ${chromium}.\n` +
    'On Debian/Ubuntu: sudo apt install chromium   (or set CHROMIUM_PATH to another Chromium or Chrome).');
  process.exit(1);
}
const cli = createRequire(import.meta.url).resolve('@playwright/test/cli');
const result = spawnSync(process.execPath, [cli, 'test', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
