import { promisify } from "node:util";
import { gzip } from "node:zlib";
import * as z from "zod";
import { ChunkKindSchema, MAX_CHUNK_TEXT_BYTES } from "../domain/chunk.js";
import { TaskStatusSchema, UsageSchema } from "../domain/task.js";
import type { FlushInput, FlushOutcome } from "../ports.js";
import type { HarnessChannel, HarnessJob, TaskChanges } from "./channel.js";

/**
 * The internal harness protocol (SPEC §9, the cloud): how the Fargate container, holding only
 * its task's capability, reaches the one HarnessChannel the API serves from the table. Its paths
 * and bodies (zod, checked on both ends) and the container's client, HttpHarnessChannel.
 *
 *   POST /internal/v1/harness/{task_id}/claim    → {job: HarnessJob | null}
 *   POST /internal/v1/harness/{task_id}/flush    FlushBody → FlushOutcome
 *   GET  /internal/v1/harness/{task_id}/status   → {status}
 *   PUT  /internal/v1/harness/{task_id}/changes  TaskChanges → 204
 *
 * Every request carries `Authorization: Bearer <capability>`; the tenant comes from the
 * capability, never from the request.
 */

export const INTERNAL_HARNESS_PREFIX = "/internal/v1/harness";

export const harnessPath = (taskId: string, action: "claim" | "flush" | "status" | "changes") =>
  `${INTERNAL_HARNESS_PREFIX}/${encodeURIComponent(taskId)}/${action}`;

/** A flush as the container sends it: FlushInput without the task reference (the capability's) or a checkpoint. */
export const FlushBodySchema = z.strictObject({
  expectedLastSeq: z.number().int().nonnegative(),
  chunks: z
    .array(
      z.strictObject({
        kind: ChunkKindSchema,
        text: z.string().refine((t) => Buffer.byteLength(t, "utf8") <= MAX_CHUNK_TEXT_BYTES, {
          message: `a chunk holds at most ${MAX_CHUNK_TEXT_BYTES} bytes`,
        }),
      }),
    )
    .max(1000),
  addOutputBytes: z.number().int().nonnegative(),
  usage: UsageSchema,
  chunkExpiresAt: z.number().int().positive().optional(),
  finish: z
    .strictObject({
      status: z.enum(["completed", "failed"]),
      result: z.string().nullable().optional(),
      error: z.string().nullable().optional(),
    })
    .optional(),
  /** DynamoDB's ClientRequestToken: at most 36 characters. */
  requestToken: z.string().min(1).max(36).optional(),
  at: z.iso.datetime().optional(),
});
export type FlushBody = z.infer<typeof FlushBodySchema>;

export const FlushOutcomeSchema = z.union([
  z.object({ ok: z.literal(true), lastSeq: z.number().int().nonnegative() }),
  z.object({ ok: z.literal(false), reason: z.literal("not_running"), status: TaskStatusSchema }),
  z.object({ ok: z.literal(false), reason: z.literal("superseded") }),
]);

export const HarnessJobSchema = z.object({
  tenantId: z.string(),
  taskId: z.string(),
  agent: z.string(),
  task: z.string(),
  expectedOutput: z.string().nullable(),
  instruction: z.string(),
  harness: z.object({
    type: z.enum(["claude-code", "codex"]),
    effort: z.enum(["low", "medium", "high"]).optional(),
    args: z.array(z.string()),
    env: z.record(z.string(), z.string()),
    config: z.record(z.string(), z.unknown()).optional(),
    workspace: z
      .object({
        git: z.string(),
        ref: z.string().optional(),
        token: z.string().optional(),
        push: z.boolean(),
      })
      .optional(),
    command: z.string().optional(),
    working_dir: z.string().optional(),
  }),
  timeoutSeconds: z.number(),
  maxOutputBytes: z.number().int(),
  lastSeq: z.number().int(),
  outputBytes: z.number().int(),
  usage: UsageSchema,
  chunkExpiresAt: z.number().int(),
}) satisfies z.ZodType<HarnessJob>;

export const ClaimAnswerSchema = z.object({ job: HarnessJobSchema.nullable() });
export const StatusAnswerSchema = z.object({ status: TaskStatusSchema.nullable() });

/** The internal API refused the capability (401/403): nothing to retry, the container ends. */
export class HarnessCapabilityError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HarnessCapabilityError";
  }
}

/** The internal API could not be reached or kept failing after the retries. */
export class HarnessChannelError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HarnessChannelError";
  }
}

export interface HttpHarnessChannelOptions {
  /** Base URL of the API (the stack's Function URL; locally http://127.0.0.1:<port>). */
  apiUrl: string;
  taskId: string;
  /** The task's capability (PrepareHarness). Sent as a bearer token, never logged. */
  capability: string;
  /** Attempts for a transient failure (network, 429, 5xx). @default 6 */
  maxAttempts?: number;
  /** First backoff; doubled each attempt, with full jitter, at most 10 s. @default 250 */
  baseDelayMs?: number;
  /** Time limit of one request. @default 30 000 */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** Errors of fetch that mean the request never reached a server (safe to send again, even a claim). */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

function errorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === "string" ? cause.code : undefined;
}

