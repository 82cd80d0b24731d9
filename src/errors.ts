/**
 * Typed errors. Each carries a code, a one-line message and a hint saying what to do next.
 * The exit code of every error is decided here and only here (see `exitCodeOf`).
 *
 *   throw new UsageError('version "2.0 beta" is not a valid image tag', {
 *     hint: 'use letters, digits, ".", "_" or "-" (at most 128), e.g. 2.0.1',
 *   })
 */
export type ErrorKind = 'usage' | 'failed' | 'lock' | 'interrupted' | 'internal'

export interface ErrorOptions {
  hint?: string
  cause?: unknown
  /** Extra machine-readable detail for --json output. */
  details?: Record<string, unknown>
}

export class EdgecanaryError extends Error {
  readonly kind: ErrorKind = 'internal'
  readonly code: string = 'INTERNAL'
  readonly hint?: string
  readonly details?: Record<string, unknown>

  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.hint = opts.hint
    this.details = opts.details
  }
}

/** Bad flags, versions, config, kubeconfig, image references, unreachable hosts: exit 2, nothing changed. */
export class UsageError extends EdgecanaryError {
  override readonly kind = 'usage'
  override readonly code: string = 'USAGE'
}

/** Configuration file problems (a UsageError with its own code). */
export class ConfigError extends UsageError {
  override readonly code = 'CONFIG'
}

/** A registry or host that cannot be reached or refuses credentials before anything changed. */
export class UnreachableError extends UsageError {
  override readonly code = 'UNREACHABLE'
}

/** The outcome was negative: release rolled back, verification failed. Exit 1. */
export class ReleaseFailed extends EdgecanaryError {
  override readonly kind = 'failed'
  override readonly code: string = 'FAILED'
}

/** The image platforms leave out some schedulable nodes' architecture (a preflight error: exit 2, nothing applied). */
export class PlatformMismatch extends UsageError {
  override readonly code = 'PLATFORM_MISMATCH'
}

/** The app's pods can never run (exec format error, ErrImagePull, CrashLoopBackOff, Unschedulable): exit 1. */
export class PodsCannotRun extends EdgecanaryError {
  override readonly kind = 'failed'
  override readonly code = 'PODS_CANNOT_RUN'
}

/** Another release holds the lock. Exit 3. */
export class LockHeld extends EdgecanaryError {
  override readonly kind = 'lock'
  override readonly code = 'LOCK_HELD'
}

/** Ctrl-C or SIGTERM: stopped at a safe point. Exit 130. */
export class Interrupted extends EdgecanaryError {
  override readonly kind = 'interrupted'
  override readonly code = 'INTERRUPTED'
}

const EXIT_CODES: Record<ErrorKind, number> = { usage: 2, failed: 1, lock: 3, interrupted: 130, internal: 1 }

/** The one exit-code mapping: usage → 2, failed → 1, lock → 3, interrupted → 130, anything else → 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof EdgecanaryError) return EXIT_CODES[err.kind]
  return 1
}

/** A JSON-safe description of an error for `--json` output. */
export function errorJson(
  err: unknown,
): { error: { code: string; message: string; hint?: string } } & Record<string, unknown> {
  if (err instanceof EdgecanaryError) {
    return { error: { code: err.code, message: err.message, hint: err.hint, ...(err.details ?? {}) } }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { error: { code: 'INTERNAL', message } }
}
