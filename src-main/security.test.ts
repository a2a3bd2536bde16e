/**
 * Electron's security checklist, checked without the Electron binary: by reading the sources
 * (TypeScript's parser, not regular expressions, so formatting cannot hide anything), by loading
 * the Electron-facing modules against a stand-in `electron` module, and by running the built
 * preload against the same stand-in.
 */
import fc from 'fast-check';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Atelier } from './app';
import { CALL_NAMES, EVENT_NAMES, type EngineInfo } from './contract';
import type { CallContext, Handlers } from './dispatch';
import { EventHub } from './events';
import { isSafeExternalUrl } from './external-url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC_MAIN = join(ROOT, 'src-main');
const SRC_RENDERER = join(ROOT, 'src-renderer');
const BUILT_PRELOAD = join(ROOT, 'out', 'preload', 'index.cjs');
const BUILT_INDEX_HTML = join(ROOT, 'out', 'renderer', 'index.html');

// ─── the stand-in `electron` module ───────────────────────────────────────────────────────────────

interface FakeWindow {
  options: { webPreferences?: Record<string, unknown> } & Record<string, unknown>;
  loaded: string[];
  webContents: { send: ReturnType<typeof vi.fn> };
  destroyed: boolean;
}

const electron = vi.hoisted(() => {
  const state = {
    ipcHandlers: new Map<string, (event: unknown, payload: unknown) => unknown>(),
    ipcMainCalls: [] as string[],
    exposed: new Map<string, unknown>(),
    appListeners: new Map<string, Array<(...args: unknown[]) => void>>(),
    permissionRequestHandler: null as null | ((...args: unknown[]) => void),
    permissionCheckHandler: null as null | ((...args: unknown[]) => unknown),
    windows: [] as Array<{
      options: Record<string, unknown>;
      loaded: string[];
      webContents: { send: (...args: unknown[]) => void };
      destroyed: boolean;
    }>,
  };
  const openExternal = vi.fn(async (_url: string) => undefined);
  const ipcRenderer = {
    invoke: vi.fn(async (channel: string, input: unknown) => ({ ok: true, value: { channel, input } })),
    on: vi.fn(),
    removeListener: vi.fn(),
    send: vi.fn(),
    sendSync: vi.fn(),
  };
  const webUtils = { getPathForFile: vi.fn(() => '/dropped/file.png') };
  class BrowserWindow {
    options: Record<string, unknown>;
    loaded: string[] = [];
    webContents = { send: vi.fn() };
    destroyed = false;
    constructor(options: Record<string, unknown>) {
      this.options = options;
      state.windows.push(this);
    }
    once(): void {}
    on(): void {}
    show(): void {}
    isDestroyed(): boolean {
      return this.destroyed;
    }
    async loadFile(path: string): Promise<void> {
      this.loaded.push(`file:${path}`);
    }
    async loadURL(url: string): Promise<void> {
      this.loaded.push(`url:${url}`);
    }
    static getAllWindows(): unknown[] {
      return state.windows;
    }
  }
  const module = {
    app: {
      isPackaged: true,
      on: (name: string, listener: (...args: unknown[]) => void) => {
        state.appListeners.set(name, [...(state.appListeners.get(name) ?? []), listener]);
      },
    },
    BrowserWindow,
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler: (...args: unknown[]) => void) => {
          state.permissionRequestHandler = handler;
        },
        setPermissionCheckHandler: (handler: (...args: unknown[]) => unknown) => {
          state.permissionCheckHandler = handler;
        },
      },
    },
    shell: { openExternal },
    ipcMain: {
      handle: (channel: string, handler: (event: unknown, payload: unknown) => unknown) => {
        state.ipcMainCalls.push(`handle:${channel}`);
        state.ipcHandlers.set(channel, handler);
      },
      handleOnce: (channel: string) => state.ipcMainCalls.push(`handleOnce:${channel}`),
      on: (channel: string) => state.ipcMainCalls.push(`on:${channel}`),
      removeHandler: (channel: string) => {
        state.ipcMainCalls.push(`removeHandler:${channel}`);
        state.ipcHandlers.delete(channel);
      },
    },
    contextBridge: {
      exposeInMainWorld: (key: string, value: unknown) => {
        if (state.exposed.has(key)) throw new Error(`exposed twice: ${key}`);
        state.exposed.set(key, value);
      },
    },
    ipcRenderer,
    webUtils,
  };
  return { state, module, openExternal, ipcRenderer };
});

vi.mock('electron', () => ({ ...electron.module, default: electron.module }));

// ─── reading the sources ──────────────────────────────────────────────────────────────────────────

interface SourceFile {
  path: string;
  /** Repo-relative, with forward slashes. */
  name: string;
  ast: ts.SourceFile;
}

function listFiles(dir: string, extensions: string[]): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .map((entry) => join(dir, entry))
    .filter((path) => extensions.some((extension) => path.endsWith(extension)) && statSync(path).isFile());
}

const isTest = (name: string): boolean => /\.test\.ts$/.test(name) || name.includes('/test-helpers');

const parsed = new Map<string, SourceFile>();

