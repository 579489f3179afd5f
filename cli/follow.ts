import type { Chunk } from "../shared/domain/chunk.js";
import { isFinished, type Task, type TaskStatus } from "../shared/domain/task.js";
import type { TasksClient } from "./client.js";
import { ApiError, ConnectionError, UnexpectedResponseError } from "./errors.js";
import { describeFetchError } from "./http.js";
import { ChunkSchema, StatusEventSchema } from "./schemas.js";
import { SseParser } from "./sse.js";

export interface FollowHandlers {
  /** Each chunk once, in `seq` order, as it arrives. */
  onChunk(chunk: Chunk): void;
  /** The task's status at connect and at every change (repeated after a reconnect). */
  onStatus(status: TaskStatus, task: Task): void;
  /** The stream broke; the follower reconnects after `delayMs` with Last-Event-ID. */
  onReconnect?(attempt: number, delayMs: number, reason: string): void;
}

export interface FollowOptions {
  /** Pause before a reconnect, ms (the server's `retry:` wins when it sends one). */
  retryDelayMs?: number;
  /** Reconnects in a row without any event before giving up. */
  maxRetries?: number;
  signal?: AbortSignal;
}

/**
 * Follows GET /v1/tasks/{id}/events until the task has ended and every chunk up to its last `seq`
 * has been seen. A dropped connection (or a stream that ends early, as a proxy or a Lambda time
 * limit may do) is resumed with Last-Event-ID; chunks seen already are skipped. Returns the task
 * as it ended.
 */
export async function followTask(
  client: TasksClient,
  id: string,
  handlers: FollowHandlers,
  options: FollowOptions = {},
): Promise<Task> {
  const maxRetries = options.maxRetries ?? 10;
  let lastSeq = 0;
  let final: Task | undefined;
  let failures = 0;
  let retryMs = options.retryDelayMs ?? 500;
  let lastStatus: TaskStatus | undefined;

  for (;;) {
    let progressed = false;
    let reason = "the event stream ended early";
    try {
      const res = await client.openEvents(id, lastSeq > 0 ? String(lastSeq) : undefined, options.signal);
      if (!res.body) throw new UnexpectedResponseError("the event stream has no body");
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const bytes of res.body) {
        for (const event of parser.push(decoder.decode(bytes, { stream: true }))) {
          if (event.event === "chunk") {
            const chunk = parseData(ChunkSchema, event.data, "chunk");
            if (chunk.seq <= lastSeq) continue; // replayed after a reconnect
            lastSeq = chunk.seq;
            progressed = true;
            handlers.onChunk(chunk);
          } else if (event.event === "status") {
            const { status, task } = parseData(StatusEventSchema, event.data, "status");
            if (isFinished(status)) final = task;
            if (status !== lastStatus) progressed = true;
            lastStatus = status;
            handlers.onStatus(status, task);
          }
        }
        if (parser.retryMs !== undefined) retryMs = parser.retryMs;
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      // The task is gone, the key is wrong, the server answers nonsense: reconnecting will not help.
      if (err instanceof ApiError && err.status < 500 && err.status !== 429) throw err;
      if (err instanceof UnexpectedResponseError) throw err;
      reason = err instanceof ConnectionError ? err.message : describeFetchError(err);
    }
    if (final && lastSeq >= final.last_seq) return final;
    // Only new chunks or a new status count as progress: a stream that keeps ending without either
    // (every reconnect repeats the current status) is given up after maxRetries.
    failures = progressed ? 1 : failures + 1;
    if (failures > maxRetries) {
      throw new ConnectionError(
        `lost the event stream of ${id} (${reason}); gave up after ${maxRetries} tries`,
      );
    }
    handlers.onReconnect?.(failures, retryMs, reason);
    await sleep(retryMs, options.signal);
  }
}

function parseData<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
  data: string,
  kind: string,
): T {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new UnexpectedResponseError(`a ${kind} event whose data is not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new UnexpectedResponseError(`a ${kind} event of an unexpected shape`);
  return parsed.data;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
