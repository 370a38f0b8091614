/**
 * Errors in the MLflow scoring-server shape: `{"error_code": "...", "message": "..."}` with MLflow's status mapping.
 * Unsupported content types are the one exception: MLflow answers those with plain text (see `PlainTextError`).
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  INVALID_PARAMETER_VALUE: 400,
  MALFORMED_REQUEST: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_DOES_NOT_EXIST: 404,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ScoringError extends Error {
  override readonly name = 'ScoringError';
  readonly status: number;
  constructor(
    readonly errorCode: ErrorCode,
    message: string,
    status?: number,
  ) {
    super(message);
    this.status = status ?? ERROR_STATUS[errorCode];
  }

  body(): string {
    return JSON.stringify({ error_code: this.errorCode, message: this.message });
  }
}

/** MLflow answers unsupported content types and charsets with a plain-text 415. */
export class PlainTextError extends Error {
  override readonly name = 'PlainTextError';
  readonly errorCode = 'UNSUPPORTED_MEDIA_TYPE';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Payload or row count above the configured limits: 413 with MLflow's BAD_REQUEST code. */
export function tooLarge(message: string): ScoringError {
  return new ScoringError('BAD_REQUEST', message, 413);
}

export function badRequest(message: string): ScoringError {
  return new ScoringError('BAD_REQUEST', message);
}

export function invalidValue(message: string): ScoringError {
  return new ScoringError('INVALID_PARAMETER_VALUE', message);
}