function parse(path: string): SourceFile {
  const cached = parsed.get(path);
  if (cached) return cached;
  let text = readFileSync(path, 'utf8');
  if (path.endsWith('.svelte')) {
    // Only the script blocks can import anything.
    text = [...text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((match) => match[1]).join('\n');
  }
  const ast = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const file = { path, name: relative(ROOT, path).split(sep).join('/'), ast };
  parsed.set(path, file);
  return file;
}

let mainSources: SourceFile[] = [];
let rendererSources: SourceFile[] = [];

beforeAll(() => {
  mainSources = listFiles(SRC_MAIN, ['.ts']).filter((path) => !path.endsWith('.d.ts')).map(parse);
  rendererSources = existsSync(SRC_RENDERER) ? listFiles(SRC_RENDERER, ['.ts', '.svelte']).map(parse) : [];
});

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

interface ModuleReference {
  specifier: string;
  /** False for `import type` / `export type`, which leave nothing at run time. */
  runtime: boolean;
}

/** Every module a file names: static imports and re-exports, `import()`, `require()`, `import x = require()`. */
function moduleReferences(file: SourceFile): ModuleReference[] {
  const references: ModuleReference[] = [];
  walk(file.ast, (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      references.push({ specifier: node.moduleSpecifier.text, runtime: !node.importClause?.isTypeOnly });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      references.push({ specifier: node.moduleSpecifier.text, runtime: !node.isTypeOnly });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) references.push({ specifier: expression.text, runtime: !node.isTypeOnly });
    } else if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
      if ((isImport || isRequire) && first && ts.isStringLiteralLike(first)) references.push({ specifier: first.text, runtime: true });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      references.push({ specifier: node.argument.literal.text, runtime: false });
    }
  });
  return references;
}

const isElectron = (specifier: string): boolean => specifier === 'electron' || specifier.startsWith('electron/');
const isTensorflow = (specifier: string): boolean => specifier.startsWith('@tensorflow/');

/** The source file a relative specifier points at, or null for packages and non-TypeScript files. */
function resolveRelative(from: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Packages loaded at run time by `entry` and everything it imports, with the import chain to each. */
function runtimePackages(entry: string): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const queue: Array<{ path: string; chain: string[] }> = [{ path: entry, chain: [relative(ROOT, entry)] }];
  while (queue.length > 0) {
    const { path, chain } = queue.shift()!;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const reference of moduleReferences(parse(path))) {
      if (!reference.runtime) continue;
      const target = resolveRelative(path, reference.specifier);
      if (target) queue.push({ path: target, chain: [...chain, relative(ROOT, target)] });
      else if (!reference.specifier.startsWith('.') && !packages.has(reference.specifier)) packages.set(reference.specifier, chain);
    }
  }
  return packages;
}

/** Object literal properties by name (no spreads, no computed names: those would hide settings). */
function literalProperties(object: ts.ObjectLiteralExpression): Map<string, ts.Expression | null> {
  const properties = new Map<string, ts.Expression | null>();
  for (const property of object.properties) {
    if (ts.isPropertyAssignment(property) && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name))) {
      properties.set(property.name.text, property.initializer);
    } else if (ts.isShorthandPropertyAssignment(property)) {
      properties.set(property.name.text, null);
    } else {
      properties.set(`<${ts.SyntaxKind[property.kind]}>`, null);
    }
  }
  return properties;
}

const isTrue = (expression: ts.Expression | null | undefined): boolean => expression?.kind === ts.SyntaxKind.TrueKeyword;
const isFalse = (expression: ts.Expression | null | undefined): boolean => expression?.kind === ts.SyntaxKind.FalseKeyword;

/** Calls of `<anything>.<method>(...)` in a file. */
function methodCalls(file: SourceFile, method: string): ts.CallExpression[] {
  const calls: ts.CallExpression[] = [];
  walk(file.ast, (node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === method) calls.push(node);
  });
  return calls;
}

function source(name: string): SourceFile {
  const file = mainSources.find((candidate) => candidate.name === name);
  if (!file) throw new Error(`${name} is missing`);
  return file;
}

/** Expressions a function can return (its expression body, or every `return x` not inside a nested function). */
function returnedExpressions(fn: ts.ArrowFunction | ts.FunctionExpression): Array<ts.Expression | undefined> {
  if (!ts.isBlock(fn.body)) return [fn.body];
  const returned: Array<ts.Expression | undefined> = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node)) return;
    if (ts.isReturnStatement(node)) returned.push(node.expression);
    node.forEachChild(visit);
  };
  fn.body.forEachChild(visit);
  return returned;
}

function unwrap(expression: ts.Expression | undefined): ts.Expression | undefined {
  let current = expression;
  while (current && (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isSatisfiesExpression(current))) current = current.expression;
  return current;
}

function asFunction(node: ts.Node | undefined): ts.ArrowFunction | ts.FunctionExpression {
  if (node && (ts.isArrowFunction(node) || ts.isFunctionExpression(node))) return node;
  throw new Error(`expected an inline function, got ${node ? ts.SyntaxKind[node.kind] : 'nothing'}`);
}

// ─── 1. webPreferences ────────────────────────────────────────────────────────────────────────────

