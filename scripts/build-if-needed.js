// Builds Atelier (electron-vite) when the build is missing or older than its sources.
// Used by `npm install` (prepare) and `npm start`, so a fresh clone runs without a separate step.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outputs = ['out/main/index.js', 'out/main/cli.js', 'out/main/engine-worker.js', 'out/main/engine-shard.js', 'out/preload/index.cjs', 'out/renderer/index.html'];
const inputs = ['src-main', 'src-renderer', 'electron.vite.config.ts', 'svelte.config.js', 'package.json'];

function newestMtime(path) {
  const full = join(root, path);
  if (!existsSync(full)) return 0;
  const info = statSync(full);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(full)) {
    if (entry.endsWith('.test.ts')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

export function buildIsCurrent() {
  if (!outputs.every((file) => existsSync(join(root, file)))) return false;
  const oldestOutput = Math.min(...outputs.map((file) => statSync(join(root, file)).mtimeMs));
  return Math.max(...inputs.map(newestMtime)) <= oldestOutput;
}

export function buildIfNeeded() {
  if (buildIsCurrent()) return true;
  const viteCli = join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  if (!existsSync(viteCli)) {
    // Installed without dev dependencies (e.g. from the npm tarball): the shipped build is used as is.
    return outputs.every((file) => existsSync(join(root, file)));
  }
  console.log('Building Atelier…');
  const result = spawnSync(process.execPath, [viteCli, 'build'], { cwd: root, stdio: 'inherit' });
  return result.status === 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exit(buildIfNeeded() ? 0 : 1);
}
