import type { z } from 'zod';
import { calls, type CallName, type CallOutput, type CallResult, type Calls } from './contract';
import { toErrorInfo } from './core/errors';

/** Who is calling: the shells fill this in; handlers use it for shell-specific facts. */
export interface CallContext {
  shell: 'electron' | 'browser' | 'cli';
}

/** One async function per contract channel; inputs arrive already validated. */
export type Handlers = {
  [C in CallName]: (input: z.output<Calls[C]['input']>, context: CallContext) => Promise<CallOutput<C>>;
};

function isCallName(value: unknown): value is CallName {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(calls, value);
}

/** Turn zod issues into one sentence that names the field. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'input'}: ${issue.message}`)
    .join('; ');
}

/**
 * The single entry point every shell uses: checks the channel, validates the payload against the
 * contract, runs the handler and returns a `CallResult`. Nothing thrown by a handler escapes.
 */
export async function dispatch(
  handlers: Handlers,
  channel: unknown,
  payload: unknown,
  context: CallContext,
): Promise<CallResult<unknown>> {
  if (!isCallName(channel)) {
    // Not String(channel): it throws for an object without a prototype, and this must answer.
    const message = typeof channel === 'string' ? `Unknown call "${channel.slice(0, 80)}".` : `Unknown call: the channel must be a string, not ${channel === null ? 'null' : typeof channel}.`;
    return { ok: false, error: { kind: 'unknown-call', message } };
  }
  const parsed = calls[channel].input.safeParse(payload ?? {});
  if (!parsed.success) {
    return {
      ok: false,
      error: { kind: 'invalid-payload', message: `${channel}: invalid input — ${describeIssues(parsed.error.issues)}.` },
    };
  }
  try {
    const handler = handlers[channel] as (input: unknown, context: CallContext) => Promise<unknown>;
    const value = await handler(parsed.data, context);
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: toErrorInfo(error) };
  }
}
