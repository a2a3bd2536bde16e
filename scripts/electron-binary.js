// Finding Electron's binary for `npm start`, and fetching it when it is missing. An attempt that
// failed is remembered next to the package (the binary belongs to this install), so that only the
// very first attempt is called the first run and later ones say what went wrong last time.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Written into electron's package folder after a failed fetch. */
export const FAILED_FETCH_MARKER = '.atelier-fetch-failed.json';

/** The binary's path when electron's install step has put it in place, else null. */
export function installedBinary(packageDir) {
  const pathFile = join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const full = join(packageDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(full) ? full : null;
}

function previousFailure(packageDir) {
  try {
    const marker = JSON.parse(readFileSync(join(packageDir, FAILED_FETCH_MARKER), 'utf8'));
    return typeof marker?.at === 'string' && typeof marker?.reason === 'string' ? marker : null;
  } catch {
    return null;
  }
}

/** One line that says why electron's install step failed, from its output. */
export function failureCause(output) {
  if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|fetch failed|network/i.test(output)) return 'there is no network access to download it';
  const line = output.trim().split('\n').find((candidate) => /error/i.test(candidate));
  return (line ?? 'the download failed').trim().replace(/`/g, '').slice(0, 300);
}

/**
 * Run electron's install step (`runInstall` returns its output) unless the binary is there.
 * @param {{ packageDir: string, runInstall: () => string, log: (line: string) => void, now?: () => Date }} options
 * @returns {{ binary: string } | { reason: string }}
 */
export function ensureElectronBinary({ packageDir, runInstall, log, now = () => new Date() }) {
  const ready = installedBinary(packageDir);
  if (ready) return { binary: ready };
  const previous = previousFailure(packageDir);
  if (previous) log(`Electron’s binary is still missing (fetching it failed on ${previous.at}: ${previous.reason}); trying again…`);
  else log('Fetching Electron’s binary (first run)…');
  const output = runInstall();
  const binary = installedBinary(packageDir);
  const markerPath = join(packageDir, FAILED_FETCH_MARKER);
  if (binary) {
    rmSync(markerPath, { force: true });
    return { binary };
  }
  const cause = failureCause(output);
  try {
    writeFileSync(markerPath, JSON.stringify({ at: now().toISOString().slice(0, 16).replace('T', ' '), reason: cause }));
  } catch {
    // A read-only node_modules: the next run will call itself the first again, which is harmless.
  }
  return { reason: `Electron’s binary is not installed and could not be fetched: ${cause}.` };
}
