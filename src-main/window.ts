/**
 * The main window and the security rules every web content obeys: context isolation, sandbox,
 * no Node in the page, no navigation away, no new windows, external links only for http(s),
 * and every permission denied but the camera (video only) for Atelier's own page (permissions.ts).
 */
import { app, BrowserWindow, session, shell, type WebContents, type WebFrameMain } from 'electron';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isSafeExternalUrl } from './external-url';
import { allowsPermission } from './permissions';

const rendererIndex = fileURLToPath(new URL('../renderer/index.html', import.meta.url));
const devServerUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;

/** The origin(s) Atelier's own renderer loads from; everything else is untrusted. */
export function isTrustedFrame(frame: WebFrameMain | null): boolean {
  if (!frame) return false;
  return isOwnPageUrl(frame.url);
}

/** True for the URL of Atelier's own renderer page (with a hash or query), nothing else. */
export function isOwnPageUrl(url: string): boolean {
  if (devServerUrl && url.startsWith(devServerUrl)) return true;
  return url === pathToFileURL(rendererIndex).href || url.startsWith(`${pathToFileURL(rendererIndex).href}#`) || url.startsWith(`${pathToFileURL(rendererIndex).href}?`);
}

function guardContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    // electronegativity: only http(s) URLs reach openExternal (isSafeExternalUrl; security.test.ts tries file:, smb:, javascript: and more)
    if (isSafeExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

/** Applied once, before any window exists. */
export function setupSecurity(): void {
  // Classify's live camera: video for Atelier's own page; every other request and check is denied.
  session.defaultSession.setPermissionRequestHandler((_contents, permission, callback, details) => {
    const mediaTypes = 'mediaTypes' in details ? (details.mediaTypes ?? []) : undefined;
    callback(allowsPermission({ permission, requestingUrl: details.requestingUrl, mediaTypes }, isOwnPageUrl));
  });
  session.defaultSession.setPermissionCheckHandler((_contents, permission, _origin, details) =>
    allowsPermission({ permission, requestingUrl: details.requestingUrl, mediaType: details.mediaType }, isOwnPageUrl),
  );
  app.on('web-contents-created', (_event, contents) => guardContents(contents));
}

export function createMainWindow(): BrowserWindow {
  // electronegativity: a middle-click opens a window through setWindowOpenHandler like any link, which denies it (guardContents)
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Atelier',
    backgroundColor: '#14161a',
    webPreferences: {
      // electronegativity: our own sandboxed preload; it exposes the contract's verbs only, never ipcRenderer (security.test.ts)
      preload: fileURLToPath(new URL('../preload/index.cjs', import.meta.url)),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  if (devServerUrl) void window.loadURL(devServerUrl);
  else void window.loadFile(rendererIndex);
  return window;
}
