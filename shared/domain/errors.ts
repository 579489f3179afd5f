/**
 * Named errors with a stable `code`. The API maps them to HTTP statuses in one place;
 * Lambda reports the class name (`name`), so Step Functions Retry/Catch can match on it.
 */
export type ErrorCode =
  | "unauthorized"
  | "forbidden"
  | "invalid_arguments"
  | "invalid_request"
  | "invalid_config"
  | "not_found"
  | "task_not_found"
  | "task_not_running"
  | "agent_not_allowed"
  | "concurrency_limit"
  | "task_too_large"
  | "idempotency_conflict"
  | "payload_too_large"
  | "config_too_large"
  | "method_not_allowed"
  | "execution_start_failed"
  | "tenant_not_found"
  | "tenant_exists"
  | "key_not_found"
  | "admin_disabled"
  | "internal_error";

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly httpStatus: number;
  readonly details?: unknown;
  constructor(message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class UnauthorizedError extends DomainError {
  readonly code = "unauthorized";
  readonly httpStatus = 401;
  constructor(message = "a valid API key is required (Authorization: Bearer <key>)") {
    super(message);
  }
}

export class InvalidArgumentsError extends DomainError {
  readonly code = "invalid_arguments";
  readonly httpStatus = 400;
}

export class InvalidRequestError extends DomainError {
  readonly code = "invalid_request";
  readonly httpStatus = 400;
}

export class InvalidConfigError extends DomainError {
  readonly code = "invalid_config";
  readonly httpStatus = 422;
  constructor(readonly problems: { path: string; reason: string }[]) {
    super(`invalid agent config: ${problems.map((p) => `${p.path}: ${p.reason}`).join("; ")}`, problems);
  }
}

export class NotFoundError extends DomainError {
  readonly code = "not_found";
  readonly httpStatus = 404;
}

export class TaskNotFoundError extends DomainError {
  readonly code = "task_not_found";
  readonly httpStatus = 404;
  constructor(id: string) {
    super(`task not found: ${id}`);
  }
}

/** GET /v1/tasks/{id}/changes of a task that has none (not a harness task, or nothing changed). */
export class ChangesNotFoundError extends DomainError {
  readonly code = "task_not_found";
  readonly httpStatus = 404;
  constructor(id: string) {
    super(`task ${id} has no changes (only a harness task whose workspace changed has them)`);
  }
}

export class TaskNotRunningError extends DomainError {
  readonly code = "task_not_running";
  readonly httpStatus = 409;
  constructor(id: string, status: string) {
    super(`task ${id} is not running (status: ${status})`);
  }
}

export class AgentNotAllowedError extends DomainError {
  readonly code = "agent_not_allowed";
  readonly httpStatus = 403;
  constructor(agent: string, available: readonly string[]) {
    super(`agent "${agent}" is not in the sub-agents list. Available: ${available.join(", ") || "(none)"}`);
  }
}

export class ConcurrencyLimitError extends DomainError {
  readonly code = "concurrency_limit";
  readonly httpStatus = 429;
  constructor(limit: number) {
    super(
      `maximum concurrent background agent tasks (${limit}) reached; stop or wait for existing tasks to complete`,
    );
  }
}

export class TaskTooLargeError extends DomainError {
  readonly code = "task_too_large";
  readonly httpStatus = 413;
  constructor(bytes: number, limit: number) {
    super(`task text (with expected_output) is ${bytes} bytes; the limit is ${limit} bytes (max_task_bytes)`);
  }
}

export class IdempotencyConflictError extends DomainError {
  readonly code = "idempotency_conflict";
  readonly httpStatus = 409;
  constructor() {
    super("this Idempotency-Key was already used with a different request body");
  }
}

export class PayloadTooLargeError extends DomainError {
  readonly code = "payload_too_large";
  readonly httpStatus = 413;
  constructor(limit: number) {
    super(`request body is larger than ${limit} bytes`);
  }
}

/** A tenant config whose stored form (YAML and its parsed JSON) would not fit one DynamoDB item. */
export class ConfigTooLargeError extends DomainError {
  readonly code = "config_too_large";
  readonly httpStatus = 413;
  constructor(bytes: number, limit: number) {
    super(
      `the agent config takes ${bytes} bytes stored (its YAML and its parsed form, UTF-8); at most ${limit} bytes fit`,
    );
  }
}

export class ForbiddenError extends DomainError {
  readonly code = "forbidden";
  readonly httpStatus = 403;
}

export class AdminDisabledError extends DomainError {
  readonly code = "admin_disabled";
  readonly httpStatus = 403;
  constructor() {
    super("the admin API is disabled on this server (set BGA_ADMIN_TOKEN to enable it)");
  }
}

export class TenantNotFoundError extends DomainError {
  readonly code = "tenant_not_found";
  readonly httpStatus = 404;
  constructor(id: string) {
    super(`tenant not found: ${id}`);
  }
}

export class TenantExistsError extends DomainError {
  readonly code = "tenant_exists";
  readonly httpStatus = 409;
  constructor(id: string) {
    super(`tenant already exists: ${id}`);
  }
}

export class KeyNotFoundError extends DomainError {
  readonly code = "key_not_found";
  readonly httpStatus = 404;
  constructor(id: string) {
    super(`API key not found: ${id}`);
  }
}

/** The execution behind a task could not be started; the task ends `failed`. */
export class ExecutionStartError extends DomainError {
  readonly code = "execution_start_failed";
  readonly httpStatus = 503;
}

// ---- errors of the runner step (matched by name in the state machine) ----

/** A passing fault (throttling, 5xx, network): the state machine retries the step. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransientError";
  }
}

/** A fault that retrying will not mend (bad credentials, invalid request): the task fails. */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentError";
  }
}
