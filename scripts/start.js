// `npm start`: build when needed, start the Electron app; when Electron cannot start here
// (no binary and no network to fetch it, no display, missing system libraries), say why and
// start the browser shell instead, printing its URL.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfNeeded } from './build-if-needed.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** Path of Electron's binary, fetching it on first run like `electron` itself does; or why not. */
function findElectron() {
  let packageDir;
  try {
    packageDir = join(require.resolve('electron/package.json'), '..');
  } catch {
    return { reason: 'the electron package is not installed (npm install it, or use the browser shell).' };
  }
  const binaryPath = () => {
    const pathFile = join(packageDir, 'path.txt');
    if (!existsSync(pathFile)) return null;
    const full = join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
    return existsSync(full) ? full : null;
  };
  let binary = binaryPath();
  if (!binary) {
    console.log('Fetching Electron’s binary (first run)…');
    const install = spawnSync(process.execPath, [join(packageDir, 'install.js')], { encoding: 'utf8', timeout: 300_000 });
    binary = binaryPath();
    if (!binary) {
      const output = `${install.stderr ?? ''}${install.stdout ?? ''}`;
      const cause = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|fetch failed|network/i.test(output)
        ? 'there is no network access to download it'
        : (output.trim().split('\n').find((line) => /error/i.test(line)) ?? 'the download failed');
      return { reason: `Electron’s binary is not installed and could not be fetched: ${cause.trim()}.` };
    }
  }
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set).' };
  }
  return { binary };
}

async function startBrowserShell(reason) {
  console.log(`\nElectron cannot start: ${reason}\nStarting Atelier’s browser shell instead.\n`);
  process.argv = [process.argv[0], join(root, 'out/main/cli.js'), 'serve', ...process.argv.slice(2)];
  await import(new URL('../out/main/cli.js', import.meta.url).href);
}

if (!buildIfNeeded()) {
  console.error('The build failed; see the errors above.');
  process.exit(1);
}

const electron = process.env.ATELIER_NO_ELECTRON ? { reason: 'ATELIER_NO_ELECTRON is set.' } : findElectron();
if (!electron.binary) {
  await startBrowserShell(electron.reason);
} else {
  const startedAt = Date.now();
  let stderr = '';
  const child = spawn(electron.binary, [root], { stdio: ['inherit', 'inherit', 'pipe'] });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    process.stderr.write(chunk);
  });
  child.on('error', (error) => void startBrowserShell(`${error.message}.`));
  child.on('exit', (code, signal) => {
    // A crash in the first seconds means Electron cannot run here (missing libraries, sandbox…).
    if (code !== 0 && Date.now() - startedAt < 5000) {
      const line = stderr.trim().split('\n').pop() ?? `exit code ${code ?? signal}`;
      void startBrowserShell(`Electron exited at start (${line.slice(0, 300)}).`);
    } else {
      process.exit(code ?? 0);
    }
  });
}
