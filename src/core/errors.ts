/**
 * Typed errors. Every failure the core reports is an UnbrickError with a stable
 * `code` (machine-readable, used in --json output) and a `kind` that decides the
 * CLI exit code. Messages are plain words a technician can act on.
 */

/** What went wrong, broadly: decides the CLI exit code. */
export type ErrorKind =
  | 'check' //   a verification found the thing invalid (exit 1)
  | 'usage' //   bad arguments (exit 2)
  | 'input' //   unreadable or malformed input file or data (exit 2)
  | 'device' //  the device refused, misbehaved or did not answer (exit 3)
  | 'io' //      the transport or file system failed (exit 3)
  | 'cancelled'; // the user or a signal stopped the operation (exit 3)

export const EXIT = { ok: 0, check: 1, usage: 2, input: 2, device: 3, io: 3, cancelled: 3 } as const;

export class UnbrickError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnbrickError';
    this.kind = kind;
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return EXIT[this.kind];
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, kind: this.kind, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export const usageError = (code: string, message: string, details?: Record<string, unknown>) =>
  new UnbrickError('usage', code, message, details);
export const inputError = (code: string, message: string, details?: Record<string, unknown>) =>
  new UnbrickError('input', code, message, details);
export const checkError = (code: string, message: string, details?: Record<string, unknown>) =>
  new UnbrickError('check', code, message, details);
export const deviceError = (code: string, message: string, details?: Record<string, unknown>) =>
  new UnbrickError('device', code, message, details);
export const ioError = (code: string, message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new UnbrickError('io', code, message, details, { cause });
export const cancelledError = (message = 'Cancelled.') => new UnbrickError('cancelled', 'cancelled', message);

/** Wraps anything thrown into an UnbrickError, keeping typed ones as they are. */
export function asUnbrickError(err: unknown): UnbrickError {
  if (err instanceof UnbrickError) return err;
  if (err instanceof Error && (err as NodeJS.ErrnoException).code) {
    const code = (err as NodeJS.ErrnoException).code!;
    return ioError(`io.${code.toLowerCase()}`, err.message, undefined, err);
  }
  return new UnbrickError('io', 'internal', err instanceof Error ? err.message : String(err), undefined, { cause: err });
}

/** Throws `cancelledError` when the signal has fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw cancelledError();
}
