import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type ErrorCode } from "../../shared/domain/errors.js";
import type { Logger } from "../../shared/use-cases/task-service.js";

export function errorBody(code: ErrorCode | string, message: string, details?: unknown) {
  return { error: { code, message, ...(details !== undefined ? { details } : {}) } };
}

export function errorResponse(
  c: Context,
  status: number,
  code: ErrorCode | string,
  message: string,
  details?: unknown,
) {
  return c.json(errorBody(code, message, details), status as ContentfulStatusCode);
}

/** The one place errors become responses. Internal error text never reaches a client. */
export function makeErrorHandler(log: Logger) {
  return (err: Error, c: Context) => {
    if (err instanceof DomainError) {
      const details = err.code === "invalid_config" ? err.details : undefined;
      const res = errorResponse(c, err.httpStatus, err.code, err.message, details);
      if (err.code === "concurrency_limit") res.headers.set("Retry-After", "5");
      // The rest of an over-long body is never read: say the connection ends here, so that a
      // client does not send its next request on a socket the server is about to close.
      if (err.code === "payload_too_large") res.headers.set("Connection", "close");
      return res;
    }
    if (err instanceof HTTPException) {
      const status = err.status;
      const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthorized" : "invalid_request";
      const message = status >= 500 ? "internal error" : err.message || "invalid request";
      return errorResponse(c, status, code, message);
    }
    log.error("unhandled error", { error: String(err), stack: err.stack, path: c.req.path });
    return errorResponse(c, 500, "internal_error", "internal error");
  };
}
