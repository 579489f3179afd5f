import { randomUUID } from "node:crypto";
import { byteLength, headUtf8, type NewChunk } from "../domain/chunk.js";
import type { TaskStatus, Usage } from "../domain/task.js";
import type { Checkpoint, FlushInput, FlushOutcome, TaskRepository } from "../ports.js";

/** The one store write the writer makes: the TaskRepository, or a harness task's channel. */
export type OutputStore = Pick<TaskRepository, "flush">;

/** One flush as sent to the store: sent again unchanged when it failed. */
interface UnsentWrite {
  input: FlushInput;
  /** It ends the task because max_output_bytes was reached (halt once it is stored). */
  limitReached: boolean;
}

export interface OutputWriterOptions {
  tenantId: string;
  taskId: string;
  lastSeq: number;
  outputBytes: number;
  usage: Usage;
  maxOutputBytes: number;
  /** DynamoDB TTL of the chunks this writer writes (epoch seconds). */
  chunkExpiresAt: number;
  /** Flush once this many bytes are waiting, even before the timer. */
  flushBytes: number;
  /** Called once when the writer learns the task must stop (stopped, limit reached, superseded). */
  onHalt: () => void;
  /** Called after every successful write (the runner times its next flush from it). */
  onWrite?: () => void;
}

export type Halt =
  | { kind: "not_running"; status: TaskStatus }
  | { kind: "superseded" }
  | { kind: "output_limit" };

/**
 * Buffers a step's output and writes it in batches: one conditional transaction per flush
 * (new chunks + the task's counters), never a write per token. The condition
 * (`status = running AND last_seq = expected`) is also how the step notices a stop.
 */
export class OutputWriter {
  private pending: NewChunk[] = [];
  private pendingBytes = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** A write that failed after the store's own retries, to be sent again as it was. */
  private unsent: UnsentWrite | null = null;
  /** Set at the start of a model turn: its first text is written at once (SPEC §6: within 300 ms). */
  private flushFirstText = false;
  lastSeq: number;
  outputBytes: number;
  usage: Usage;
  halt: Halt | null = null;
  /** How this writer ended the task, once a finishing write succeeded. */
  finished: "completed" | "failed" | null = null;
  /** Number of store writes this writer made (for benchmarks). */
  writes = 0;

  constructor(
    private readonly repo: OutputStore,
    private readonly options: OutputWriterOptions,
  ) {
    this.lastSeq = options.lastSeq;
    this.outputBytes = options.outputBytes;
    this.usage = options.usage;
  }

  /** A model turn begins: the first text it streams is flushed at once, the rest batched. */
  startTurn(): void {
    this.flushFirstText = true;
  }

  /** Streams assistant text; consecutive deltas merge into one chunk. */
  text(delta: string): void {
    if (!delta || this.halt) return;
    const last = this.pending[this.pending.length - 1];
    if (last && last.kind === "text") last.text += delta;
    else this.pending.push({ kind: "text", text: delta });
    this.pendingBytes += byteLength(delta);
    if (this.flushFirstText || this.pendingBytes >= this.options.flushBytes) {
      this.flushFirstText = false;
      void this.flush().catch(() => {});
    }
  }

  add(chunk: NewChunk): void {
    if (this.halt) return;
    this.pending.push(chunk);
    this.pendingBytes += byteLength(chunk.text);
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Writes what is waiting (if anything), with an optional checkpoint. Serialized. */
  flush(checkpoint?: Omit<Checkpoint, "lastSeq">): Promise<boolean> {
    return this.serialized(() => this.write({ checkpoint }));
  }

  /** Ends the task (completed or failed) together with the last output. */
  finish(finish: { status: "completed" | "failed"; result?: string; error?: string }): Promise<boolean> {
    return this.serialized(() => this.write({ finish }));
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private async write(extra: {
    checkpoint?: Omit<Checkpoint, "lastSeq"> | undefined;
    finish?: { status: "completed" | "failed"; result?: string; error?: string } | undefined;
  }): Promise<boolean> {
    if (this.halt) return false;
    // A write that failed after the store's own retries goes again first, exactly as it was
    // (same request token and time): if it was in fact applied, the store answers it as done
    // instead of refusing a second copy as "superseded"; if it was not, it is applied now.
    if (this.unsent && !(await this.send(this.unsent))) return false;
    if (!this.hasPending && !extra.checkpoint && !extra.finish) return true;
    let chunks = this.pending;
    let bytes = this.pendingBytes;
    let finish = extra.finish;
    if (this.outputBytes + bytes > this.options.maxOutputBytes) {
      // Keep what fits, then end the task with a clear error (the output so far is kept).
      const room = Math.max(0, this.options.maxOutputBytes - this.outputBytes);
      chunks = fitChunks(chunks, room);
      bytes = chunks.reduce((n, c) => n + byteLength(c.text), 0);
      finish = {
        status: "failed",
        error: `output limit reached: the task wrote more than max_output_bytes (${this.options.maxOutputBytes} bytes)`,
      };
    }
    this.pending = [];
    this.pendingBytes = 0;
    return this.send({
      input: {
        tenantId: this.options.tenantId,
        taskId: this.options.taskId,
        expectedLastSeq: this.lastSeq,
        chunks,
        addOutputBytes: bytes,
        usage: this.usage,
        chunkExpiresAt: this.options.chunkExpiresAt,
        requestToken: randomUUID(),
        at: new Date(),
        ...(extra.checkpoint ? { checkpoint: { ...extra.checkpoint, lastSeq: this.lastSeq } } : {}),
        ...(finish ? { finish } : {}),
      },
      limitReached: finish !== undefined && finish !== extra.finish,
    });
  }

  /**
   * Sends one write. If it throws (the store's retries spent), it is kept as `unsent`, and the
   * error ends this flush: the next flush sends it again before anything else, and if none ever
   * succeeds the error ends the step, which the state machine retries from the last checkpoint.
   * Output is never dropped in silence.
   */
  private async send(write: UnsentWrite): Promise<boolean> {
    this.writes += 1;
    let outcome: FlushOutcome;
    try {
      outcome = await this.repo.flush(write.input);
    } catch (err) {
      this.unsent = write;
      throw err;
    }
    this.unsent = null;
    if (!outcome.ok) {
      this.setHalt(
        outcome.reason === "superseded"
          ? { kind: "superseded" }
          : { kind: "not_running", status: outcome.status },
      );
      return false;
    }
    this.lastSeq = outcome.lastSeq;
    this.outputBytes += write.input.addOutputBytes;
    if (write.input.finish) this.finished = write.input.finish.status;
    this.options.onWrite?.();
    if (write.limitReached) this.setHalt({ kind: "output_limit" });
    return true;
  }

  setHalt(halt: Halt): void {
    if (this.halt) return;
    this.halt = halt;
    this.options.onHalt();
  }
}

function fitChunks(chunks: NewChunk[], room: number): NewChunk[] {
  const out: NewChunk[] = [];
  let left = room;
  for (const c of chunks) {
    if (left <= 0) break;
    const text = headUtf8(c.text, left);
    if (text) out.push({ kind: c.kind, text });
    left -= byteLength(text);
  }
  return out;
}
