// Every error Untradex raises on purpose: one base class, subclasses with a stable `code`.
// Codes are the public surface (tests and docs key on them); messages say what to do.

const BRAND = Symbol.for('untradex.error');

/** The stable codes, with what each means. docs/ERRORS.md is kept in step by a test. */
export const ERROR_CODES = {
  UX_ERR_CONFIG: 'a configuration key is unknown or has a bad value',
  UX_ERR_REDIS_NOT_INSTALLED: 'redis-server was not found on PATH',
  UX_ERR_REDIS_START: 'the embedded redis-server did not start',
  UX_ERR_REDIS_UNAVAILABLE: 'Redis did not answer',
  UX_ERR_REDIS_SCRIPT: 'the Untradex Redis function library failed or returned a malformed reply',
  UX_ERR_REDIS_DURABILITY: 'a Redis server would not keep acked answers as redis.appendfsync promises',
  UX_ERR_ACTOR_CRASHED: 'an actor exited or threw without being asked to stop',
  UX_ERR_RESTART_INTENSITY: 'an actor crashed more often than its supervisor allows',
  UX_ERR_RING_RECORD: 'a ring record is larger than the ring can ever hold, or is malformed',
  UX_ERR_TOKEN: 'a student token is malformed, forged or expired',
  UX_ERR_SINK_TRANSIENT: 'the result database failed in a way that retrying may fix',
  UX_ERR_SINK_PERMANENT: 'the result database refused the export in a way retrying will not fix',
  UX_ERR_EXPORT: 'an export job failed',
  UX_ERR_CONTROL: 'a control API request was refused',
  UX_ERR_SHUTDOWN: 'the operation was refused because Untradex is shutting down',
  UX_ERR_CLIENT: 'the student client library was used out of order or has stopped',
  UX_ERR_DATA_DIR_LOCKED: 'another Untradex server is running on the same dataDir',
  UX_ERR_EXPORT_LEASE_LOST: 'this process lost the export lease of an exam; its job stopped and the lease holder finishes the export',
  UX_ERR_CLIENT_STORAGE: 'the student client could not keep an event on the device',
  UX_ERR_CONTROL_API: 'the command line got no usable answer from the control API',
  UX_ERR_USAGE: 'a command was given arguments or input it cannot use',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The plain shape an error takes across a thread boundary (comlink keeps only name/message). */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  cause?: SerializedError | { message: string };
}

export class UntradexError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true });
  }

  // The brand makes `instanceof UntradexError` hold across duplicated module copies; subclasses
  // still need the ordinary prototype check, or every UntradexError would pass as a ConfigError.
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== UntradexError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  toJSON(): SerializedError {
    return serializeError(this);
  }
}

export class ConfigError extends UntradexError {
  /** The dotted path of the offending key, e.g. `gateway.port`. */
  readonly key: string;
  constructor(key: string, message: string) {
    super('UX_ERR_CONFIG', `config key "${key}": ${message}`);
    this.key = key;
  }
}

export class RedisNotInstalledError extends UntradexError {
  constructor(binary: string, options?: { cause?: unknown }) {
    super(
      'UX_ERR_REDIS_NOT_INSTALLED',
      `"${binary}" was not found. Embedded mode needs redis-server 7 or newer: ` +
        'install it with `sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), ' +
        'or point Untradex at an existing server with redis.embedded=false and redis.url.',
      options,
    );
  }
}

export class RedisStartError extends UntradexError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UX_ERR_REDIS_START', message, options);
  }
}

export class DataDirLockedError extends UntradexError {
  readonly holderPid: number;
  constructor(dataDir: string, holderPid: number, host: string) {
    super(
      'UX_ERR_DATA_DIR_LOCKED',
      `dataDir ${dataDir} is in use by another Untradex server (pid ${holderPid} on ${host}). ` +
        'Two servers on one dataDir would write one append-only file: stop that one first, or give this one another dataDir.',
    );
    this.holderPid = holderPid;
  }
}

export class RedisUnavailableError extends UntradexError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UX_ERR_REDIS_UNAVAILABLE', message, options);
  }
}

/** A Redis whose persistence settings break the promise of an ack: Untradex refuses to use it. */
export class RedisDurabilityError extends UntradexError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UX_ERR_REDIS_DURABILITY', message, options);
  }
}

export class RedisScriptError extends UntradexError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UX_ERR_REDIS_SCRIPT', message, options);
  }
}

