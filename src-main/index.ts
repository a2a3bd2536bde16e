/**
 * Electron composition root: assemble the core, then call one `setupX()` per feature.
 */
import { app, BrowserWindow, dialog } from 'electron';
import { createAtelier } from './app';
import type { ExportFormat } from './contract';
import { EXPORT_FORMATS } from './core/export/formats';
import { registerIpc } from './ipc/register';
import { engineWorkerUrl } from './locations';
import { createMainWindow, isTrustedFrame, setupSecurity } from './window';

const atelier = createAtelier({
  engineWorkerUrl: engineWorkerUrl(),
  electronVersion: process.versions.electron ?? null,
  pickFolder: pickDatasetFolder,
  modelDialogs: { chooseExportPath, chooseImportFolder: chooseModelFolder },
  pickPhotos,
});

/** Electron's open dialog, modal to the focused window when there is one; the chosen paths, none when cancelled. */
async function showOpenDialog(options: Electron.OpenDialogOptions): Promise<string[]> {
  const window = BrowserWindow.getFocusedWindow();
  const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  return result.canceled ? [] : result.filePaths;
}

/** The same for the save dialog: the path typed, null when cancelled. */
async function showSaveDialog(options: Electron.SaveDialogOptions): Promise<string | null> {
  const window = BrowserWindow.getFocusedWindow();
  const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
  return result.canceled || !result.filePath ? null : result.filePath;
}

/** The open dialog for Classify's Open…: photos, several at once. */
async function pickPhotos(): Promise<string[]> {
  const options: Electron.OpenDialogOptions = {
    title: 'Choose clothing photos to classify',
    buttonLabel: 'Classify',
    filters: [
      { name: 'Photos', extensions: ['jpg', 'jpeg', 'jfif', 'png', 'webp', 'gif', 'avif', 'tif', 'tiff', 'bmp'] },
      { name: 'All files', extensions: ['*'] },
    ],
    properties: ['openFile', 'multiSelections', 'dontAddToRecent'],
  };
  return showOpenDialog(options);
}

/** The native folder dialog for `dataset.pickFolder`. */
async function pickDatasetFolder(): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: 'Choose the folder that holds Fashion-MNIST',
    buttonLabel: 'Use this folder',
    properties: ['openDirectory', 'dontAddToRecent'],
  };
  const [folder] = await showOpenDialog(options);
  return folder ?? null;
}

/** The save dialog for a model export: the name typed becomes the export folder. */
async function chooseExportPath({ defaultName, format }: { defaultName: string; format: ExportFormat }): Promise<string | null> {
  const options: Electron.SaveDialogOptions = {
    title: `Export the model as ${EXPORT_FORMATS[format].label}`,
    buttonLabel: 'Export',
    defaultPath: defaultName,
    message: 'Atelier creates a folder with this name holding the model and atelier-model.json.',
    properties: ['createDirectory', 'dontAddToRecent'],
  };
  return showSaveDialog(options);
}

/** The folder dialog for importing a TF.js model. */
async function chooseModelFolder(): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: 'Import a TF.js model',
    buttonLabel: 'Import',
    message: 'Choose the folder that holds model.json and its weights.',
    properties: ['openDirectory', 'dontAddToRecent'],
  };
  const [folder] = await showOpenDialog(options);
  return folder ?? null;
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