describe('every window is isolated, sandboxed and without Node', () => {
  it('each `new BrowserWindow` passes an object literal with webPreferences', () => {
    let windows = 0;
    for (const file of mainSources.filter((candidate) => !isTest(candidate.name))) {
      walk(file.ast, (node) => {
        if (!ts.isNewExpression(node) || node.expression.getText() !== 'BrowserWindow') return;
        windows++;
        const [options] = node.arguments ?? [];
        expect(options && ts.isObjectLiteralExpression(options), `${file.name}: new BrowserWindow needs an options literal`).toBe(true);
        expect(literalProperties(options as ts.ObjectLiteralExpression).has('webPreferences'), `${file.name}: new BrowserWindow without webPreferences`).toBe(true);
      });
    }
    expect(windows).toBeGreaterThanOrEqual(1);
  });

  it('every webPreferences sets contextIsolation, sandbox, no nodeIntegration, and turns nothing unsafe on', () => {
    const checked: string[] = [];
    for (const file of mainSources.filter((candidate) => !isTest(candidate.name))) {
      walk(file.ast, (node) => {
        if (!ts.isPropertyAssignment(node) || node.name.getText() !== 'webPreferences') return;
        const where = `${file.name}:${file.ast.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
        expect(ts.isObjectLiteralExpression(node.initializer), `${where}: webPreferences must be a literal`).toBe(true);
        const preferences = literalProperties(node.initializer as ts.ObjectLiteralExpression);
        for (const key of preferences.keys()) expect(key.startsWith('<'), `${where}: ${key} in webPreferences can hide a setting`).toBe(false);
        expect(isTrue(preferences.get('contextIsolation')), `${where}: contextIsolation: true`).toBe(true);
        expect(isTrue(preferences.get('sandbox')), `${where}: sandbox: true`).toBe(true);
        expect(isFalse(preferences.get('nodeIntegration')), `${where}: nodeIntegration: false`).toBe(true);
        for (const risky of ['nodeIntegrationInWorker', 'nodeIntegrationInSubFrames', 'allowRunningInsecureContent', 'experimentalFeatures', 'enableBlinkFeatures', 'webviewTag']) {
          expect(!preferences.has(risky) || isFalse(preferences.get(risky)), `${where}: ${risky} must be absent or false`).toBe(true);
        }
        expect(!preferences.has('webSecurity') || isTrue(preferences.get('webSecurity')), `${where}: webSecurity must stay on`).toBe(true);
        checked.push(where);
      });
    }
    expect(checked.length).toBeGreaterThanOrEqual(1);
  });

  it('createMainWindow builds its window with exactly those preferences (run against a stand-in electron)', async () => {
    const { createMainWindow } = await import('./window');
    electron.state.windows.length = 0;
    createMainWindow();
    expect(electron.state.windows).toHaveLength(1);
    const window = electron.state.windows[0] as unknown as FakeWindow;
    const preferences = window.options.webPreferences!;
    expect(preferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(preferences.webSecurity).not.toBe(false);
    expect(preferences.allowRunningInsecureContent).toBeFalsy();
    expect(preferences.experimentalFeatures).toBeFalsy();
    expect(String(preferences.preload)).toMatch(/preload[/\\]index\.cjs$/);
    // Packaged (no dev server): the page is the local file, never a remote URL.
    expect(window.loaded).toHaveLength(1);
    expect(window.loaded[0]).toMatch(/^file:.*index\.html$/);
  });
});

// ─── 2. the preload ───────────────────────────────────────────────────────────────────────────────

/** Every value reachable from `root` (own properties, a few levels deep). */
function reachable(root: unknown, depth = 6): unknown[] {
  const found: unknown[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, level: number): void => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
    seen.add(value);
    found.push(value);
    if (level >= depth) return;
    for (const key of Reflect.ownKeys(value as object)) {
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor && 'value' in descriptor) visit(descriptor.value, level + 1);
    }
  };
  visit(root, 0);
  return found;
}

function collectFunctions(root: unknown, path = 'atelier'): Array<{ path: string; fn: (...args: unknown[]) => unknown }> {
  if (typeof root === 'function') return [{ path, fn: root as (...args: unknown[]) => unknown }];
  if (!root || typeof root !== 'object') return [];
  return Object.entries(root).flatMap(([key, value]) => collectFunctions(value, `${path}.${key}`));
}

function expectSafeBridge(exposed: Map<string, unknown>, channelsMustBe: readonly string[] | null): void {
  expect([...exposed.keys()].sort()).toEqual(['atelier', 'atelierFiles']);
  const ipcRendererParts = [electron.ipcRenderer, ...Object.values(electron.ipcRenderer)];
  for (const [key, value] of exposed) {
    for (const part of reachable(value)) expect(ipcRendererParts.includes(part as never), `window.${key} leaks ipcRenderer`).toBe(false);
  }

  // Every verb invokes one fixed contract channel; nothing lets the page pick the channel.
  const atelier = exposed.get('atelier') as Record<string, unknown>;
  const verbs = collectFunctions(atelier).filter(({ path }) => path !== 'atelier.on');
  electron.ipcRenderer.invoke.mockClear();
  for (const { fn } of verbs) void fn({ channel: 'evil.channel' }, 'evil.channel');
  const invoked = electron.ipcRenderer.invoke.mock.calls.map(([channel]) => channel);
  expect(invoked).toHaveLength(verbs.length);
  expect(invoked).not.toContain('evil.channel');
  for (const channel of invoked) expect(channel).toMatch(/^[a-z][A-Za-z]*\.[A-Za-z]+$/);
  if (channelsMustBe) expect([...invoked].sort()).toEqual([...channelsMustBe].sort());

  // Subscriptions only for contract events, and they return their unsubscribe function.
  const on = atelier.on as (event: string, listener: (payload: unknown) => void) => () => void;
  expect(() => on('evil.event', () => undefined)).toThrow();
  electron.ipcRenderer.on.mockClear();
  electron.ipcRenderer.removeListener.mockClear();
  const unsubscribe = on(EVENT_NAMES[0]!, () => undefined);
  expect(electron.ipcRenderer.on).toHaveBeenCalledTimes(1);
  const [eventChannel, forward] = electron.ipcRenderer.on.mock.calls[0]!;
  expect(eventChannel).toBe('atelier:event');
  unsubscribe();
  expect(electron.ipcRenderer.removeListener).toHaveBeenCalledWith('atelier:event', forward);

  const files = exposed.get('atelierFiles') as Record<string, unknown>;
  expect(Object.keys(files)).toEqual(['pathFor']);
}

describe('the preload exposes verbs, never ipcRenderer', () => {
  it('source: exposeInMainWorld is called only for "atelier" and "atelierFiles", never with ipcRenderer', () => {
    const preload = source('src-main/preload/index.ts');
    const exposures = methodCalls(preload, 'exposeInMainWorld');
    const names = exposures.map((call) => {
      const [name, value] = call.arguments;
      expect(name && ts.isStringLiteral(name), 'the exposed name must be a literal').toBe(true);
      let mentionsIpcRenderer = false;
      walk(value!, (node) => {
        if (ts.isIdentifier(node) && node.text === 'ipcRenderer') mentionsIpcRenderer = true;
      });
      expect(mentionsIpcRenderer, `${(name as ts.StringLiteral).text} must not expose ipcRenderer`).toBe(false);
      return (name as ts.StringLiteral).text;
    });
    expect(names.sort()).toEqual(['atelier', 'atelierFiles']);
    expect(preload.ast.text).not.toMatch(/\bsendSync\b/);
  });

  it('source: run against a stand-in electron, the exposed objects hold no ipcRenderer and verbs map to contract channels', async () => {
    electron.state.exposed.clear();
    await import('./preload/index');
    expectSafeBridge(electron.state.exposed, CALL_NAMES);
  });

  it.skipIf(!existsSync(BUILT_PRELOAD))('built out/preload/index.cjs: text and behaviour', () => {
    const code = readFileSync(BUILT_PRELOAD, 'utf8');
    const exposedNames = [...code.matchAll(/exposeInMainWorld\(\s*["'`]([^"'`]+)["'`]/g)].map((match) => match[1]);
    expect(exposedNames.sort()).toEqual(['atelier', 'atelierFiles']);
    expect(code.match(/exposeInMainWorld/g)).toHaveLength(2);
    expect(code).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*\)/);
    expect(code).not.toMatch(/\bsendSync\b/);

    // A sandboxed preload can require little more than 'electron'; this one must need nothing else.
    const required: string[] = [];
    const fakeRequire = (id: string): unknown => {
      required.push(id);
      if (id === 'electron') return electron.module;
      throw new Error(`the sandboxed preload cannot require "${id}"`);
    };
    electron.state.exposed.clear();
    const module = { exports: {} };
    new Function('require', 'module', 'exports', code)(fakeRequire, module, module.exports);
    expect([...new Set(required)]).toEqual(['electron']);
    // The build may predate the newest channels; the shape must still be safe.
    expectSafeBridge(electron.state.exposed, null);
  });
});

// ─── 3. who imports what ──────────────────────────────────────────────────────────────────────────

describe('module boundaries', () => {
  it('nothing outside src-main/ipc/ touches ipcMain', () => {
    const offenders: string[] = [];
    for (const file of mainSources.filter((candidate) => !isTest(candidate.name) && !candidate.name.startsWith('src-main/ipc/'))) {
      walk(file.ast, (node) => {
        if (ts.isIdentifier(node) && node.text === 'ipcMain') offenders.push(file.name);
      });
    }
    for (const file of rendererSources) if (/\bipcMain\b/.test(file.ast.text)) offenders.push(file.name);
    expect([...new Set(offenders)]).toEqual([]);
  });

  it('nothing in src-main/core imports electron', () => {
    const offenders = mainSources
      .filter((file) => file.name.startsWith('src-main/core/'))
      .flatMap((file) => moduleReferences(file).filter((reference) => isElectron(reference.specifier)).map(() => file.name));
    expect(offenders).toEqual([]);
  });

  it('the CLI, the browser shell and the core load no electron, even indirectly', () => {
    const entries = ['src-main/cli/main.ts', 'src-main/web/server.ts', 'src-main/app.ts', 'src-main/dispatch.ts', 'src-main/contract.ts'];
    entries.push(...mainSources.filter((file) => file.name.startsWith('src-main/core/') && !isTest(file.name)).map((file) => file.name));
    for (const entry of entries) {
      const electronChain = [...runtimePackages(join(ROOT, entry))].find(([name]) => isElectron(name));
      expect(electronChain?.[1].join(' → ') ?? null, entry).toBeNull();
    }
  });

  it('only src-main/core/engine/ imports @tensorflow/* (tests aside)', () => {
    const offenders = [...mainSources, ...rendererSources]
      .filter((file) => !isTest(file.name) && !file.name.startsWith('src-main/core/engine/'))
      .flatMap((file) => moduleReferences(file).filter((reference) => isTensorflow(reference.specifier)).map((reference) => `${file.name}: ${reference.specifier}`));
    expect(offenders).toEqual([]);
  });

  it('the main thread never loads TensorFlow.js: only the engine worker does', () => {
    // tfjs-node cannot be loaded in two threads of one process, so it must stay behind the worker.
    for (const entry of ['src-main/index.ts', 'src-main/cli/main.ts', 'src-main/web/server.ts', 'src-main/app.ts']) {
      const tensorflowChain = [...runtimePackages(join(ROOT, entry))].find(([name]) => isTensorflow(name));
      expect(tensorflowChain ? `${tensorflowChain[0]} via ${tensorflowChain[1].join(' → ')}` : null, entry).toBeNull();
    }
  });
});

// ─── 4. the page's Content-Security-Policy ───────────────────────────────────────────────────────

function contentSecurityPolicy(html: string): Map<string, string[]> {
  const metas = [...html.matchAll(/<meta\b[^>]*http-equiv\s*=\s*["']Content-Security-Policy["'][^>]*>/gi)];
  expect(metas, 'exactly one CSP meta').toHaveLength(1);
  const content = /content\s*=\s*"([^"]*)"/i.exec(metas[0]![0]) ?? /content\s*=\s*'([^']*)'/i.exec(metas[0]![0]);
  expect(content, 'the CSP meta needs a content attribute').not.toBeNull();
  return parseCsp(content![1]!);
}

function parseCsp(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const directive of policy.split(';')) {
    const [name, ...values] = directive.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), values);
  }
  return directives;
}

