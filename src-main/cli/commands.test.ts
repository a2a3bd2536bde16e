import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SystemInfoSchema, type SystemInfo } from '../contract';
import { runCli, type CliIo } from './commands';

interface Captured {
  io: CliIo;
  out: string[];
  err: string[];
}

function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (text) => out.push(text), err: (text) => err.push(text) }, out, err };
}

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const captured = capture();
  const code = await runCli(argv, captured.io);
  return { code, out: captured.out.join('\n'), err: captured.err.join('\n') };
}

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('atelier help and argument errors', () => {
  it('--help exits 0 and lists the commands', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], []]) {
      const { code, out, err } = await run(argv);
      expect(code, argv.join(' ')).toBe(0);
      expect(err).toBe('');
      expect(out).toContain('Usage: atelier <command>');
      for (const command of ['system', 'serve', 'help']) expect(out).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
      expect(out).toContain('ATELIER_HOME');
      expect(out).toContain('ATELIER_BACKEND');
    }
  });

  it('--version prints the package version', async () => {
    const { code, out } = await run(['--version']);
    expect(code).toBe(0);
    expect(out).toBe(packageVersion);
  });

  it('an unknown command exits 2 and says how to get the list', async () => {
    const { code, out, err } = await run(['frobnicate', '--now']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('"frobnicate"');
    expect(err).toContain('atelier --help');
  });

  it('an unknown option exits 2 and names it', async () => {
    const { code, err } = await run(['system', '--bogus']);
    expect(code).toBe(2);
    expect(err).toContain('--bogus');
  });

  it('serve refuses a port that is not a whole number from 0 to 65535 (exit 2, nothing started)', async () => {
    for (const port of ['abc', '70000', '-1', '1.5', '0x10zz']) {
      const { code, out, err } = await run(['serve', `--port=${port}`]);
      expect(code, port).toBe(2);
      expect(out, port).toBe('');
      expect(err, port).toContain('--port');
      expect(err, port).toContain(`"${port}"`);
    }
  });
});

describe('atelier system (real engine worker, temporary data folder)', () => {
  let home: string;
  const saved: Record<string, string | undefined> = {};
  const touched = ['ATELIER_HOME', 'ATELIER_BACKEND', 'FASHION_MNIST_DIR'];

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'atelier-cli-'));
    for (const name of touched) saved[name] = process.env[name];
    process.env.ATELIER_HOME = home;
    delete process.env.ATELIER_BACKEND;
    delete process.env.FASHION_MNIST_DIR;
  });

  afterAll(() => {
    for (const name of touched) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('system --json prints the whole SystemInfo as JSON: shell, engine ladder with reasons, dataset, data folder', async () => {
    const { code, out, err } = await run(['system', '--json']);
    expect(err).toBe('');
    expect(code).toBe(0);

    const raw = JSON.parse(out) as Record<string, unknown>;
    for (const key of ['shell', 'engine', 'dataset', 'dataHome']) expect(raw).toHaveProperty(key);
    const info: SystemInfo = SystemInfoSchema.parse(raw);

    expect(info.shell).toBe('cli');
    expect(info.dataHome).toBe(home);
    expect(info.electronVersion).toBeNull();
    expect(info.nodeVersion).toBe(process.versions.node);
    expect(info.appVersion).toBe(packageVersion);

    expect(info.engine.state).toBe('ready');
    expect(['wasm', 'tensorflow']).toContain(info.engine.backend);
    expect(info.engine.ladder.map((rung) => rung.name)).toEqual(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
    const skipped = info.engine.ladder.filter((rung) => rung.outcome === 'skipped');
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    for (const rung of skipped) expect(rung.reason?.trim(), rung.name).toBeTruthy();
    expect(info.engine.ladder.filter((rung) => rung.outcome === 'used').map((rung) => rung.name)).toEqual([info.engine.backend]);

    expect(Array.isArray(info.dataset.sources)).toBe(true);
    expect(info.dataset).toHaveProperty('using');
  });

  it('system (text) follows ATELIER_BACKEND and shows why each rung above it was skipped', async () => {
    process.env.ATELIER_BACKEND = 'cpu';
    try {
      const { code, out, err } = await run(['system']);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(out).toContain(`Data folder: ${home}`);
      expect(out).toMatch(/^Engine: cpu\b/m);
      for (const name of ['tensorflow-gpu', 'tensorflow', 'wasm']) {
        expect(out).toMatch(new RegExp(`^\\s+✘ ${name}\\s+ATELIER_BACKEND=cpu`, 'm'));
      }
      expect(out).toMatch(/^\s+✔ cpu\s+in use/m);
    } finally {
      delete process.env.ATELIER_BACKEND;
    }
  });
});
