import type { AtelierBridge } from '../contract';

declare global {
  interface Window {
    /** Present in the Electron shell (from the preload); absent in the browser shell. */
    atelier?: AtelierBridge;
    atelierFiles?: { pathFor(file: File): string };
  }
}

export {};
