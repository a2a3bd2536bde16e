/**
 * The one contract between Atelier's core and its three shells (Electron IPC, browser WebSocket, CLI).
 *
 * Every call the UI can make (channel → input schema → output schema) and every event it can receive
 * (event name → payload schema) lives here. Channels are namespaced by feature (`system.info`); a
 * typo in a channel name is a compile error. Inputs are validated with zod at the boundary; outputs
 * are typed by the same schemas. The renderer imports this file for types (and the channel list).
 */
import { z } from 'zod';
import type { ErrorInfo } from './core/errors';

// ─── shared shapes ────────────────────────────────────────────────────────────────────────────────

export const ShellSchema = z.enum(['electron', 'browser', 'cli']);
export type Shell = z.infer<typeof ShellSchema>;

export const BackendNameSchema = z.enum(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']);
export type BackendName = z.infer<typeof BackendNameSchema>;

/** One rung of the engine's backend ladder: what was tried and why it was (not) used. */
export const BackendAttemptSchema = z.object({
  name: BackendNameSchema,
  /** npm package that provides it. */
  package: z.string(),
  /** 'used' for the rung in use, 'skipped' when it failed, 'not-tried' below the one in use. */
  outcome: z.enum(['used', 'skipped', 'not-tried']),
  /** Why it was skipped, in words a person can act on; null when used or not tried. */
  reason: z.string().nullable(),
  /** The raw error message behind the reason, for bug reports. */
  detail: z.string().nullable(),
});
export type BackendAttempt = z.infer<typeof BackendAttemptSchema>;

export const EngineInfoSchema = z.object({
  state: z.enum(['starting', 'ready', 'failed']),
  backend: BackendNameSchema.nullable(),
  /** TensorFlow.js version, e.g. "4.22.0". */
  tfjsVersion: z.string().nullable(),
  /** Extra facts about the backend in use (SIMD, threads, GPU device). */
  features: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  ladder: z.array(BackendAttemptSchema),
  error: z.string().nullable(),
});
export type EngineInfo = z.infer<typeof EngineInfoSchema>;

export const DatasetSourceKindSchema = z.enum(['user-folder', 'env', 'cache', 'system-package', 'download']);
export type DatasetSourceKind = z.infer<typeof DatasetSourceKindSchema>;

export const DatasetSourceStatusSchema = z.object({
  kind: DatasetSourceKindSchema,
  /** Folder on disk, or the base URL for the download source. */
  location: z.string(),
  state: z.enum(['found', 'missing', 'incomplete', 'available']),
  /** Files that are missing from an incomplete folder. */
  missingFiles: z.array(z.string()),
  /** One sentence for the UI: how to use or fix this source. */
  hint: z.string(),
});
export type DatasetSourceStatus = z.infer<typeof DatasetSourceStatusSchema>;

export const SystemInfoSchema = z.object({
  appName: z.string(),
  appVersion: z.string(),
  shell: ShellSchema,
  platform: z.string(),
  arch: z.string(),
  nodeVersion: z.string(),
  electronVersion: z.string().nullable(),
  cpus: z.number().int(),
  totalMemoryBytes: z.number(),
  dataHome: z.string(),
  engine: EngineInfoSchema,
  dataset: z.object({
    /** The source that will be used, or null when none has the data and download is the only way. */
    using: DatasetSourceKindSchema.nullable(),
    sources: z.array(DatasetSourceStatusSchema),
  }),
});
export type SystemInfo = z.infer<typeof SystemInfoSchema>;

// ─── calls ────────────────────────────────────────────────────────────────────────────────────────

const NoInput = z.object({}).strict();

/** Channel → input schema → output schema. */
export const calls = {
  'system.info': { input: NoInput, output: SystemInfoSchema },
} as const satisfies Record<string, { input: z.ZodType; output: z.ZodType }>;

export type Calls = typeof calls;
export type CallName = keyof Calls;
export type CallInput<C extends CallName> = z.input<Calls[C]['input']>;
export type CallOutput<C extends CallName> = z.output<Calls[C]['output']>;
export const CALL_NAMES = Object.keys(calls) as CallName[];

// ─── events ───────────────────────────────────────────────────────────────────────────────────────

/** Event name → payload schema. Events flow from the core to every connected UI. */
export const events = {
  'engine.status': EngineInfoSchema,
} as const satisfies Record<string, z.ZodType>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<E extends EventName> = z.output<Events[E]>;
export const EVENT_NAMES = Object.keys(events) as EventName[];

// ─── results ──────────────────────────────────────────────────────────────────────────────────────

/** What crosses a boundary for a call: never a thrown exception. */
export type CallResult<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

// ─── the verb-shaped API (preload, browser client) ──────────────────────────────────────────────

type NamespaceOf<C extends string> = C extends `${infer N}.${string}` ? N : never;
type VerbOf<C extends string, N extends string> = C extends `${N}.${infer V}` ? V : never;
export type Namespace = NamespaceOf<CallName>;

/** Verbs that resolve to a `CallResult` (what the preload and the WebSocket client expose). */
export type AtelierBridge = {
  [N in Namespace]: {
    [V in VerbOf<CallName, N>]: `${N}.${V}` extends infer C extends CallName
      ? (input: CallInput<C>) => Promise<CallResult<CallOutput<C>>>
      : never;
  };
} & {
  /** Subscribe to an event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
};

/** Build the verb-shaped bridge from a transport's `invoke` and `subscribe`; one shape for every shell. */
export function buildBridge(
  invoke: (channel: CallName, input: unknown) => Promise<CallResult<unknown>>,
  subscribe: (event: EventName, listener: (payload: unknown) => void) => () => void,
): AtelierBridge {
  const bridge: Record<string, Record<string, (input: unknown) => Promise<CallResult<unknown>>>> = {};
  for (const channel of CALL_NAMES) {
    const [namespace, verb] = channel.split('.') as [string, string];
    bridge[namespace] ??= {};
    bridge[namespace][verb] = (input: unknown) => invoke(channel, input ?? {});
  }
  return Object.assign(bridge, {
    on: (event: EventName, listener: (payload: unknown) => void) => {
      if (!EVENT_NAMES.includes(event)) throw new Error(`Unknown event: ${String(event)}`);
      return subscribe(event, listener);
    },
  }) as unknown as AtelierBridge;
}
