/** The CLI's named errors. main.ts maps each to a message on stderr and an exit code. */

/** Bad command line: exit 2 with a short usage text. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    /** The usage line of the command that was misused, when known. */
    readonly usage?: string,
  ) {
    super(message);
  }
}

/** A non-2xx answer: carries the server's `{"error":{"code","message"}}` body. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The endpoint could not be reached (or the connection broke and could not be resumed). */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
}

/** A 2xx answer whose body is not what the contract says. */
export class UnexpectedResponseError extends Error {
  override readonly name = "UnexpectedResponseError";
}

/** A tool of the REST tool gateway answered with `isError: true`. */
export class ToolError extends Error {
  override readonly name = "ToolError";
}
