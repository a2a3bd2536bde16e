/**
 * Core sits below every shell: it may use the typed contract (the boundary all three shells share)
 * and nothing else above it, or the CLI, the web server and Electron would drag each other in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const CORE = dirname(fileURLToPath(import.meta.url));
const SRC_MAIN = dirname(CORE);
const ALLOWED_ABOVE_CORE = new Set(['contract']);

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    // Tests and their helpers (test-*.ts) may assemble the whole app; what ships may not.
    const isTestCode = entry.name.endsWith('.test.ts') || entry.name.startsWith('test-');
    return entry.name.endsWith('.ts') && !isTestCode ? [path] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function relativeImports(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)'(\.{1,2}\/[^']*)'/g)].map((match) => match[1]!);
}

it('nothing in src-main/core imports from above it, except the contract', () => {
  const offenders = sourcesUnder(CORE).flatMap((file) =>
    relativeImports(readFileSync(file, 'utf8'))
      .map((specifier) => resolve(dirname(file), specifier))
      .filter((target) => !target.startsWith(CORE + '/') && !ALLOWED_ABOVE_CORE.has(relative(SRC_MAIN, target).replace(/\.ts$/, '')))
      .map((target) => `${relative(SRC_MAIN, file)} → ${relative(SRC_MAIN, target)}`),
  );
  expect(offenders).toEqual([]);
});
