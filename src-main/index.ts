/**
 * Electron composition root: assemble the core, then call one `setupX()` per feature.
 */
import { app, BrowserWindow, dialog } from 'electron';
import { createAtelier } from './app';
import { registerIpc } from './ipc/register';
import { engineWorkerUrl } from './locations';
import { createMainWindow, isTrustedFrame, setupSecurity } from './window';

const atelier = createAtelier({
  engineWorkerUrl: engineWorkerUrl(),
  electronVersion: process.versions.electron ?? null,
  pickFolder: pickDatasetFolder,
});

/** The native folder dialog for `dataset.pickFolder`, attached to the focused window when there is one. */
async function pickDatasetFolder(): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: 'Choose the folder that holds Fashion-MNIST',
    buttonLabel: 'Use this folder',
    properties: ['openDirectory', 'dontAddToRecent'],
  };
  const window = BrowserWindow.getFocusedWindow();
  const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const [window] = BrowserWindow.getAllWindows();
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });

  void app.whenReady().then(() => {
    setupSecurity();
    registerIpc(atelier, isTrustedFrame);
    createMainWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  app.on('will-quit', () => {
    void atelier.dispose();
  });
}
