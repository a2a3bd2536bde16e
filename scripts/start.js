// `npm start`: build when needed, start the Electron app; when Electron cannot start here
// (no binary and no network to fetch it, no display, missing system libraries), say why and
// start the browser shell instead, printing its URL.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIfNeeded } from './build-if-needed.js';
import { ensureElectronBinary } from './electron-binary.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** Path of Electron's binary, fetching it when missing like `electron` itself does; or why not. */
function findElectron() {
  let packageDir;
  try {
    packageDir = join(require.resolve('electron/package.json'), '..');
  } catch {
    return { reason: 'the electron package is not installed (npm install it, or use the browser shell).' };
  }
  const found = ensureElectronBinary({
    packageDir,
    log: (line) => console.log(line),
    runInstall: () => {
      const install = spawnSync(process.execPath, [join(packageDir, 'install.js')], { encoding: 'utf8', timeout: 300_000 });
      return `${install.stderr ?? ''}${install.stdout ?? ''}${install.error ? `\n${install.error.message}` : ''}`;
    },
  });
  if (!found.binary) return found;
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set).' };
  }
  return { binary: found.binary };
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