function expectStrictCsp(html: string, where: string): void {
  const csp = contentSecurityPolicy(html);
  expectStrictDirectives(csp, where);
  // Browsers ignore frame-ancestors in a meta and log an error on every page: it belongs in a header.
  expect(csp.has('frame-ancestors'), `${where}: frame-ancestors in a meta`).toBe(false);
  // A CSP meta only governs what follows it.
  const cspAt = html.search(/http-equiv\s*=\s*["']Content-Security-Policy/i);
  const firstScript = html.search(/<script\b/i);
  if (firstScript >= 0) expect(cspAt, `${where}: the CSP meta must come before the first script`).toBeLessThan(firstScript);
}

function expectStrictDirectives(csp: Map<string, string[]>, where: string): void {
  expect(csp.get('default-src'), `${where}: default-src`).toEqual(["'none'"]);
  const scripts = csp.get('script-src');
  expect(scripts, `${where}: script-src`).toBeDefined();
  expect(scripts).toContain("'self'");
  for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", '*', 'data:', 'blob:', 'http:', 'https:']) {
    expect(scripts, `${where}: script-src must not allow ${unsafe}`).not.toContain(unsafe);
  }
  const objects = csp.get('object-src');
  if (objects) expect(objects).toEqual(["'none'"]);
}

describe('the renderer page', () => {
  it("src-renderer/index.html has a CSP with default-src 'none' and script-src 'self' only", () => {
    expectStrictCsp(readFileSync(join(SRC_RENDERER, 'index.html'), 'utf8'), 'src-renderer/index.html');
  });

  it("the browser shell's CSP header is the page's policy plus frame-ancestors 'none'", async () => {
    const { RENDERER_HEADER_CSP } = await import('./web/csp');
    const header = parseCsp(RENDERER_HEADER_CSP);
    expectStrictDirectives(header, 'the CSP header');
    expect(header.get('frame-ancestors')).toEqual(["'none'"]);
    const meta = contentSecurityPolicy(readFileSync(join(SRC_RENDERER, 'index.html'), 'utf8'));
    header.delete('frame-ancestors');
    expect(header).toEqual(meta);
  });

  it.skipIf(!existsSync(BUILT_INDEX_HTML))('the built index.html keeps that CSP and has no inline script', () => {
    const html = readFileSync(BUILT_INDEX_HTML, 'utf8');
    expectStrictCsp(html, 'out/renderer/index.html');
    for (const script of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      expect(script[1], 'every script is loaded from a file').toMatch(/\bsrc\s*=/);
      expect(script[2]!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  });
});

// ─── 5. navigation, new windows, permissions, external links ─────────────────────────────────────

describe('window.ts guards every web content', () => {
  it('source: will-navigate is prevented, the window-open handler only denies, permission requests are refused but by allowsPermission', () => {
    const window = source('src-main/window.ts');

    const navigationGuards = methodCalls(window, 'on').filter((call) => {
      const [event] = call.arguments;
      return event && ts.isStringLiteral(event) && event.text === 'will-navigate';
    });
    expect(navigationGuards).toHaveLength(1);
    expect(asFunction(navigationGuards[0]!.arguments[1]).getText()).toMatch(/\.preventDefault\(\)/);

    const openHandlers = methodCalls(window, 'setWindowOpenHandler');
    expect(openHandlers).toHaveLength(1);
    const returned = returnedExpressions(asFunction(openHandlers[0]!.arguments[0]));
    expect(returned.length).toBeGreaterThanOrEqual(1);
    for (const expression of returned) {
      const object = unwrap(expression);
      expect(object && ts.isObjectLiteralExpression(object), 'the window-open handler returns a literal').toBe(true);
      const action = literalProperties(object as ts.ObjectLiteralExpression).get('action');
      expect(action && ts.isStringLiteral(action) ? action.text : null).toBe('deny');
    }

    const permissionHandlers = methodCalls(window, 'setPermissionRequestHandler');
    expect(permissionHandlers).toHaveLength(1);
    const handler = asFunction(permissionHandlers[0]!.arguments[0]);
    const callback = handler.parameters[2]?.name.getText();
    expect(callback).toBeDefined();
    const callbackCalls: ts.CallExpression[] = [];
    walk(handler.body, (node) => {
      if (ts.isCallExpression(node) && node.expression.getText() === callback) callbackCalls.push(node);
    });
    expect(callbackCalls.length).toBeGreaterThanOrEqual(1);
    // Only a plain refusal, or the answer of allowsPermission (permissions.ts, tried case by case below).
    for (const call of callbackCalls) {
      expect(call.arguments).toHaveLength(1);
      const answer = call.arguments[0]!;
      const decided = answer.getText() === 'false' || (ts.isCallExpression(answer) && answer.expression.getText() === 'allowsPermission');
      expect(decided, answer.getText()).toBe(true);
    }
    const checkHandlers = methodCalls(window, 'setPermissionCheckHandler');
    expect(checkHandlers).toHaveLength(1);
    const checkReturns = returnedExpressions(asFunction(checkHandlers[0]!.arguments[0]));
    expect(checkReturns.length).toBeGreaterThanOrEqual(1);
    for (const expression of checkReturns) {
      const answer = unwrap(expression);
      expect(answer && ts.isCallExpression(answer) && answer.expression.getText() === 'allowsPermission', expression?.getText() ?? 'a bare return').toBe(true);
    }
  });

  describe('run against a stand-in electron', () => {
    type Listener = (...args: unknown[]) => unknown;
    let contentsListeners: Map<string, Listener>;
    let openHandler: Listener;

    beforeAll(async () => {
      const { setupSecurity } = await import('./window');
      setupSecurity();
      const created = electron.state.appListeners.get('web-contents-created') ?? [];
      expect(created).toHaveLength(1);
      contentsListeners = new Map();
      const contents = {
        on: (name: string, listener: Listener) => contentsListeners.set(name, listener),
        setWindowOpenHandler: (handler: Listener) => {
          openHandler = handler;
        },
      };
      created[0]!({}, contents);
    });

    beforeEach(() => electron.openExternal.mockClear());

    it('prevents navigation, redirects and webviews', () => {
      for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
        const preventDefault = vi.fn();
        const listener = contentsListeners.get(name);
        expect(listener, name).toBeDefined();
        listener!({ preventDefault }, 'https://evil.example/');
        expect(preventDefault, name).toHaveBeenCalled();
      }
    });

    it('denies every new window; only http(s) links go to the system browser', () => {
      for (const url of ['https://www.tensorflow.org/', 'http://example.com/a?b#c']) {
        expect(openHandler({ url })).toEqual({ action: 'deny' });
        expect(electron.openExternal).toHaveBeenLastCalledWith(url);
      }
      electron.openExternal.mockClear();
      for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'atelier://x', 'not a url', '']) {
        expect(openHandler({ url })).toEqual({ action: 'deny' });
      }
      expect(electron.openExternal).not.toHaveBeenCalled();
    });

    /** Atelier's own page as the window loads it (the stand-in app is packaged: the built renderer). */
    const ownPage = (): string => pathToFileURL(fileURLToPath(new URL('../renderer/index.html', import.meta.url))).href;
    const OTHER_PERMISSIONS = ['geolocation', 'notifications', 'clipboard-read', 'clipboard-sanitized-write', 'openExternal', 'fullscreen', 'pointerLock', 'display-capture', 'midi', 'midiSysex', 'hid', 'serial', 'usb', 'idle-detection', 'storage-access', 'unknown'];
    const OTHER_PAGES = ['https://evil.example/', 'http://127.0.0.1:5173/', 'file:///tmp/index.html', 'about:blank', '', undefined];

    function request(permission: string, details: Record<string, unknown>): boolean | undefined {
      const callback = vi.fn();
      electron.state.permissionRequestHandler!({}, permission, callback, details);
      expect(callback, permission).toHaveBeenCalledTimes(1);
      return callback.mock.calls[0]![0] as boolean;
    }

    it('grants the camera, video only, to Atelier’s own page: request and check', () => {
      expect(electron.state.permissionRequestHandler).not.toBeNull();
      expect(electron.state.permissionCheckHandler).not.toBeNull();
      for (const url of [ownPage(), `${ownPage()}#/classify`]) {
        expect(request('media', { requestingUrl: url, mediaTypes: ['video'] }), url).toBe(true);
        expect(electron.state.permissionCheckHandler!({}, 'media', 'file:///', { requestingUrl: url, mediaType: 'video' }), url).toBe(true);
      }
    });

    it('refuses the microphone, video with audio, and a media request naming nothing, even to Atelier’s own page', () => {
      for (const mediaTypes of [['audio'], ['video', 'audio'], ['audio', 'video'], [], undefined]) {
        expect(request('media', { requestingUrl: ownPage(), ...(mediaTypes ? { mediaTypes } : {}) }), JSON.stringify(mediaTypes)).toBe(false);
      }
      for (const mediaType of ['audio', 'unknown', undefined]) {
        expect(electron.state.permissionCheckHandler!({}, 'media', 'file:///', { requestingUrl: ownPage(), ...(mediaType ? { mediaType } : {}) }), String(mediaType)).toBe(false);
      }
    });

    it('refuses the camera to every other page', () => {
      for (const url of [...OTHER_PAGES, `${ownPage()}.evil.html`]) {
        expect(request('media', { requestingUrl: url, mediaTypes: ['video'] }), String(url)).toBe(false);
        expect(electron.state.permissionCheckHandler!({}, 'media', 'https://evil.example', { requestingUrl: url, mediaType: 'video' }), String(url)).toBe(false);
      }
    });

    it('refuses every other permission, request and check, to every page including its own', () => {
      for (const permission of OTHER_PERMISSIONS) {
        for (const url of [ownPage(), ...OTHER_PAGES]) {
          expect(request(permission, { requestingUrl: url, mediaTypes: ['video'] }), `${permission} ${url}`).toBe(false);
          expect(electron.state.permissionCheckHandler!({}, permission, 'file:///', { requestingUrl: url, mediaType: 'video' }), `${permission} ${url}`).toBe(false);
        }
      }
    });

    it('trusts only frames showing Atelier’s own page', async () => {
      const { isTrustedFrame, createMainWindow } = await import('./window');
      electron.state.windows.length = 0;
      createMainWindow();
      const page = (electron.state.windows[0] as unknown as FakeWindow).loaded[0]!.replace(/^file:/, '');
      const own = pathToFileURL(page).href;
      const frame = (url: string) => ({ url }) as never;
      expect(isTrustedFrame(frame(own))).toBe(true);
      expect(isTrustedFrame(frame(`${own}#/system`))).toBe(true);
      expect(isTrustedFrame(frame(`${own}?tab=runs`))).toBe(true);
      for (const url of [`${own}.evil.html`, `${own}/../other.html`, 'https://evil.example/', 'http://localhost:5173/', 'about:blank', 'file:///tmp/index.html', '']) {
        expect(isTrustedFrame(frame(url)), url).toBe(false);
      }
      expect(isTrustedFrame(null)).toBe(false);
    });
  });
});

