/**
 * Fashion-MNIST without any UI: find it (`describeSources`, `findDataset`), fill the cache
 * (`downloadDataset`, `importFromFolder`), and hold it in memory (`DatasetStore`). The pieces
 * below (`parseIdx`, `gunzipCapped`, `verifyDatasetFile`) are exported for the CLI and tests.
 */
export * from './files';
export * from './idx';
export * from './gunzip';
export * from './verify';
export * from './sources';
export * from './download';
export * from './store';
