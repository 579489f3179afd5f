import type { Task } from "../shared/domain/task.js";
import type { Io } from "./context.js";
import type { ChunkPrinter } from "./render.js";
import { taskRuntime } from "./render.js";

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const CLEAR = "\r\x1b[2K";

/**
 * A one-line live status (status, runtime, chunks so far) on stderr while a task is followed,
 * redrawn a few times a second. Only when stderr is a terminal; when stdout is the same kind of
 * terminal it is drawn only while the output stands at a line start, and cleared before output.
 */
export class StatusLine {
  readonly enabled: boolean;
  private drawn = false;
  private frame = 0;
  private chunks = 0;
  private note = "";
  private timer: NodeJS.Timeout | undefined;
  private readonly onSigint = () => {
    this.stop();
    process.exit(130);
  };

  constructor(
    private readonly io: Io,
    private readonly printer: ChunkPrinter,
    private task: Task,
  ) {
    this.enabled = Boolean(io.stderr.isTTY);
    if (!this.enabled) return;
    this.timer = setInterval(() => this.draw(), 200);
    this.timer.unref();
    process.once("SIGINT", this.onSigint);
    this.draw();
  }

  update(task: Task): void {
    this.task = task;
    this.note = "";
    this.draw();
  }

  chunk(seq: number): void {
    this.chunks = seq;
    this.note = "";
  }

  /** A passing remark, e.g. that the stream is being resumed. */
  remark(text: string): void {
    this.note = text;
    this.draw();
  }

  /** Before anything is written to stdout. */
  clear(): void {
    if (!this.drawn) return;
    this.io.stderr.write(CLEAR);
    this.drawn = false;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    process.removeListener("SIGINT", this.onSigint);
    this.clear();
  }

  draw(): void {
    if (!this.enabled || !this.timer) return;
    if (this.io.stdout.isTTY && !this.printer.atLineStart) return;
    this.frame = (this.frame + 1) % FRAMES.length;
    const parts = [this.task.status, taskRuntime(this.task), `${this.chunks} chunks`];
    if (this.note) parts.push(this.note);
    this.io.stderr.write(`${CLEAR}\x1b[2m${FRAMES[this.frame]} ${parts.join(" · ")}\x1b[0m`);
    this.drawn = true;
  }
}
