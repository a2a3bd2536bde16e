/**
 * Workers run from source in tests. On Node 20, `--import tsx` in a worker's execArgv does not
 * reach the worker's own entry (ERR_UNKNOWN_FILE_EXTENSION), so the worker registers tsx itself
 * before importing the TypeScript file.
 */
export function sourceWorkerBootstrap(entry: URL): string {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
}