/**
 * The container's HarnessChannel: the internal routes over HTTPS, with the task's capability.
 * Transient failures are retried with backoff: a flush goes again unchanged (its request token
 * and time make it idempotent in the table), status and changes are idempotent too. A claim is
 * sent again only when it surely never reached the API (connection refused, DNS, 429/502/503/504
 * from the front door): a claim that was applied but whose answer was lost cannot be repeated
 * (the task is running by then), so the run ends and the state machine records the failure.
 */
export class HttpHarnessChannel implements HarnessChannel {
  private readonly base: URL;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: HttpHarnessChannelOptions) {
    this.base = new URL(options.apiUrl.endsWith("/") ? options.apiUrl : `${options.apiUrl}/`);
    if (this.base.protocol !== "https:" && this.base.protocol !== "http:") {
      throw new Error(`the API URL must be http(s): ${this.base.protocol}`);
    }
    this.fetch = options.fetch ?? fetch;
  }

  async claim(): Promise<HarnessJob | null> {
    const answer = await this.call("POST", "claim", {}, "not-sent-only");
    return ClaimAnswerSchema.parse(answer).job as HarnessJob | null;
  }

  async flush(input: FlushInput): Promise<FlushOutcome> {
    const body: FlushBody = {
      expectedLastSeq: input.expectedLastSeq,
      chunks: input.chunks.map((c) => ({ kind: c.kind, text: c.text })),
      addOutputBytes: input.addOutputBytes,
      usage: input.usage,
      ...(input.chunkExpiresAt !== undefined ? { chunkExpiresAt: input.chunkExpiresAt } : {}),
      ...(input.finish ? { finish: input.finish } : {}),
      ...(input.requestToken !== undefined ? { requestToken: input.requestToken } : {}),
      ...(input.at ? { at: input.at.toISOString() } : {}),
    };
    return FlushOutcomeSchema.parse(await this.call("POST", "flush", body, "always")) as FlushOutcome;
  }

  async status() {
    return StatusAnswerSchema.parse(await this.call("GET", "status", undefined, "always")).status;
  }

  /** Sent gzipped: a patch may be as large as max_output_bytes, a request body at most 1 MiB. */
  async saveChanges(changes: TaskChanges): Promise<void> {
    await this.call("PUT", "changes", { gzip: await gzipAsync(JSON.stringify(changes)) }, "always");
  }

  private async call(
    method: "GET" | "POST" | "PUT",
    action: "claim" | "flush" | "status" | "changes",
    body: unknown,
    retry: "always" | "not-sent-only",
  ): Promise<unknown> {
    const url = new URL(harnessPath(this.options.taskId, action).slice(1), this.base);
    const attempts = this.options.maxAttempts ?? 6;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await this.backoff(attempt);
      let res: Response;
      try {
        res = await this.fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${this.options.capability}`,
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
            ...(isGzipped(body) ? { "content-encoding": "gzip" } : {}),
          },
          ...(body !== undefined
            ? { body: isGzipped(body) ? new Uint8Array(body.gzip) : JSON.stringify(body) }
            : {}),
          signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
        });
      } catch (err) {
        last = err;
        const code = errorCode(err);
        if (retry === "always" || (code !== undefined && NOT_SENT_CODES.has(code))) continue;
        throw new HarnessChannelError(`${action}: the internal API did not answer`, { cause: err });
      }
      if (res.status === 401 || res.status === 403) {
        throw new HarnessCapabilityError(res.status, `${action}: ${await errorMessage(res)}`);
      }
      if (res.status === 429 || res.status >= 500) {
        last = new HarnessChannelError(`${action}: HTTP ${res.status} ${await errorMessage(res)}`);
        const notSent = res.status === 429 || res.status === 502 || res.status === 503 || res.status === 504;
        if (retry === "always" || notSent) continue;
        throw last;
      }
      if (!res.ok) throw new HarnessChannelError(`${action}: HTTP ${res.status} ${await errorMessage(res)}`);
      return res.status === 204 ? null : await res.json();
    }
    throw last instanceof HarnessChannelError
      ? last
      : new HarnessChannelError(`${action}: the internal API did not answer after ${attempts} attempts`, {
          cause: last,
        });
  }

  private backoff(attempt: number): Promise<void> {
    const cap = Math.min(10_000, (this.options.baseDelayMs ?? 250) * 2 ** (attempt - 2));
    return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
  }
}

const gzipAsync = promisify(gzip);

/** A body already encoded as gzipped JSON. */
function isGzipped(body: unknown): body is { gzip: Buffer } {
  return typeof body === "object" && body !== null && Buffer.isBuffer((body as { gzip?: unknown }).gzip);
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === "string") return parsed.error.message;
  } catch {
    // not our JSON error
  }
  return text.slice(0, 200);
}
