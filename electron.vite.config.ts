import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rolldownOptions: {
        input: {
          index: resolve('src-main/index.ts'),
          cli: resolve('src-main/cli/main.ts'),
          'engine-worker': resolve('src-main/core/engine/worker.ts'),
          // The parallel trainer's helper threads (src-main/core/engine/parallel/trainer.ts finds it beside engine-worker.js).
          'engine-shard': resolve('src-main/core/engine/parallel/shard-worker.ts'),
        },
        // Flat output: entries and shared chunks side by side, so `new URL('./engine-worker.js',
        // import.meta.url)` and `../renderer/` resolve from any of them (see src-main/locations.ts).
        output: { entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload cannot require() anything but a few Electron modules: one CJS file.
      externalizeDeps: false,
      isolatedEntries: true,
      rolldownOptions: {
        input: { index: resolve('src-main/preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'src-renderer',
    plugins: [svelte({ configFile: resolve('svelte.config.js') })],
    build: {
      outDir: 'out/renderer',
      // electron-vite leaves the renderer unminified (930 kB); minified it is 430 kB, which the
      // browser shell sends over HTTP and every window parses at start.
      minify: true,
      rolldownOptions: { input: { index: resolve('src-renderer/index.html') } },
    },
  },
});
