// One error type for the whole engine: a stable code, a message that says what to do, the cause and context.

export type ErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_NAME'
  | 'NAME_IN_USE'
  | 'NO_SUCH_CONTAINER'
  | 'NO_SUCH_BOT'
  | 'AMBIGUOUS_ID'
  | 'NO_SUCH_IMAGE'
  | 'NO_SUCH_NETWORK'
  | 'NO_SUCH_PATH'
  | 'IMAGE_EXISTS'
  | 'IMAGE_IN_USE'
  | 'NO_SUCH_VOLUME'
  | 'VOLUME_IN_USE'
  | 'INVALID_STATE'
  | 'HOST_UNSUPPORTED'
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_NOT_EXECUTABLE'
  | 'STATE_CORRUPT'
  | 'STATE_UNAVAILABLE'
  | 'STATE_TOO_NEW'
  | 'RUNTIME_FAILED'
  | 'TIMEOUT'
  | 'INVALID_IMAGE'
  | 'DIGEST_MISMATCH'
  | 'PLATFORM_MISMATCH'
  | 'REGISTRY_ERROR'
  | 'REGISTRY_UNAUTHORIZED'
  /** a build step's command failed (codex32 build, POST /build) */
  | 'BUILD_FAILED';

export interface ErrorContext {
  container?: string;
  path?: string;
  command?: string;
  [key: string]: unknown;
}

/** The single error type every engine failure is raised as. */
export class EngineError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, { cause: options.cause });
    this.name = 'EngineError';
    this.code = code;
    this.context = options.context ?? {};
  }
}

/**
 * A refusal that names config fields. The message names each as the library's config does, in backticks
 * (`publish`, `capAdd`, `limits.memory`), and context.fields lists them: each front end's error mapper
 * puts its own name in their place (renameFields), so the CLI says `-p` and the Docker API
 * `HostConfig.PortBindings` while the library says the field its caller set.
 */
export function fieldError(code: ErrorCode, message: string, fields: string[], options: { cause?: unknown; context?: ErrorContext } = {}): EngineError {
  return new EngineError(code, message, { ...options, context: { ...options.context, fields } });
}

/** err's message with each config field it names (context.fields) given the front end's name for it, where names has one. */
export function renameFields(err: EngineError, names: Readonly<Record<string, string>>): string {
  const fields = Array.isArray(err.context.fields) ? (err.context.fields as string[]) : [];
  let message = err.message;
  for (const key of fields) if (names[key]) message = message.replaceAll(`\`${key}\``, `\`${names[key]}\``);
  return message;
}

/** Build the standard "Expected X to be Y, got Z" message for bad input. */
export function expected(what: string, form: string, got: unknown): EngineError {
  return new EngineError('INVALID_CONFIG', `Expected ${what} to be ${form}, got \`${String(got)}\``);
}

/** True when err is an EngineError with the given code. */
export function isEngineError(err: unknown, code?: ErrorCode): err is EngineError {
  return err instanceof EngineError && (code === undefined || err.code === code);
}
