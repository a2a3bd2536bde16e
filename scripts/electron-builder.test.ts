/**
 * The desktop installers' configuration (electron-builder.yml), checked where the installers
 * themselves cannot be built (no access to Electron's zips): against electron-builder's own JSON
 * schema, for what Atelier needs (targets, icons, fuses, unpacked native files), and by packaging
 * the app for real with a stand-in Electron binary (a file carrying Electron's fuse wire), so
 * that the asar, the unpacked files and the flipped fuses can be inspected.
 */
import { listPackage, statFile } from '@electron/asar';
import { FuseV1Options, getCurrentFuseWire } from '@electron/fuses';
import Ajv from 'ajv';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
// js-yaml comes with electron-builder (which reads this file with it) and has no bundled types.
const yaml = require('js-yaml') as { load(text: string): unknown };

interface BuilderConfig {
  appId?: string;
  productName?: string;
  directories?: { output?: string; buildResources?: string };
  files?: string[];
  asar?: boolean;
  asarUnpack?: string[];
  npmRebuild?: boolean;
  electronFuses?: Record<string, boolean>;
  linux?: { target?: string[]; icon?: string };
  win?: { target?: string[]; icon?: string };
  mac?: { target?: string[]; icon?: string };
  [key: string]: unknown;
}

const config = yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const schema = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'app-builder-lib', 'scheme.json'), 'utf8')) as object;
// As electron-builder itself compiles it: its schema uses a custom `typeof` keyword.
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

function schemaErrors(candidate: unknown): string[] {
  return validate(candidate) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
}

describe('electron-builder.yml against electron-builder’s schema', () => {
  it('is valid', () => {
    expect(schemaErrors(config)).toEqual([]);
  });

  it('the check has teeth: a misspelt option, a misspelt fuse or a wrong type is refused', () => {
    expect(schemaErrors({ ...config, asarUnpak: ['**/*.node'] }).join('\n')).toMatch(/additional properties/);
    expect(schemaErrors({ ...config, electronFuses: { ...config.electronFuses, runAsNod: false } }).length).toBeGreaterThan(0);
    expect(schemaErrors({ ...config, electronFuses: { ...config.electronFuses, runAsNode: 'no' } }).length).toBeGreaterThan(0);
    expect(schemaErrors({ ...config, nsis: { oneClick: 'sometimes' } }).length).toBeGreaterThan(0);
  });
});

describe('what Atelier’s installers need', () => {
  it('names the app and builds AppImage + deb, NSIS and dmg', () => {
    expect(config.appId).toMatch(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*){2,}$/);
    expect(config.productName).toBe('Atelier');
    expect(config.linux?.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.win?.target).toEqual(['nsis']);
    expect(config.mac?.target).toEqual(['dmg']);
  });

  it('sets the fuses: no run-as-node, NODE_OPTIONS or --inspect; the app only from its asar; cookies encrypted', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
    });
    expect(config.asar).not.toBe(false); // onlyLoadAppFromAsar needs one
  });

  it('packs the build output only, without source maps, and does not rebuild the Node-API binaries', () => {
    expect(config.files).toEqual(expect.arrayContaining(['out/**/*', 'package.json', '!**/*.map']));
    expect(config.files!.some((pattern) => /src-main|src-renderer|e2e/.test(pattern) && !pattern.startsWith('!'))).toBe(false);
    expect(config.npmRebuild).toBe(false);
    const main = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string }).main;
    expect(main.startsWith('out/')).toBe(true);
  });

  it('every platform’s icon is a 512×512 PNG rendered from resources/icon.svg', async () => {
    const icons = new Set([config.linux?.icon, config.win?.icon, config.mac?.icon]);
    expect([...icons]).toEqual(['resources/icon.png']);
    const png = join(ROOT, 'resources', 'icon.png');
    const metadata = await sharp(png).metadata();
    expect(metadata).toMatchObject({ format: 'png', width: 512, height: 512 });
    // The PNG is not stale: it matches a fresh render of the SVG (scripts/make-icon.js).
    const fromSvg = await sharp(join(ROOT, 'resources', 'icon.svg'), { density: 72 }).resize(512, 512).ensureAlpha().raw().toBuffer();
    const shipped = await sharp(png).ensureAlpha().raw().toBuffer();
    expect(shipped.length).toBe(fromSvg.length);
    let difference = 0;
    for (let i = 0; i < shipped.length; i++) difference += Math.abs(shipped[i]! - fromSvg[i]!);
    expect(difference / shipped.length).toBeLessThan(1);
  });
});

