// The one place engine error codes become HTTP statuses.
import type { ErrorCode } from '../errors.js';

const STATUS: Record<ErrorCode, number> = {
  INVALID_CONFIG: 400,
  INVALID_NAME: 400,
  NO_SUCH_CONTAINER: 404,
  NO_SUCH_BOT: 404,
  NO_SUCH_IMAGE: 404,
  NO_SUCH_NETWORK: 404,
  NO_SUCH_PATH: 404,
  AMBIGUOUS_ID: 400,
  NAME_IN_USE: 409,
  IMAGE_EXISTS: 409,
  IMAGE_IN_USE: 409,
  INVALID_STATE: 409,
  HOST_UNSUPPORTED: 501,
  COMMAND_NOT_FOUND: 422,
  COMMAND_NOT_EXECUTABLE: 422,
  STATE_CORRUPT: 503,
  STATE_UNAVAILABLE: 503,
  STATE_TOO_NEW: 503,
  RUNTIME_FAILED: 500,
  TIMEOUT: 504,
  INVALID_IMAGE: 400,
  DIGEST_MISMATCH: 400,
  PLATFORM_MISMATCH: 400,
  REGISTRY_ERROR: 502,
  REGISTRY_UNAUTHORIZED: 401,
  BUILD_FAILED: 500,
};

/** HTTP status for an engine error code. */
export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}
