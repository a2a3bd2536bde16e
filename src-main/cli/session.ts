/**
 * How a CLI command gets the core and talks to it: one `Atelier` per command, called through
 * the same dispatcher the UIs use, and always disposed (its engine worker would keep the process alive).
 */
import { createAtelier, type Atelier } from '../app';
import type { CallName, CallOutput } from '../contract';
import { AtelierError, fromErrorInfo } from '../core/errors';
import { dispatch } from '../dispatch';
import { engineWorkerUrl } from '../locations';

/** What every command file borrows, passed in by commands.ts so all share one way of building and calling the core. */
export interface CliDeps {
  makeAtelier: () => Atelier;
  call: <C extends CallName>(atelier: Atelier, channel: C, input: unknown) => Promise<CallOutput<C>>;
  resolveRun: (atelier: Atelier, run: string | undefined) => Promise<string>;
}

function makeAtelier(): Atelier {
  return createAtelier({ engineWorkerUrl: engineWorkerUrl() });
}

/** Call through the same dispatcher the UIs use, so the CLI sees exactly what they see. */
async function call<C extends CallName>(atelier: Atelier, channel: C, input: unknown): Promise<CallOutput<C>> {
  const result = await dispatch(atelier.handlers, channel, input, { shell: 'cli' });
  if (!result.ok) throw fromErrorInfo(result.error);
  return result.value as CallOutput<C>;
}

/** `--run ID` as given, or `--run latest` as the newest run with a saved model. */
async function resolveRun(atelier: Atelier, run: string | undefined): Promise<string> {
  if (!run) throw new AtelierError('invalid-payload', 'Name a run with --run ID (or --run latest); ‘atelier runs’ lists them.');
  if (run !== 'latest') return run;
  const latest = await atelier.runs.latestWithModel();
  if (!latest) throw new AtelierError('no-model', 'There is no trained run yet. Train one with ‘atelier train’.');
  return latest;
}

export const cliDeps: CliDeps = { makeAtelier, call, resolveRun };

/** Build the core, hand it to `use`, and dispose of it however `use` ends. */
export async function withAtelier<T>(deps: Pick<CliDeps, 'makeAtelier'>, use: (atelier: Atelier) => Promise<T>): Promise<T> {
  const atelier = deps.makeAtelier();
  try {
    return await use(atelier);
  } finally {
    await atelier.dispose();
  }
}