// ─── packaging with a stand-in Electron ─────────────────────────────────────────────────────────

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const FUSE_NAMES: Record<string, number> = {
  runAsNode: FuseV1Options.RunAsNode,
  enableCookieEncryption: FuseV1Options.EnableCookieEncryption,
  enableNodeOptionsEnvironmentVariable: FuseV1Options.EnableNodeOptionsEnvironmentVariable,
  enableNodeCliInspectArguments: FuseV1Options.EnableNodeCliInspectArguments,
  enableEmbeddedAsarIntegrityValidation: FuseV1Options.EnableEmbeddedAsarIntegrityValidation,
  onlyLoadAppFromAsar: FuseV1Options.OnlyLoadAppFromAsar,
  loadBrowserProcessSpecificV8Snapshot: FuseV1Options.LoadBrowserProcessSpecificV8Snapshot,
  grantFileProtocolExtraPrivileges: FuseV1Options.GrantFileProtocolExtraPrivileges,
};
const ENABLED = '1'.charCodeAt(0);
const DISABLED = '0'.charCodeAt(0);

/**
 * An "unpacked Electron" folder whose binary is only Electron's fuse wire (version 1), every fuse
 * set opposite to what the config asks, so that a flip shows.
 */
function standInElectron(dir: string): void {
  mkdirSync(join(dir, 'resources'), { recursive: true });
  const wire = Buffer.alloc(8, DISABLED);
  for (const [name, index] of Object.entries(FUSE_NAMES)) {
    const wanted = config.electronFuses?.[name];
    if (wanted !== undefined) wire[index] = wanted ? DISABLED : ENABLED;
  }
  writeFileSync(join(dir, 'electron'), Buffer.concat([Buffer.from('stand-in for Electron\n'), Buffer.from(SENTINEL), Buffer.from([1, wire.length]), wire]), { mode: 0o755 });
  writeFileSync(join(dir, 'LICENSE'), 'stand-in\n');
  writeFileSync(join(dir, 'version'), '45.5.0');
}

function runElectronBuilder(projectDir: string, electronDist: string, output: string): void {
  const cli = require.resolve('electron-builder/cli.js');
  // Under VITEST electron-builder keeps quiet, which would leave a failure unexplained.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NODE_ENV'));
  const result = spawnSync(
    process.execPath,
    [cli, '--linux', 'dir', '--publish', 'never', `-c.electronDist=${electronDist}`, '-c.electronVersion=45.5.0', `-c.directories.output=${output}`],
    { cwd: projectDir, encoding: 'utf8', timeout: 240_000, env: { ...env, ELECTRON_BUILDER_CACHE: join(output, '.cache') } },
  );
  expect(result.status, `electron-builder failed (${result.error?.message ?? result.signal ?? ""}):\n${result.stdout}\n${result.stderr}`).toBe(0);
}

/** Paths in an asar, without the leading slash. */
function asarFiles(archive: string): string[] {
  return listPackage(archive, { isPack: false }).map((path) => path.replace(/^[\\/]/, '').split('\\').join('/'));
}

function isUnpacked(archive: string, path: string): boolean {
  const entry = statFile(archive, path, false) as { unpacked?: boolean };
  return entry.unpacked === true && existsSync(join(`${archive}.unpacked`, path));
}

const linuxOnly = process.platform !== 'linux';
if (linuxOnly) console.warn('Skipping the stand-in packaging: it builds the Linux "dir" target, which needs a Linux host.');

