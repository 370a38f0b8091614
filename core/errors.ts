/**
 * An error caused by the user's input or environment (bad file, bad flag, unreachable registry).
 * The CLI prints its message as one line and exits with code 2; anything else is a bug (exit 1, stack trace).
 */
export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Raised by storage backends when a conditional write loses (If-None-Match / If-Match). */
export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
}

/** Raised by storage backends when a key does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}
