/**
 * The only place that touches `ipcMain`: one handler per contract channel, each checking that the
 * sender is Atelier's own renderer before the payload is validated and dispatched.
 */
import { BrowserWindow, ipcMain, type WebFrameMain } from 'electron';
import type { Atelier } from '../app';
import { CALL_NAMES } from '../contract';
import { dispatch } from '../dispatch';

/** The channel on which core events reach the renderer. */
export const EVENT_CHANNEL = 'atelier:event';

export function registerIpc(atelier: Atelier, isTrustedFrame: (frame: WebFrameMain | null) => boolean): () => void {
  for (const channel of CALL_NAMES) {
    ipcMain.handle(channel, async (event, payload: unknown) => {
      if (!isTrustedFrame(event.senderFrame)) {
        return { ok: false, error: { kind: 'unauthorized', message: `Refused ${channel}: the caller is not Atelier's window.` } };
      }
      return dispatch(atelier.handlers, channel, payload, { shell: 'electron' });
    });
  }
  const unsubscribe = atelier.events.subscribe((name, payload) => {
    for (const window of BrowserWindow.getAllWindows()) {
      if (!window.isDestroyed()) window.webContents.send(EVENT_CHANNEL, name, payload);
    }
  });
  return () => {
    unsubscribe();
    for (const channel of CALL_NAMES) ipcMain.removeHandler(channel);
  };
}