describe.skipIf(linuxOnly)('Atelier packaged by electron-builder with a stand-in Electron (Linux dir target)', () => {
  let work: string;
  let archive: string;
  let files: string[];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'atelier-builder-'));
    // Packaged from the checkout itself (output in a temp folder): npm's module listing, which
    // electron-builder relies on, does not follow a snapshot's symlinked node_modules everywhere.
    standInElectron(join(work, 'electron'));
    runElectronBuilder(ROOT, join(work, 'electron'), join(work, 'dist'));
    archive = join(work, 'dist', 'linux-unpacked', 'resources', 'app.asar');
    files = asarFiles(archive);
  }, 300_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the asar holds the built app, and package.json’s main is in it', () => {
    for (const file of ['package.json', 'out/main/index.js', 'out/main/cli.js', 'out/main/engine-worker.js', 'out/main/engine-shard.js', 'out/preload/index.cjs', 'out/renderer/index.html']) {
      expect(files, file).toContain(file);
    }
    const packaged = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string };
    expect(files).toContain(packaged.main);
    expect(files.filter((file) => !file.startsWith('node_modules/') && /^(src-main|src-renderer|e2e|scripts)\//.test(file))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
  });

  it('has every runtime dependency and none of the build tooling', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dependency of Object.keys(manifest.dependencies)) expect(files, dependency).toContain(`node_modules/${dependency}/package.json`);
    for (const tool of ['electron', 'electron-vite', 'vite', 'svelte', 'chart.js', 'vitest', 'electron-builder', 'onnxruntime-node', '@playwright/test', 'typescript']) {
      expect(files.some((file) => file.startsWith(`node_modules/${tool}/`)), tool).toBe(false);
    }
  });

  it('unpacks every native binary and wasm file (sharp’s libvips too) and leaves the JavaScript packed', () => {
    const native = files.filter((file) => /\.(node|wasm)$/.test(file) || /\/libvips[^/]*\.so/.test(file));
    expect(native.some((file) => file.endsWith('.wasm'))).toBe(true);
    expect(native.some((file) => file.endsWith('.node'))).toBe(true);
    expect(native.some((file) => file.includes('libvips'))).toBe(true);
    for (const file of native) expect(isUnpacked(archive, file), file).toBe(true);
    expect(isUnpacked(archive, 'out/main/index.js')).toBe(false);
    expect(isUnpacked(archive, 'node_modules/@tensorflow/tfjs-core/package.json')).toBe(false);
  });

  it('flips the fuses of the packaged binary as configured', async () => {
    const wire = (await getCurrentFuseWire(join(work, 'dist', 'linux-unpacked', 'atelier'))) as unknown as Record<number, number>;
    for (const [name, wanted] of Object.entries(config.electronFuses ?? {})) {
      const index = FUSE_NAMES[name];
      expect(index, `unknown fuse ${name}`).toBeDefined();
      expect(String.fromCharCode(wire[index!]!), name).toBe(wanted ? '1' : '0');
    }
  });
});

describe.skipIf(linuxOnly)('the optional native backends, when npm installed them on the build machine', () => {
  let work: string;

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('are packaged, with their binding and libtensorflow unpacked', () => {
    // A small project with Atelier's builder config and stand-ins of tfjs-node and tfjs-node-gpu as
    // their install scripts leave them (libtensorflow in deps/lib, the binding in lib/napi-v8).
    work = mkdtempSync(join(tmpdir(), 'atelier-builder-optional-'));
    const project = join(work, 'project');
    const write = (path: string, text: string): void => {
      mkdirSync(dirname(join(project, path)), { recursive: true });
      writeFileSync(join(project, path), text);
    };
    write('package.json', JSON.stringify({ name: 'atelier', version: '0.1.0', main: 'out/main/index.js', type: 'module', optionalDependencies: { '@tensorflow/tfjs-node': '^4.22.0', '@tensorflow/tfjs-node-gpu': '^4.22.0' } }));
    write('out/main/index.js', 'export {};\n');
    copyFileSync(join(ROOT, 'electron-builder.yml'), join(project, 'electron-builder.yml'));
    mkdirSync(join(project, 'resources'));
    copyFileSync(join(ROOT, 'resources', 'icon.png'), join(project, 'resources', 'icon.png'));
    const packages = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
    for (const name of packages) {
      write(`node_modules/${name}/package.json`, JSON.stringify({ name, version: '4.22.0', main: 'dist/index.js' }));
      write(`node_modules/${name}/dist/index.js`, 'module.exports = {};\n');
      write(`node_modules/${name}/lib/napi-v8/tfjs_binding.node`, 'stand-in binding');
      write(`node_modules/${name}/deps/lib/libtensorflow.so.2`, 'stand-in libtensorflow');
      write(`node_modules/${name}/deps/lib/libtensorflow_framework.so.2`, 'stand-in libtensorflow');
    }
    standInElectron(join(work, 'electron'));
    runElectronBuilder(project, join(work, 'electron'), join(work, 'dist'));

    const archive = join(work, 'dist', 'linux-unpacked', 'resources', 'app.asar');
    const files = asarFiles(archive);
    for (const name of packages) {
      expect(files, name).toContain(`node_modules/${name}/package.json`);
      for (const file of ['lib/napi-v8/tfjs_binding.node', 'deps/lib/libtensorflow.so.2', 'deps/lib/libtensorflow_framework.so.2']) {
        expect(isUnpacked(archive, `node_modules/${name}/${file}`), `${name}/${file}`).toBe(true);
      }
    }
  }, 300_000);
});
