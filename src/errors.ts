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

/** A subclass's own field as it crosses a thread: structured-clone and JSON safe. */
export type ErrorFieldValue = string | number | boolean | null | { readonly [key: string]: ErrorFieldValue };

/**
 * The plain shape an error takes across a thread boundary (comlink and structured clone keep only
 * name and message). `name` picks the class to rebuild, since two classes may share a code
 * (SinkKeyConflictError is a permanent SinkError); `fields` are that class's own (`transient`,
 * `actorId`, `reason`...).
 */
export interface SerializedError {
  code: ErrorCode;
  message: string;
  name?: string;
  fields?: Record<string, ErrorFieldValue>;
  cause?: SerializedError | { message: string };
  /** The stack where it was thrown, so a log on this side shows the far side's frames. */
  stack?: string;
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

  /** The wire shape without the stack: what JSON replies and files may show. */
  toJSON(): SerializedError {
    const { stack: _stack, ...plain } = serializeError(this);
    return plain;
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

const TOKEN_REASONS = ['malformed', 'signature', 'expired'] as const;

export class TokenError extends UntradexError {
  /** Why the token was refused: a machine-readable reason, never shown to the student. */
  readonly reason: (typeof TOKEN_REASONS)[number];
  /** The exam and student of a token whose signature held but which expired (for the operator's log); null otherwise. */
  readonly signedFor: { exam: string; student: string } | null;
  constructor(reason: TokenError['reason'], message: string, signedFor: { exam: string; student: string } | null = null) {
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
  /** Whether trying the same work again may succeed (an exporter's unexpected error mid-read, say). */
  readonly transient: boolean;
  constructor(message: string, options?: { cause?: unknown; transient?: boolean }) {
    super('UX_ERR_EXPORT', message, options);
    this.transient = options?.transient ?? false;
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

const CLIENT_REASONS = ['not_welcomed', 'closed', 'unauthorized', 'replaced', 'disconnected', 'exam_closed', 'bad_event'] as const;

export class StudentClientError extends UntradexError {
  /**
   * Why: used before the first welcome, stopped (closed by the caller, bad token, replaced,
   * connection lost with reconnect off), the exam closed, or an event the protocol cannot carry.
   */
  readonly reason: (typeof CLIENT_REASONS)[number];
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

/** Flattens any thrown value into the plain shape that crosses threads, with its class's own fields. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof UntradexError) {
    const out: SerializedError = { code: error.code, message: error.message, name: error.name };
    const fields = ownFields(error);
    if (fields !== undefined) out.fields = fields;
    if (error.cause !== undefined) out.cause = serializeCause(error.cause);
    if (error.stack !== undefined) out.stack = error.stack;
    return out;
  }
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const out: SerializedError = { code: isErrorCode(code) ? code : 'UX_ERR_ACTOR_CRASHED', message };
  if (error instanceof Error && error.stack !== undefined) out.stack = error.stack;
  return out;
}

/** A subclass's fields are its own enumerable properties (`code` and `name` travel on their own). */
function ownFields(error: UntradexError): Record<string, ErrorFieldValue> | undefined {
  const entries = Object.entries(error).filter(([key]) => key !== 'code' && key !== 'name');
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as Record<string, ErrorFieldValue>);
}

function serializeCause(cause: unknown): SerializedError | { message: string } {
  if (cause instanceof UntradexError) return serializeError(cause);
  return { message: cause instanceof Error ? cause.message : String(cause) };
}

/** Thrown by FieldReader when a peer sent a field this build does not read: the rebuild falls back. */
class UnreadableFields extends Error {}

/** Typed access to a serialized error's fields, checked, because they came from another thread. */
class FieldReader {
  constructor(private readonly raw: Record<string, ErrorFieldValue>) {}

  string(key: string): string {
    return this.check(key, (value): value is string => typeof value === 'string');
  }
  number(key: string): number {
    return this.check(key, (value): value is number => typeof value === 'number');
  }
  boolean(key: string): boolean {
    return this.check(key, (value): value is boolean => typeof value === 'boolean');
  }
  nullableString(key: string): string | null {
    return this.check(key, (value): value is string | null => value === null || typeof value === 'string');
  }
  nullableNumber(key: string): number | null {
    return this.check(key, (value): value is number | null => value === null || typeof value === 'number');
  }
  oneOf<T extends string>(key: string, values: readonly T[]): T {
    return this.check(key, (value): value is T => typeof value === 'string' && (values as readonly string[]).includes(value));
  }
  examAndStudent(key: string): { exam: string; student: string } | null {
    return this.check(key, (value): value is { exam: string; student: string } | null => {
      if (value === null) return true;
      return typeof value === 'object' && typeof value.exam === 'string' && typeof value.student === 'string';
    });
  }

  private check<T extends ErrorFieldValue>(key: string, is: (value: ErrorFieldValue) => value is T): T {
    const value = this.raw[key];
    if (value === undefined || !is(value)) throw new UnreadableFields(key);
    return value;
  }
}

/**
 * The error registry: for each class, how to build it again from its fields. Messages are put back
 * as they were after construction, so the arguments that only shape a message are left empty here.
 * A test round-trips every exported class, so a class or a field missing here fails it.
 */
const REBUILD = new Map<string, (fields: FieldReader) => UntradexError>([
  [ConfigError.name, (f) => new ConfigError(f.string('key'), '')],
  [RedisNotInstalledError.name, () => new RedisNotInstalledError('')],
  [RedisStartError.name, () => new RedisStartError('')],
  [DataDirLockedError.name, (f) => new DataDirLockedError('', f.number('holderPid'), '')],
  [RedisUnavailableError.name, () => new RedisUnavailableError('')],
  [RedisDurabilityError.name, () => new RedisDurabilityError('')],
  [RedisScriptError.name, () => new RedisScriptError('')],
  [ActorCrashedError.name, (f) => new ActorCrashedError(f.string('actorId'), '')],
  [RestartIntensityError.name, (f) => new RestartIntensityError(f.string('actorId'), 0, 0)],
  [RingRecordError.name, () => new RingRecordError('')],
  [TokenError.name, (f) => new TokenError(f.oneOf('reason', TOKEN_REASONS), '', f.examAndStudent('signedFor'))],
  [SinkError.name, (f) => new SinkError(f.boolean('transient'), '')],
  [SinkKeyConflictError.name, () => new SinkKeyConflictError('')],
  [ExportError.name, (f) => new ExportError('', { transient: f.boolean('transient') })],
  [ExportLeaseLostError.name, () => new ExportLeaseLostError('', '')],
  [ShutdownError.name, () => new ShutdownError()],
  [StudentClientError.name, (f) => new StudentClientError(f.oneOf('reason', CLIENT_REASONS), '')],
  [ControlApiError.name, (f) => new ControlApiError(f.nullableNumber('status'), f.nullableString('apiError'), '')],
  [UsageError.name, () => new UsageError('')],
]);

/** The class names the registry rebuilds (for the test that keeps it complete). */
export const REBUILDABLE_ERRORS: ReadonlySet<string> = new Set(REBUILD.keys());

/**
 * Rebuilds an error that crossed a thread boundary: the same class with the same fields, message,
 * code and cause. A class or field this build does not know (a peer of another version, or a plain
 * Error) comes back as an UntradexError with the code, which is what callers key on.
 */
export function deserializeError(plain: SerializedError): UntradexError {
  const error = rebuild(plain);
  error.message = plain.message;
  if (plain.stack !== undefined) error.stack = plain.stack;
  if (plain.cause !== undefined) {
    const cause = 'code' in plain.cause ? deserializeError(plain.cause) : new Error(plain.cause.message);
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  }
  return error;
}

function rebuild(plain: SerializedError): UntradexError {
  const make = plain.name === undefined ? undefined : REBUILD.get(plain.name);
  if (make !== undefined) {
    try {
      const error = make(new FieldReader(plain.fields ?? {}));
      // SinkError's code follows its `transient`: a mismatch means the fields were not this class's.
      if (error.code === plain.code) return error;
    } catch (error) {
      if (!(error instanceof UnreadableFields)) throw error;
    }
  }
  return new UntradexError(plain.code, plain.message);
}
