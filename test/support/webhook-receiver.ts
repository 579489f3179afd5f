import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/** One POST the receiver got, and whether the `standardwebhooks` package accepted its signature. */
export interface ReceivedWebhook {
  headers: { id: string; timestamp: string; signature: string };
  body: string;
  /** The verified payload, or null when verification threw. */
  payload: { type: string; data: { id: string; status: string; [k: string]: unknown } } | null;
  verifyError: string | null;
  /** The status the receiver answered. */
  answered: number;
  receivedAt: number;
}

/**
 * A webhook receiver on loopback (the outside party of SPEC §11): it verifies every POST with the
 * `standardwebhooks` npm package (not the service's code), answers with the next scripted status
 * (2xx once the script is used up), and keeps what it got.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private readonly statuses: number[] = [];
  private secret: string | null = null;
  private server: Server | undefined;
  private waiters: (() => void)[] = [];
  /** Called as each POST arrives (before it is answered). */
  onReceive: ((w: ReceivedWebhook) => void) | undefined;

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then((status) => {
        res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "scripted failure");
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(port, "127.0.0.1", resolve));
    return this;
  }

  get url(): string {
    const address = this.server?.address();
    if (!address || typeof address === "string") throw new Error("the receiver is not listening");
    const { port } = address as AddressInfo;
    return `http://127.0.0.1:${port}/hooks/bga`;
  }

  /** The signing secret the service returned: what verification uses. */
  useSecret(secret: string): this {
    this.secret = secret;
    return this;
  }

  /** The next POSTs are answered with these statuses, in order. */
  failWith(...statuses: number[]): this {
    this.statuses.push(...statuses);
    return this;
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = {
      id: String(req.headers["webhook-id"] ?? ""),
      timestamp: String(req.headers["webhook-timestamp"] ?? ""),
      signature: String(req.headers["webhook-signature"] ?? ""),
    };
    let payload: ReceivedWebhook["payload"] = null;
    let verifyError: string | null = null;
    try {
      if (!this.secret) throw new Error("no secret given to the receiver");
      payload = new Webhook(this.secret).verify(body, {
        "webhook-id": headers.id,
        "webhook-timestamp": headers.timestamp,
        "webhook-signature": headers.signature,
      }) as ReceivedWebhook["payload"];
    } catch (err) {
      verifyError = String(err);
    }
    const answered = this.statuses.shift() ?? 200;
    const entry = { headers, body, payload, verifyError, answered, receivedAt: Date.now() };
    this.received.push(entry);
    this.onReceive?.(entry);
    for (const w of this.waiters.splice(0)) w();
    return answered;
  }

  /** Waits until `count` POSTs have arrived. */
  async waitForCount(count: number, timeoutMs = 20_000): Promise<ReceivedWebhook[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) {
        throw new Error(`webhook receiver: ${this.received.length} of ${count} POSTs after ${timeoutMs} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
