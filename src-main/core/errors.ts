/**
 * Errors are values with a kind and a message a person can act on.
 * Every layer throws or returns `AtelierError`; the shells turn it into an `ErrorInfo`
 * payload, so the renderer and the CLI can branch on `kind` and show `message` as is.
 */
export const ERROR_KINDS = [
  // contract / transport
  'invalid-payload',
  'unknown-call',
  'unauthorized',
  'internal',
  'busy',
  'cancelled',
  'not-found',
  'unsupported',
  // dataset
  'dataset-missing',
  'dataset-corrupt',
  'idx-malformed',
  'download-failed',
  'offline',
  // engine
  'engine-unavailable',
  'engine-crashed',
  'invalid-config',
  'training-failed',
  'no-model',
  // photos
  'photo-empty',
  'photo-too-large',
  'photo-dimensions',
  'photo-unsupported',
  'photo-corrupt',
  'photo-unreadable',
  'folder-empty',
  // runs / export / disk
  'run-corrupt',
  'checkpoint-damaged',
  'export-failed',
  'target-exists',
  'model-incompatible',
  'disk-full',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

/** The serialisable shape of an error as it crosses IPC, WebSocket, worker and CLI boundaries. */
export interface ErrorInfo {
  kind: ErrorKind;
  message: string;
}

export class AtelierError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AtelierError';
    this.kind = kind;
  }

  toInfo(): ErrorInfo {
    return { kind: this.kind, message: this.message };
  }
}

/** The message of any thrown value; `String()` itself throws for an object without a prototype. */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}

/** Any thrown value as an `ErrorInfo`; unknown errors become `internal` with their message kept. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof AtelierError) return error.toInfo();
  if (error && typeof error === 'object' && 'code' in error) {
    const code = (error as { code?: unknown }).code;
    const message = messageOf(error);
    if (code === 'ENOSPC') return { kind: 'disk-full', message: `The disk is full: ${message}. Free some space and try again.` };
    if (code === 'ENOENT') return { kind: 'not-found', message };
  }
  const message = messageOf(error);
  return { kind: 'internal', message: message || 'Unknown error' };
}

/** Rebuild an `AtelierError` from its serialised form (after crossing a boundary). */
export function fromErrorInfo(info: ErrorInfo): AtelierError {
  return new AtelierError(info.kind, info.message);
}
