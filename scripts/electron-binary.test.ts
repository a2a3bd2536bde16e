import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript script without type declarations
import { ensureElectronBinary, FAILED_FETCH_MARKER, failureCause } from './electron-binary.js';

let packageDir: string;
beforeEach(() => {
  packageDir = mkdtempSync(join(tmpdir(), 'atelier-electron-pkg-'));
});
afterEach(() => rmSync(packageDir, { recursive: true, force: true }));

function putBinary(): string {
  mkdirSync(join(packageDir, 'dist'), { recursive: true });
  writeFileSync(join(packageDir, 'dist', 'electron'), '');
  writeFileSync(join(packageDir, 'path.txt'), 'electron');
  return join(packageDir, 'dist', 'electron');
}

function attempt(install: () => string) {
  const lines: string[] = [];
  let installs = 0;
  const result = ensureElectronBinary({
    packageDir,
    log: (line: string) => lines.push(line),
    runInstall: () => {
      installs++;
      return install();
    },
    now: () => new Date('2025-01-02T03:04:05Z'),
  }) as { binary?: string; reason?: string };
  return { result, lines, installs };
}

const offline = (): string => 'RequestError: getaddrinfo ENOTFOUND github.com';

describe("npm start: fetching Electron's binary", () => {
  it('calls only the first attempt the first run; a later one says what failed last time', () => {
    const first = attempt(offline);
    expect(first.lines).toEqual(['Fetching Electron’s binary (first run)…']);
    expect(first.result).toEqual({ reason: 'Electron’s binary is not installed and could not be fetched: there is no network access to download it.' });
    expect(existsSync(join(packageDir, FAILED_FETCH_MARKER))).toBe(true);

    const second = attempt(offline);
    expect(second.installs).toBe(1);
    expect(second.lines).toHaveLength(1);
    expect(second.lines[0]).not.toMatch(/first run/);
    expect(second.lines[0]).toBe('Electron’s binary is still missing (fetching it failed on 2025-01-02 03:04: there is no network access to download it); trying again…');
    expect(second.result.reason).toMatch(/could not be fetched: there is no network access/);
  });

  it('forgets the failure once a fetch works, and does nothing when the binary is there', () => {
    attempt(offline);
    const fixed = attempt(() => {
      putBinary();
      return 'downloaded';
    });
    expect(fixed.result).toEqual({ binary: join(packageDir, 'dist', 'electron') });
    expect(existsSync(join(packageDir, FAILED_FETCH_MARKER))).toBe(false);

    const again = attempt(offline);
    expect(again).toMatchObject({ installs: 0, lines: [], result: { binary: join(packageDir, 'dist', 'electron') } });
  });

  it('names the error line of another failure, without backticks', () => {
    expect(failureCause('npm notice\nError: EACCES: permission denied, mkdir `/usr/lib/node_modules/electron/dist`\n')).toBe(
      'Error: EACCES: permission denied, mkdir /usr/lib/node_modules/electron/dist',
    );
    expect(failureCause('')).toBe('the download failed');
  });
});
