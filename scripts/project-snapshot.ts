/**
 * A copy of the project (sources, config and the current build, without node_modules, .git or
 * test output) for the packaging tests, so that a rebuild of `out/` running at the same time
 * (another terminal, another test run) cannot pull files from under `npm pack` or electron-builder.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What the packaging tests need from a build; a snapshot without them is not taken. */
export const BUILT_FILES = ['out/main/index.js', 'out/main/cli.js', 'out/main/engine-worker.js', 'out/main/engine-shard.js', 'out/preload/index.cjs', 'out/renderer/index.html'];

const SKIPPED_TOP_LEVEL = new Set(['node_modules', '.git', 'test-results', 'dist', 'playwright-report']);

/** The built page's own scripts and styles, all present: the build was not caught halfway. */
function buildIsWhole(root: string): boolean {
  if (!BUILT_FILES.every((file) => existsSync(join(root, file)))) return false;
  const html = readFileSync(join(root, 'out', 'renderer', 'index.html'), 'utf8');
  const assets = [...html.matchAll(/(?:src|href)="\.?\/?([^":]+)"/g)].map((match) => match[1]!);
  return assets.every((asset) => existsSync(join(root, 'out', 'renderer', asset)));
}

/**
 * Copies the project into `destination` (created) and, with `linkNodeModules`, links the real
 * node_modules into it. Retries while a rebuild is caught mid-way; throws when there is no build.
 */
export async function snapshotProject(destination: string, options: { linkNodeModules?: boolean } = {}): Promise<void> {
  if (!BUILT_FILES.every((file) => existsSync(join(PROJECT_ROOT, file)))) {
    throw new Error(`The build is missing (${BUILT_FILES.join(', ')}): run \`npm run build\` before this test.`);
  }
  let lastError: unknown = null;
  for (let attempt = 0; attempt < 6; attempt++) {
    rmSync(destination, { recursive: true, force: true });
    mkdirSync(destination, { recursive: true });
    try {
      cpSync(PROJECT_ROOT, destination, {
        recursive: true,
        filter: (source) => {
          const path = relative(PROJECT_ROOT, source);
          return path === '' || !SKIPPED_TOP_LEVEL.has(path.split(sep)[0]!);
        },
      });
      if (buildIsWhole(destination)) {
        if (options.linkNodeModules) symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(destination, 'node_modules'), 'junction');
        return;
      }
      lastError = new Error('out/ changed while it was copied');
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
  throw new Error(`Could not copy a whole build of out/ (is a build running?): ${String(lastError)}`);
}