describe('isSafeExternalUrl', () => {
  it('allows http and https only', () => {
    for (const url of ['https://example.com', 'http://example.com/path?q=1#x', 'HTTPS://EXAMPLE.COM', 'https://user@example.com:8443/']) {
      expect(isSafeExternalUrl(url), url).toBe(true);
    }
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox',
      'smb://server/share',
      'ms-msdt:/id',
      'mailto:someone@example.com',
      'chrome://settings',
      'about:blank',
      '//example.com',
      '/relative/path',
      'example.com',
      '',
    ]) {
      expect(isSafeExternalUrl(url), url).toBe(false);
    }
  });

  it('property: true exactly when the parsed protocol is http: or https:', () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string(), fc.string().map((rest) => `file:${rest}`)), (url) => {
        let protocol: string | null = null;
        try {
          protocol = new URL(url).protocol;
        } catch {
          protocol = null;
        }
        expect(isSafeExternalUrl(url)).toBe(protocol === 'http:' || protocol === 'https:');
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.webUrl(), (url) => {
        expect(isSafeExternalUrl(url)).toBe(true);
        expect(isSafeExternalUrl(url.replace(/^https?:/, 'file:'))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

// ─── 6. IPC: every channel checks its sender ─────────────────────────────────────────────────────

describe('registerIpc checks the sender on every channel', () => {
  it('source: every ipcMain.handle handler calls isTrustedFrame(event.senderFrame) before dispatch; no other ipcMain verbs', () => {
    const register = source('src-main/ipc/register.ts');
    const handles = methodCalls(register, 'handle').filter((call) => ts.isPropertyAccessExpression(call.expression) && call.expression.expression.getText() === 'ipcMain');
    expect(handles.length).toBeGreaterThanOrEqual(1);
    for (const handle of handles) {
      const handler = asFunction(handle.arguments[1]);
      const eventName = handler.parameters[0]?.name.getText();
      expect(eventName).toBeDefined();
      let trustCheckAt = -1;
      let dispatchAt = -1;
      walk(handler.body, (node) => {
        if (!ts.isCallExpression(node)) return;
        const callee = node.expression.getText();
        if (callee === 'isTrustedFrame' && node.arguments[0]?.getText() === `${eventName}.senderFrame`) trustCheckAt = node.getStart();
        if (callee === 'dispatch') dispatchAt = node.getStart();
      });
      expect(trustCheckAt, 'isTrustedFrame(event.senderFrame) is called').toBeGreaterThanOrEqual(0);
      expect(dispatchAt, 'the handler dispatches').toBeGreaterThan(trustCheckAt);
    }
    for (const forbidden of ['on', 'once', 'handleOnce', 'addListener']) {
      const calls = methodCalls(register, forbidden).filter((call) => ts.isPropertyAccessExpression(call.expression) && call.expression.expression.getText() === 'ipcMain');
      expect(calls, `ipcMain.${forbidden}`).toHaveLength(0);
    }
  });

  describe('run against a stand-in electron', () => {
    const answered = vi.fn();
    const trusted = { url: 'file:///atelier/index.html' };
    const untrusted = { url: 'https://evil.example/' };
    const isTrustedFrame = vi.fn((frame: unknown) => frame === trusted);
    let hub: EventHub;
    let unregister: () => void;

    beforeAll(async () => {
      const { registerIpc } = await import('./ipc/register');
      hub = new EventHub();
      const handlers = Object.fromEntries(
        CALL_NAMES.map((channel) => [
          channel,
          async (input: unknown, context: CallContext) => {
            answered(channel);
            return { channel, input, shell: context.shell };
          },
        ]),
      ) as unknown as Handlers;
      electron.state.ipcHandlers.clear();
      electron.state.ipcMainCalls.length = 0;
      unregister = registerIpc({ events: hub, handlers } as unknown as Atelier, isTrustedFrame);
    });

    it('registers one invoke handler per contract channel and nothing else', () => {
      expect([...electron.state.ipcHandlers.keys()].sort()).toEqual([...CALL_NAMES].sort());
      expect(electron.state.ipcMainCalls.every((call) => call.startsWith('handle:'))).toBe(true);
    });

    it('refuses every channel to an untrusted or missing frame without running the handler', async () => {
      answered.mockClear();
      for (const channel of CALL_NAMES) {
        for (const senderFrame of [untrusted, null]) {
          isTrustedFrame.mockClear();
          const result = await electron.state.ipcHandlers.get(channel)!({ senderFrame }, {});
          expect(result, channel).toMatchObject({ ok: false, error: { kind: 'unauthorized' } });
          expect(isTrustedFrame).toHaveBeenCalledWith(senderFrame);
        }
      }
      expect(answered).not.toHaveBeenCalled();
    });

    it('dispatches a trusted call through the contract (payload validated, shell electron)', async () => {
      const handler = electron.state.ipcHandlers.get('system.info')!;
      expect(await handler({ senderFrame: trusted }, {})).toEqual({ ok: true, value: { channel: 'system.info', input: {}, shell: 'electron' } });
      expect(await handler({ senderFrame: trusted }, { extra: 1 })).toMatchObject({ ok: false, error: { kind: 'invalid-payload' } });
    });

    it('sends core events to live windows only, and unregisters everything', () => {
      electron.state.windows.length = 0;
      const BrowserWindow = electron.module.BrowserWindow;
      const live = new BrowserWindow({}) as unknown as FakeWindow;
      const closed = new BrowserWindow({}) as unknown as FakeWindow;
      closed.destroyed = true;
      const info: EngineInfo = { state: 'ready', backend: 'cpu', tfjsVersion: '4.22.0', features: {}, ladder: [], error: null };
      hub.emit('engine.status', info);
      expect(live.webContents.send).toHaveBeenCalledWith('atelier:event', 'engine.status', info);
      expect(closed.webContents.send).not.toHaveBeenCalled();

      unregister();
      expect(electron.state.ipcHandlers.size).toBe(0);
      hub.emit('engine.status', info);
      expect(live.webContents.send).toHaveBeenCalledTimes(1);
    });
  });
});

// ─── 7. openExternal behind the allow-list; no escape hatches ────────────────────────────────────

describe('nothing leaves the sandbox except through the allow-list', () => {
  const productionSources = (): SourceFile[] => mainSources.filter((candidate) => !isTest(candidate.name));
  const at = (file: SourceFile, node: ts.Node): string => `${file.name}:${file.ast.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;

  it('source: every shell.openExternal(x) sits in `if (isSafeExternalUrl(x))`, and openExternal is never passed around', () => {
    let calls = 0;
    for (const file of productionSources()) {
      walk(file.ast, (node) => {
        if (!(ts.isPropertyAccessExpression(node) && node.name.text === 'openExternal')) return;
        const call = node.parent;
        // Taken as a value (`const open = shell.openExternal`), it could be called with anything.
        expect(ts.isCallExpression(call) && call.expression === node, `${at(file, node)}: openExternal must be called where it is named`).toBe(true);
        calls++;
        const argument = (call as ts.CallExpression).arguments[0]?.getText();
        let guarded = false;
        for (let child: ts.Node = call; child.parent && !ts.isFunctionLike(child.parent); child = child.parent) {
          const parent = child.parent;
          if (ts.isIfStatement(parent) && parent.thenStatement === child) {
            const condition = parent.expression;
            guarded = ts.isCallExpression(condition) && condition.expression.getText() === 'isSafeExternalUrl' && condition.arguments[0]?.getText() === argument;
            break;
          }
        }
        expect(guarded, `${at(file, call)}: shell.openExternal(${argument}) needs if (isSafeExternalUrl(${argument}))`).toBe(true);
      });
    }
    expect(calls).toBeGreaterThanOrEqual(1);
  });

  it('source: no certificate overrides, weakening switches, privileged schemes or injected scripts', () => {
    const offenders: string[] = [];
    const weakeningSwitch = /ignore-certificate-errors|disable-web-security|no-sandbox|disable-site-isolation|allow-running-insecure-content|remote-debugging|disable-features=.*(?:Isolation|Sandbox)/i;
    for (const file of productionSources()) {
      walk(file.ast, (node) => {
        if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
          const method = node.expression.name.text;
          const [first] = node.arguments;
          const firstText = first && ts.isStringLiteralLike(first) ? first.text : null;
          if (['setCertificateVerifyProc', 'executeJavaScript', 'executeJavaScriptInIsolatedWorld', 'insertCSS', 'registerFileProtocol', 'interceptFileProtocol'].includes(method)) {
            offenders.push(`${at(file, node)}: ${method}()`);
          }
          if ((method === 'on' || method === 'once') && (firstText === 'certificate-error' || firstText === 'select-client-certificate')) offenders.push(`${at(file, node)}: ${firstText} handler`);
          if ((method === 'appendSwitch' || method === 'appendArgument') && node.arguments.some((argument) => ts.isStringLiteralLike(argument) && weakeningSwitch.test(argument.text))) {
            offenders.push(`${at(file, node)}: ${node.getText()}`);
          }
        }
        // registerSchemesAsPrivileged({ privileges: { bypassCSP: true } }) would exempt a scheme from the page's CSP.
        if (ts.isPropertyAssignment(node) && node.name.getText() === 'bypassCSP' && isTrue(node.initializer)) offenders.push(`${at(file, node)}: bypassCSP: true`);
        if (ts.isStringLiteralLike(node) && node.text === 'ELECTRON_DISABLE_SECURITY_WARNINGS') offenders.push(`${at(file, node)}: silences Electron's security warnings`);
      });
    }
    expect(offenders).toEqual([]);
  });
});
