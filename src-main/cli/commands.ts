/**
 * `atelier`: the core without a UI, for scripts, benchmarks and servers.
 * Runs trained here appear in the app and the other way round (same data folder).
 */
import { parseArgs } from 'node:util';
import { engineWorkerUrl, rendererDir } from '../locations';
import { createAtelier, type Atelier } from '../app';
import { dispatch } from '../dispatch';
import type { CallName, CallOutput } from '../contract';
import { fromErrorInfo, toErrorInfo } from '../core/errors';
import { APP_VERSION } from '../version';
import { formatSystemInfo } from './format';

const HELP = `Atelier ${APP_VERSION} — train, judge, use and export a Fashion-MNIST clothing classifier.

Usage: atelier <command> [options]

Commands:
  system [--json]              Engine backend (and why others were skipped), dataset sources, data folder
  serve [--port N]             Serve the app to a browser on 127.0.0.1 (prints a URL with a session token)
  help                         This text

Environment:
  ATELIER_HOME                 Data folder (default: the platform's per-user data folder)
  ATELIER_BACKEND              Force an engine backend: tensorflow-gpu | tensorflow | wasm | cpu
  FASHION_MNIST_DIR            A folder with the four Fashion-MNIST files
`;

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

function makeAtelier(): Atelier {
  return createAtelier({ engineWorkerUrl: engineWorkerUrl() });
}

/** Call through the same dispatcher the UIs use, so the CLI sees exactly what they see. */
async function call<C extends CallName>(atelier: Atelier, channel: C, input: unknown): Promise<CallOutput<C>> {
  const result = await dispatch(atelier.handlers, channel, input, { shell: 'cli' });
  if (!result.ok) throw fromErrorInfo(result.error);
  return result.value as CallOutput<C>;
}

async function commandSystem(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  const atelier = makeAtelier();
  try {
    const info = await call(atelier, 'system.info', {});
    io.out(values.json ? JSON.stringify(info, null, 2) : formatSystemInfo(info));
    return 0;
  } finally {
    await atelier.dispose();
  }
}

async function commandServe(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: { port: { type: 'string', default: '0' } }, strict: true });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.err(`--port must be a whole number from 0 to 65535 (0 picks a free port), not "${values.port}".`);
    return 2;
  }
  const { startWebServer } = await import('../web/server');
  const atelier = makeAtelier();
  const server = await startWebServer({
    atelier,
    rendererDir: rendererDir(),
    port,
  });
  io.out(`Atelier is running in your browser at:\n\n  ${server.url}\n\nOnly this machine can connect (127.0.0.1); the token in the URL is required. Press Ctrl+C to stop.`);
  void atelier.engine.info().catch(() => undefined); // warm the engine while the page loads
  await new Promise<void>((done) => {
    const stop = (): void => {
      void server.close().then(() => atelier.dispose()).then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

/** Entry point; returns the exit code. */
export async function runCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(HELP);
        return 0;
      case '--version':
      case '-v':
        io.out(APP_VERSION);
        return 0;
      case 'system':
        return await commandSystem(rest, io);
      case 'serve':
        return await commandServe(rest, io);
      default:
        io.err(`Unknown command "${command}". Run \`atelier --help\` for the list.`);
        return 2;
    }
  } catch (error) {
    const info = toErrorInfo(error);
    io.err(`atelier ${command}: ${info.message}`);
    return info.kind === 'invalid-payload' || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}