export class ActorCrashedError extends UntradexError {
  readonly actorId: string;
  constructor(actorId: string, message: string, options?: { cause?: unknown }) {
    super('UX_ERR_ACTOR_CRASHED', `actor ${actorId} crashed: ${message}`, options);
    this.actorId = actorId;
  }
}

export class RestartIntensityError extends UntradexError {
  readonly actorId: string;
  constructor(actorId: string, restarts: number, periodSeconds: number, options?: { cause?: unknown }) {
    super(
      'UX_ERR_RESTART_INTENSITY',
      `actor ${actorId} crashed ${restarts} times within ${periodSeconds}s; giving up instead of restarting it again. ` +
        'Check the log lines above for its crashes.',
      options,
    );
    this.actorId = actorId;
  }
}

export class RingRecordError extends UntradexError {
  constructor(message: string) {
    super('UX_ERR_RING_RECORD', message);
  }
}

export class TokenError extends UntradexError {
  /** Why the token was refused: a machine-readable reason, never shown to the student. */
  readonly reason: 'malformed' | 'signature' | 'expired';
  /** The exam and student of a token whose signature held but which expired (for the operator's log); null otherwise. */
  readonly signedFor: { exam: string; student: string } | null;
  constructor(reason: 'malformed' | 'signature' | 'expired', message: string, signedFor: { exam: string; student: string } | null = null) {
    super('UX_ERR_TOKEN', message);
    this.reason = reason;
    this.signedFor = signedFor;
  }
}

export class SinkError extends UntradexError {
  readonly transient: boolean;
  constructor(transient: boolean, message: string, options?: { cause?: unknown }) {
    super(transient ? 'UX_ERR_SINK_TRANSIENT' : 'UX_ERR_SINK_PERMANENT', message, options);
    this.transient = transient;
  }
}

/**
 * A plain insert met a key already in the final tables: the bucket was loaded before (a crash
 * between its commit and its done mark, say). Its rows are not written; load the bucket again
 * with `upsert`, which merges by key.
 */
export class SinkKeyConflictError extends SinkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(false, message, options);
  }
}

export class ExportError extends UntradexError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UX_ERR_EXPORT', message, options);
  }
}

export class ExportLeaseLostError extends UntradexError {
  constructor(exam: string, why: string) {
    super('UX_ERR_EXPORT_LEASE_LOST', `the export lease of exam ${exam} is no longer this process's (${why}); its job stopped, and whoever holds the lease now finishes the export`);
  }
}

export class ShutdownError extends UntradexError {
  constructor(message = 'Untradex is shutting down') {
    super('UX_ERR_SHUTDOWN', message);
  }
}

export class StudentClientError extends UntradexError {
  /**
   * Why: used before the first welcome, stopped (closed by the caller, bad token, replaced,
   * connection lost with reconnect off), the exam closed, or an event the protocol cannot carry.
   */
  readonly reason: 'not_welcomed' | 'closed' | 'unauthorized' | 'replaced' | 'disconnected' | 'exam_closed' | 'bad_event';
  constructor(reason: StudentClientError['reason'], message: string, options?: { cause?: unknown }) {
    super('UX_ERR_CLIENT', message, options);
    this.reason = reason;
  }
}

/**
 * The command line's view of a failed control API call: `status` is the HTTP status (null when
 * nothing answered), `apiError` the reply's `error` code when there was one.
 */
export class ControlApiError extends UntradexError {
  constructor(
    readonly status: number | null,
    readonly apiError: string | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('UX_ERR_CONTROL_API', message, options);
  }
}

/** A command line argument or input (a student list) that cannot be used; the message says what to fix. */
export class UsageError extends UntradexError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UX_ERR_USAGE', message, options);
  }
}

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** Flattens any thrown value into the plain shape that crosses threads. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof UntradexError) {
    const out: SerializedError = { code: error.code, message: error.message };
    if (error.cause !== undefined) out.cause = serializeCause(error.cause);
    return out;
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return { code: isErrorCode(code) ? code : 'UX_ERR_ACTOR_CRASHED', message };
}

function serializeCause(cause: unknown): SerializedError | { message: string } {
  if (cause instanceof UntradexError) return serializeError(cause);
  return { message: cause instanceof Error ? cause.message : String(cause) };
}

/** Rebuilds an error that crossed a thread boundary, keeping its code. */
export function deserializeError(plain: SerializedError): UntradexError {
  const cause = plain.cause === undefined ? undefined : 'code' in plain.cause ? deserializeError(plain.cause) : new Error(plain.cause.message);
  return new UntradexError(plain.code, plain.message, cause === undefined ? undefined : { cause });
}
