/**
 * Sandboxed preload: exposes Atelier's verbs (`window.atelier.system.info()`), built from the
 * contract, and never `ipcRenderer` itself. Bundled into one CommonJS file for the sandbox.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { buildBridge, type CallName, type EventName } from '../contract';

const EVENT_CHANNEL = 'atelier:event';

const api = buildBridge(
  (channel: CallName, input: unknown) => ipcRenderer.invoke(channel, input),
  (event: EventName, listener: (payload: unknown) => void) => {
    const forward = (_event: unknown, name: unknown, payload: unknown): void => {
      if (name === event) listener(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, forward);
    };
  },
);

/**
 * The path of a dropped or chosen file (Electron no longer puts it on `File`). Typed by the window
 * declaration the renderer sees (api.d.ts), so the two cannot drift apart.
 */
const files: NonNullable<Window['atelierFiles']> = { pathFor: (file) => webUtils.getPathForFile(file) };

contextBridge.exposeInMainWorld('atelier', api);
contextBridge.exposeInMainWorld('atelierFiles', files);
